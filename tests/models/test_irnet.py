import pytest
import torch
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample

import mmwsss  # noqa: F401  (registers the components)
from mmwsss.registry import MODELS

LOSS_NAMES = {'loss_aff_pos', 'loss_aff_neg', 'loss_dp_fg', 'loss_dp_bg'}


def _model(**test_cfg):
    model = MODELS.build(
        dict(
            type='IRNet',
            backbone=dict(
                type='ResNet',
                depth=18,
                base_channels=8,
                out_indices=(0, 1, 2, 3),
                strides=(1, 2, 2, 1),
            ),
            boundary_head=dict(type='IRNBoundaryHead', in_channels=(8, 16, 32, 64)),
            displacement_head=dict(
                type='IRNDisplacementHead',
                in_channels=(8, 16, 32, 64),
                fine_levels=(0,),
                fine_channels=(16,),
                coarse_channels=32,
                channels=32,
            ),
            test_cfg=dict(steps=16, **test_cfg),
        )
    )
    model.init_weights()
    return model


def _train_samples(batch=2, shape=(48, 56)):
    samples = []
    for i in range(batch):
        labels = torch.zeros(shape, dtype=torch.long)
        labels[8 + i : 32, 10:40] = 1 + i
        labels[8 + i : 10 + i, 10:40] = 255  # an unsure band at the top edge
        samples.append(SegDataSample(gt_sem_seg=PixelData(data=labels[None])))
    return samples


def _test_sample(shape, keys=(2, 5)):
    sample = SegDataSample(
        metainfo=dict(img_shape=shape, ori_shape=shape, img_path='im.jpg')
    )
    strided = ((shape[0] + 3) // 4, (shape[1] + 3) // 4)
    sample.cams_strided = PixelData(data=torch.rand(len(keys), *strided))
    sample.cam_keys = torch.tensor(keys, dtype=torch.long)
    return sample


def test_loss_decreases_and_backbone_stays_frozen():
    torch.manual_seed(0)
    model = _model()
    model.train()
    assert not model.backbone.training
    assert not any(p.requires_grad for p in model.backbone.parameters())
    inputs = torch.randn(2, 3, 48, 56)
    samples = _train_samples()
    backbone_state = {k: v.clone() for k, v in model.backbone.state_dict().items()}
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.SGD(params, lr=0.05)
    totals = []
    for _ in range(6):
        losses = model.loss(inputs, samples)
        assert set(losses) == LOSS_NAMES
        total = sum(losses.values())
        assert torch.isfinite(total)
        optimizer.zero_grad()
        total.backward()
        optimizer.step()
        totals.append(total.item())
    assert totals[-1] < totals[0]
    assert all(p.grad is None for p in model.backbone.parameters())
    # frozen batch norm statistics too
    for key, value in model.backbone.state_dict().items():
        assert torch.equal(value, backbone_state[key]), key


def test_loss_with_only_unsure_labels_is_zero():
    model = _model()
    samples = [SegDataSample(gt_sem_seg=PixelData(data=torch.full((1, 32, 32), 255)))]
    losses = model.loss(torch.randn(1, 3, 32, 32), samples)
    assert all(v.item() == 0 for v in losses.values())


def test_predict_outputs():
    model = _model().eval()
    shape = (45, 62)  # not a multiple of 4: maps of ceil(size / 4)
    samples = [_test_sample(shape), _test_sample(shape, keys=())]
    with torch.no_grad():
        out = model.predict(torch.randn(2, 3, 48, 64), samples)
    for sample in out:
        assert sample.boundary.data.shape == (1, 12, 16)
        assert sample.displacement.data.shape == (2, 12, 16)
        assert sample.pred_sem_seg.data.shape == (1, 45, 62)
        boundary = sample.boundary.data
        assert ((boundary >= 0) & (boundary <= 1)).all()
    assert set(out[0].pred_sem_seg.data.unique().tolist()) <= {0, 2, 5}
    assert (out[1].pred_sem_seg.data == 0).all()


def test_predict_flip_gives_symmetric_maps():
    torch.manual_seed(0)
    model = _model().eval()
    half = torch.randn(1, 3, 32, 24)
    inputs = torch.cat([half, half.flip(-1)], dim=-1)  # left-right symmetric
    with torch.no_grad():
        (sample,) = model.predict(inputs, [_test_sample((32, 48))])
        logits, field = model._forward(inputs)
    boundary = sample.boundary.data
    assert torch.allclose(boundary, boundary.flip(-1), atol=1e-6)
    # IRN's displacement: the image's own field, not averaged with the flip's
    # (which an untrained network does not make symmetric)
    assert torch.allclose(sample.displacement.data, field[0], atol=1e-6)
    assert not torch.allclose(field[0][1], -field[0][1].flip(-1), atol=1e-3)
    model.test_cfg.flip_displacement = True
    with torch.no_grad():
        (mean,) = model.predict(inputs, [_test_sample((32, 48))])
    dy, dx = mean.displacement.data
    assert torch.allclose(dy, dy.flip(-1), atol=1e-5)
    assert torch.allclose(dx, -dx.flip(-1), atol=1e-5)
    assert torch.allclose(mean.boundary.data, boundary)
    # without flip the (untrained) network is not symmetric
    model.test_cfg.flip = False
    with torch.no_grad():
        (plain,) = model.predict(inputs, [_test_sample((32, 48))])
    assert not torch.allclose(plain.boundary.data, plain.boundary.data.flip(-1))
    assert torch.allclose(plain.boundary.data, torch.sigmoid(logits[0]), atol=1e-6)


def test_predict_without_cams_names_the_fix():
    model = _model().eval()
    sample = SegDataSample(metainfo=dict(img_shape=(32, 32), ori_shape=(32, 32)))
    with pytest.raises(KeyError, match='LoadCAMs'):
        model.predict(torch.randn(1, 3, 32, 32), [sample])


def test_efficientnet_lite_levels():
    model = MODELS.build(
        dict(
            type='IRNet',
            backbone=dict(
                type='EfficientNetLite', out_indices=(0, 1, 2, 3, 4), pretrained=False
            ),
            boundary_head=dict(
                type='IRNBoundaryHead', in_channels=(16, 24, 40, 112, 1280)
            ),
            displacement_head=dict(
                type='IRNDisplacementHead', in_channels=(16, 24, 40, 112, 1280)
            ),
        )
    )
    logits, displacement = model(torch.randn(1, 3, 40, 52), mode='tensor')
    assert logits.shape == (1, 1, 10, 13)
    assert displacement.shape == (1, 2, 10, 13)
    with pytest.raises(ValueError, match='out_indices'):
        model.boundary_head(model.extract_feat(torch.randn(1, 3, 32, 32))[:3], (8, 8))


def test_predict_instances_match_the_semantic_classes():
    model = _model(instance=True).eval()
    shape = (45, 62)
    samples = [_test_sample(shape), _test_sample(shape, keys=())]
    with torch.no_grad():
        out = model.predict(torch.randn(2, 3, 48, 64), samples)
    inst = out[0].pred_instances
    assert inst.masks.shape[1:] == shape and inst.masks.dtype == torch.bool
    assert len(inst.labels) == len(inst.scores) == inst.masks.shape[0]
    assert set(inst.labels.tolist()) <= {2, 5}
    assert ((inst.scores >= 0) & (inst.scores <= 1)).all()
    # instances are disjoint pieces of the foreground of the walk's argmax
    assert (inst.masks.sum(dim=0) <= 1).all()
    assert len(out[1].pred_instances) == 0


def test_labels_on_the_map_are_what_pil_nearest_picks():
    """IRN shrinks its 512 px label crop to 128 px with PIL's nearest filter:
    labels_to_map takes the same pixels (4 i + 2), not every 4th from 0."""
    import numpy as np
    from PIL import Image

    from mmwsss.models.segmentors.irnet import labels_to_map

    rng = np.random.default_rng(0)
    labels = rng.integers(0, 21, size=(512, 512), dtype=np.uint8)
    pil = np.asarray(Image.fromarray(labels).resize((128, 128), Image.NEAREST))
    ours = labels_to_map(torch.from_numpy(labels).long()[None], (128, 128))[0]
    np.testing.assert_array_equal(ours.numpy(), pil)
    # a map larger than the labels cover: the missing cells are unsure
    small = labels_to_map(torch.from_numpy(labels[:510, :509]).long()[None], (128, 128))
    assert small.shape == (1, 128, 128)
    assert (small[0, 127] == 255).all() and (small[0, :127, 127] == 255).all()
    np.testing.assert_array_equal(small[0, :127, :127].numpy(), pil[:127, :127])


def test_resnet50_stem_and_stages_feed_irn_heads():
    """IRN's five levels: the stem (64 ch) and the four stages, strides 4 to 16."""
    model = MODELS.build(
        dict(
            type='IRNet',
            backbone=dict(
                type='ResNetWithStem',
                depth=50,
                out_indices=(0, 1, 2, 3),
                strides=(1, 2, 2, 1),
                norm_cfg=dict(type='BN', requires_grad=False),
                norm_eval=True,
            ),
            boundary_head=dict(
                type='IRNBoundaryHead', in_channels=(64, 256, 512, 1024, 2048)
            ),
            displacement_head=dict(
                type='IRNDisplacementHead', in_channels=(64, 256, 512, 1024, 2048)
            ),
        )
    )
    feats = model.extract_feat(torch.randn(1, 3, 64, 64))
    assert [f.shape[1:] for f in feats] == [
        (64, 16, 16),
        (256, 16, 16),
        (512, 8, 8),
        (1024, 4, 4),
        (2048, 4, 4),
    ]
    logits, displacement = model(torch.randn(1, 3, 64, 64), mode='tensor')
    assert logits.shape == (1, 1, 16, 16) and displacement.shape == (1, 2, 16, 16)
