import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmengine.registry import init_default_scope
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample

import mmwsss  # noqa: F401  (registers the components)
from mmwsss.registry import MODELS

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


@pytest.fixture
def one_thread():
    """Tiny tensors gain nothing from threads, and stall on busy shared cores."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


def _model(**test_cfg):
    return MODELS.build(
        dict(
            type='AffinityNet',
            backbone=dict(
                type='ResNet',
                depth=18,
                base_channels=8,
                out_indices=(1, 2, 3),
                strides=(1, 2, 2, 1),
                norm_eval=False,
            ),  # levels of stride 8, 16, 16
            head=dict(
                type='AffinityHead',
                in_channels=(16, 32, 64),
                channels=(8, 8, 16),
                out_channels=32,
            ),
            test_cfg=dict(steps=16, **test_cfg),
        )
    )


def _train_sample(label):
    sample = SegDataSample(metainfo=dict(img_shape=label.shape, ori_shape=label.shape))
    sample.gt_sem_seg = PixelData(data=label[None])
    return sample


def test_head_levels_and_errors():
    head = MODELS.build(
        dict(type='AffinityHead', in_channels=(4, 6), channels=(2, 3), in_index=(0, 2))
    )
    feats = [
        torch.randn(2, 4, 10, 12),
        torch.randn(2, 5, 5, 6),
        torch.randn(2, 6, 5, 6),
    ]
    out = head(feats)
    assert out.shape == (2, 448, 10, 12)
    assert (out >= -1).all()  # ELU output
    with pytest.raises(ValueError, match='feature levels'):
        MODELS.build(dict(type='AffinityHead', in_channels=(4, 6), channels=(2, 3)))(
            feats
        )
    with pytest.raises(ValueError, match='same'):
        MODELS.build(dict(type='AffinityHead', in_channels=(4,), channels=(2, 3)))


def test_loss_is_finite_and_decreases(one_thread):
    torch.manual_seed(0)
    model = _model()
    # two textured objects on a flat background, unsure bands at their borders
    inputs = torch.randn(2, 3, 48, 48) * 0.1
    labels = torch.zeros(2, 48, 48, dtype=torch.long)
    inputs[0, 0, 8:32, 8:32] += 2
    labels[0, 8:32, 8:32] = 1
    inputs[1, 1, 16:40, 20:44] += 2
    labels[1, 16:40, 20:44] = 2
    labels[0, 6:10, 6:34] = 255
    samples = [_train_sample(label) for label in labels]
    optim = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    history = []
    for _ in range(8):
        losses = model.loss(inputs, samples)
        assert set(losses) == {'loss_bg_pos', 'loss_fg_pos', 'loss_neg'}
        total = sum(losses.values())
        assert torch.isfinite(total)
        optim.zero_grad()
        total.backward()
        optim.step()
        history.append(total.item())
    assert history[-1] < 0.7 * history[0]


def test_loss_without_pairs_is_zero_not_nan():
    model = _model()
    sample = _train_sample(torch.full((32, 32), 255, dtype=torch.long))
    losses = model.loss(torch.randn(1, 3, 32, 32), [sample])
    assert all(v.item() == 0 for v in losses.values())


@pytest.mark.parametrize('flip', [False, True])
def test_predict_outputs(flip):
    torch.manual_seed(0)
    model = _model(flip=flip).eval()
    inputs = torch.randn(2, 3, 44, 52)
    samples = []
    for keys, (height, width) in (([2, 5], (44, 52)), ([], (37, 50))):
        sample = SegDataSample(
            metainfo=dict(img_shape=(height, width), ori_shape=(height, width))
        )
        sample.cams = PixelData(data=torch.rand(len(keys), height, width))
        sample.cam_keys = torch.tensor(keys, dtype=torch.long)
        samples.append(sample)
    samples[1].set_metainfo(dict(ori_shape=(74, 100)))  # a resizing pipeline
    samples[1].cams = PixelData(data=torch.rand(0, 74, 100))
    with torch.no_grad():
        out = model.predict(inputs, samples)
    first, second = (s.pred_sem_seg.data for s in out)
    assert first.shape == (1, 44, 52)
    assert set(first.unique().tolist()) <= {0, 2, 5}
    assert second.shape == (1, 74, 100)
    assert (second == 0).all()
    with torch.no_grad():
        affinity = model.encode_decode(inputs, [])
    assert affinity.shape == (2, 34, 6, 7)
    assert ((affinity >= 0) & (affinity <= 1)).all()


def test_predict_needs_cams():
    model = _model().eval()
    sample = SegDataSample(metainfo=dict(img_shape=(32, 32), img_path='a.jpg'))
    with pytest.raises(KeyError, match='a.jpg .*LoadCAMs'):
        model.predict(torch.randn(1, 3, 32, 32), [sample])


def test_config_lr_multipliers():
    cfg = Config.fromfile(
        osp.join(
            ROOT, 'configs/affinitynet/affinitynet_effl0_1xb8-3e_fashionpaste-160.py'
        )
    )
    init_default_scope('mmwsss')
    cfg.model.backbone.pretrained = False
    model = MODELS.build(cfg.model)
    optim = build_optim_wrapper(model, cfg.optim_wrapper).optimizer
    names = {id(p): n for n, p in model.named_parameters()}
    lrs = {names[id(g['params'][0])]: g['lr'] for g in optim.param_groups}
    base = cfg.optim_wrapper.optimizer.lr
    # the backbone's own conv head stays at the base lr, the affinity head x10
    assert lrs['backbone.head.0.weight'] == pytest.approx(base)
    assert lrs['head.fuse.weight'] == pytest.approx(10 * base)
