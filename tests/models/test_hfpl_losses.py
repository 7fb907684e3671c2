"""HFPL switched on in a CAM classifier by adding losses to its head."""

import pytest
import torch
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.registry import DefaultScope
from mmseg.structures import SegDataSample

import mmwsss  # noqa: F401
from mmwsss.ops.hfpl import feature_similarity_loss, hfpl_maps
from mmwsss.registry import MODELS

ROOT = __file__.rsplit('/tests/', 1)[0]


def _model(cfg):
    cfg.model.backbone.pretrained = False
    with DefaultScope.overwrite_default_scope('mmwsss'):
        model = MODELS.build(cfg.model)
    model.init_weights()
    return model


def _batch():
    torch.manual_seed(0)
    inputs = torch.randint(0, 256, (2, 3, 64, 64)).float()
    samples = []
    for labels in ([1], [3, 7]):
        sample = SegDataSample(metainfo=dict(img_shape=(64, 64)))
        sample.gt_img_labels = torch.tensor(labels)
        samples.append(sample)
    return inputs, samples


def test_hfpl_config_adds_the_losses_and_mixes_the_classification_loss():
    plain = Config.fromfile(
        f'{ROOT}/configs/cam/cam_effl0_1xb16-8e_fashionpaste-160.py'
    )
    hfpl = Config.fromfile(
        f'{ROOT}/configs/cam/cam_effl0_hfpl_1xb16-8e_fashionpaste-160.py'
    )
    # the HFPL config differs by its extra losses only
    extra = hfpl.model.head.pop('extra_losses')
    assert hfpl.model == plain.model
    assert [e['type'] for e in extra] == [
        'ImportanceSamplingLoss',
        'FeatureSimilarityLoss',
    ]
    hfpl.model.head.extra_losses = extra

    base, model = _model(plain), _model(hfpl)
    model.load_state_dict(base.state_dict())
    base.train(), model.train()
    data = base.data_preprocessor(dict(zip(('inputs', 'data_samples'), _batch())), True)
    plain_losses = base.loss(data['inputs'], data['data_samples'])
    losses = model.loss(data['inputs'], data['data_samples'])
    assert set(losses) == {'loss_cls', 'loss_is', 'loss_fs'}
    # the GAP loss keeps 0.8 of the classification loss, IS takes 0.2
    torch.testing.assert_close(losses['loss_cls'], 0.8 * plain_losses['loss_cls'])
    assert 0 < losses['loss_is'] < 0.2 * 50
    sum(losses.values()).backward()
    assert model.head.classifier.weight.grad.abs().sum() > 0


@pytest.mark.parametrize(
    'path',
    [
        'configs/cam/cam_effl0_hfpl_1xb16-8e_fashionpaste-160.py',
        'configs/seam/seam_effl0_hfpl_1xb16-8e_fashionpaste-160.py',
        'configs/seam/seam_r50_hfpl_1xb8-8e_voc12aug-448.py',
    ],
)
def test_hfpl_configs_use_the_published_setting(path):
    sampling, similarity = Config.fromfile(f'{ROOT}/{path}').model.head.extra_losses
    assert (sampling.mix, sampling.num_samples) == (0.2, 10)
    assert similarity.loss_weight == 1.0
    assert (similarity.mu, similarity.sigma, similarity.sigma_stride) == (2.5, 5.0, 8)


def test_feature_similarity_loss_module_on_hfpls_maps():
    with DefaultScope.overwrite_default_scope('mmwsss'):
        fs = MODELS.build(dict(type='FeatureSimilarityLoss'))
    assert (fs.loss_weight, fs.mu, fs.sigma, fs.sigma_stride) == (1.0, 2.5, 5.0, 8)
    # sigma 5 cells of a stride-8 map = 40 px = 2.5 cells of a stride-16 map
    assert fs.map_sigma((160, 160), (10, 10)) == 2.5
    assert fs.map_sigma((448, 448), (56, 56)) == 5.0
    fs.sigma_stride = None
    assert fs.map_sigma((160, 160), (10, 10)) == 5.0
    fs.sigma_stride = 8
    torch.manual_seed(0)
    logits = torch.randn(2, 3, 6, 6, requires_grad=True)
    targets = torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 1.0]])
    images = torch.rand(2, 3, 48, 48)
    loss = fs(logits, targets, images)
    small = F.interpolate(images, size=(6, 6), mode='bilinear', align_corners=True)
    expected = feature_similarity_loss(small, hfpl_maps(logits, targets), 2.5, 5.0)
    torch.testing.assert_close(loss, expected)
    loss.backward()
    # the maps of the classes an image lacks are zeroed: no gradient
    assert logits.grad[0, 1:].abs().sum() == 0 and logits.grad[1, 0].abs().sum() == 0
    assert logits.grad[1, 1:].abs().sum() > 0


def test_extra_loss_checks():
    with DefaultScope.overwrite_default_scope('mmwsss'):
        with pytest.raises(ValueError, match='mix'):
            MODELS.build(dict(type='ImportanceSamplingLoss', mix=1.5))
        with pytest.raises(ValueError, match='names'):
            MODELS.build(
                dict(
                    type='CAMHead',
                    in_channels=4,
                    num_classes=2,
                    extra_losses=[
                        dict(type='FeatureSimilarityLoss'),
                        dict(type='FeatureSimilarityLoss'),
                    ],
                )
            )
        fs = MODELS.build(dict(type='FeatureSimilarityLoss'))
        with pytest.raises(ValueError, match='sigma'):
            MODELS.build(dict(type='FeatureSimilarityLoss', sigma=0.0))
        with pytest.raises(ValueError, match='sigma_stride'):
            MODELS.build(dict(type='FeatureSimilarityLoss', sigma_stride=0))
    with pytest.raises(ValueError, match='images'):
        fs(torch.zeros(1, 2, 4, 4), torch.zeros(1, 2), None)


def test_hfpl_maps_ablations_by_hand():
    # one image, two classes (the second absent), a 1x3 grid
    logits = torch.tensor([[[[-1.0, 1.0, 3.0]], [[2.0, 2.0, 2.0]]]])
    labels = torch.tensor([[1.0, 0.0]])
    # HFPL's: ReLU -> [0, 1, 3], min-max -> [0, (1 - 1e-5) / 3, (3 - 1e-5) / 3]
    ours = hfpl_maps(logits, labels)
    fg = torch.tensor([0.0, (1 - 1e-5) / (3 + 1e-5), (3 - 1e-5) / (3 + 1e-5)])
    torch.testing.assert_close(ours[0, 1, 0], fg)
    torch.testing.assert_close(ours[0, 0, 0], 1 - fg)
    assert ours[0, 2].abs().sum() == 0
    # ablation 'max': ReLU / max, same background
    by_max = hfpl_maps(logits, labels, 'max')
    torch.testing.assert_close(
        by_max[0, 1, 0], torch.tensor([0.0, 1.0, 3.0]) / (3 + 1e-5)
    )
    torch.testing.assert_close(by_max[0, 0, 0], 1 - by_max[0, 1, 0])
    # ablation 'sigmoid': per-class sigmoids, label-masked, no background
    sig = hfpl_maps(logits, labels, 'sigmoid')
    assert sig.shape == (1, 2, 1, 3)
    torch.testing.assert_close(sig[0, 0, 0], torch.sigmoid(logits[0, 0, 0]))
    assert sig[0, 1].abs().sum() == 0
    with pytest.raises(ValueError, match='maps'):
        hfpl_maps(logits, labels, 'softmax')
    with DefaultScope.overwrite_default_scope('mmwsss'):
        fs = MODELS.build(dict(type='FeatureSimilarityLoss', maps='sigmoid'))
        with pytest.raises(ValueError, match='maps'):
            MODELS.build(dict(type='FeatureSimilarityLoss', maps='softmax'))
    images = torch.rand(1, 3, 16, 48)
    loss = fs(logits, labels, images)
    small = F.interpolate(images, size=(1, 3), mode='bilinear', align_corners=True)
    expected = feature_similarity_loss(small, sig, 2.5, fs.map_sigma((16, 48), (1, 3)))
    torch.testing.assert_close(loss, expected)
