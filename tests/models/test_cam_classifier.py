import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmengine.registry import init_default_scope
from mmseg.structures import SegDataSample

import mmwsss  # noqa: F401  (registers the components)
from mmwsss.models.classifiers import labels_to_multihot
from mmwsss.registry import MODELS

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
NUM_CLASSES = 3


def _model(**test_cfg):
    return MODELS.build(
        dict(
            type='CAMClassifier',
            backbone=dict(
                type='ResNet',
                depth=18,
                base_channels=8,
                out_indices=(3,),
                strides=(1, 2, 2, 1),
                norm_eval=False,
            ),
            head=dict(type='CAMHead', in_channels=64, num_classes=NUM_CLASSES),
            test_cfg=dict(scales=(1.0, 0.5), flip=True, **test_cfg),
        )
    )


def _sample(labels, shape=(32, 40), **meta):
    sample = SegDataSample(
        metainfo=dict(img_shape=shape, ori_shape=shape, img_path='im.jpg', **meta)
    )
    sample.gt_img_labels = torch.tensor(labels, dtype=torch.long)
    return sample


def test_multihot_and_errors():
    targets = labels_to_multihot([_sample([1, 3]), _sample([])], 3, torch.device('cpu'))
    assert targets.tolist() == [[1, 0, 1], [0, 0, 0]]
    with pytest.raises(ValueError, match=r'image label 5 of im.jpg .* 1\.\.3'):
        labels_to_multihot([_sample([5])], 3, torch.device('cpu'))
    with pytest.raises(KeyError, match='PackWSSSInputs'):
        labels_to_multihot(
            [SegDataSample(metainfo=dict(img_path='x.jpg'))], 3, torch.device('cpu')
        )


def test_loss_trains_on_a_separable_toy_problem():
    torch.manual_seed(0)
    model = _model()
    # class 1 images are bright on the left half, class 2 images on the right half
    inputs = torch.zeros(4, 3, 32, 32)
    inputs[0, :, :, :16] = 2
    inputs[1, :, :, :16] = 2
    inputs[2, :, :, 16:] = 2
    inputs[3, :, :, 16:] = 2
    samples = [_sample([1]), _sample([1]), _sample([2]), _sample([2])]
    optim = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    losses = []
    for _ in range(30):
        loss = model.loss(inputs, samples)['loss_cls']
        optim.zero_grad()
        loss.backward()
        optim.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]


def test_predict_outputs():
    torch.manual_seed(0)
    model = _model().eval()
    # padded batch: the second image's valid area is smaller than the input
    inputs = torch.randn(2, 3, 32, 40)
    samples = [_sample([1, 3]), _sample([2], shape=(24, 36))]
    samples[1].set_metainfo(dict(ori_shape=(48, 72)))
    with torch.no_grad():
        out = model.predict(inputs, samples)
    first, second = out
    assert first.cam_keys.tolist() == [1, 3]
    assert first.cams.data.shape == (2, 32, 40)
    assert first.cams_strided.data.shape == (2, 8, 10)
    peaks = first.cams.data.flatten(1).max(1).values
    assert torch.all(peaks <= 1) and torch.all(peaks > 0.99)
    assert set(first.pred_sem_seg.data.unique().tolist()) <= {0, 1, 3}
    assert first.pred_scores.shape == (NUM_CLASSES,)
    # outputs are at the original size, computed from the valid area only
    assert second.cams.data.shape == (1, 48, 72)
    assert second.cams_strided.data.shape == (1, 12, 18)


def test_validation_predicts_the_scores_only_unless_asked_for_maps():
    """val_step gives the class scores that test_step gives (the multi-label
    mAP reads nothing else) without the multi-scale maps; val_maps=True keeps
    them for a val evaluator that reads them."""
    torch.manual_seed(0)
    model = _model().eval()

    def data():
        torch.manual_seed(1)
        images = torch.randn(2, 3, 32, 40)
        return dict(inputs=images, data_samples=[_sample([1, 3]), _sample([2])])

    with torch.no_grad():
        val = model.val_step(data())
        test = model.test_step(data())
    for fast, full in zip(val, test):
        assert 'cams' not in fast and 'pred_sem_seg' not in fast
        assert 'cams' in full
        torch.testing.assert_close(fast.pred_scores, full.pred_scores)
    assert not model.scores_only  # reset after validation
    model.test_cfg.val_maps = True
    with torch.no_grad():
        (out, _) = model.val_step(data())
    assert out.cams.data.shape == (2, 32, 40)


def test_predict_keys_from_predictions_and_errors():
    model = _model(cam_classes='pred', score_thr=-1.0).eval()
    with torch.no_grad():
        (out,) = model.predict(torch.randn(1, 3, 32, 32), [_sample([])])
    assert out.cam_keys.tolist() == [1, 2, 3]
    model = _model().eval()
    with pytest.raises(ValueError, match='outside'):
        model.predict(torch.randn(1, 3, 32, 32), [_sample([4])])
    with pytest.raises(ValueError, match="cam_classes must be 'gt' or 'pred'"):
        _model(cam_classes='all')


def test_config_lr_multipliers():
    cfg = Config.fromfile(
        osp.join(ROOT, 'configs/cam/cam_effl0_1xb16-8e_fashionpaste-160.py')
    )
    init_default_scope('mmwsss')
    cfg.model.backbone.pretrained = False
    model = MODELS.build(cfg.model)
    optim = build_optim_wrapper(model, cfg.optim_wrapper).optimizer
    names = {id(p): n for n, p in model.named_parameters()}
    lrs = {names[id(g['params'][0])]: g['lr'] for g in optim.param_groups}
    base = cfg.optim_wrapper.optimizer.lr
    # EfficientNet-Lite's own conv head (a 'head' in its name) stays at the base
    # lr; only the CAM head trains at x10
    assert lrs['backbone.head.0.weight'] == pytest.approx(base)
    assert lrs['head.classifier.weight'] == pytest.approx(10 * base)
    for name, lr in lrs.items():
        assert lr == pytest.approx(10 * base if name.startswith('head.') else base)
