"""SEAMClassifier: two views, ER / ECR, PCM-revised CAMs at inference."""

import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope
from mmseg.structures import SegDataSample

import mmwsss  # noqa: F401
from mmwsss.ops.seam import pcm_revise, with_background
from mmwsss.registry import MODELS

ROOT = __file__.rsplit('/tests/', 1)[0]
SEAM = f'{ROOT}/configs/seam/seam_effl0_1xb16-8e_fashionpaste-160.py'


def _build(path):
    cfg = Config.fromfile(path)
    cfg.model.backbone.pretrained = False
    cfg.model.test_cfg = dict(scales=(1.0,), flip=False)
    with DefaultScope.overwrite_default_scope('mmwsss'):
        model = MODELS.build(cfg.model)
    model.init_weights()
    return model


def _batch(model):
    torch.manual_seed(0)
    samples = []
    for labels in ([2], [1, 5]):
        sample = SegDataSample(metainfo=dict(img_shape=(96, 96), ori_shape=(96, 96)))
        sample.gt_img_labels = torch.tensor(labels)
        samples.append(sample)
    inputs = [torch.randint(0, 256, (3, 96, 96), dtype=torch.uint8) for _ in samples]
    return model.data_preprocessor(dict(inputs=inputs, data_samples=samples), True)


def test_seam_losses_reach_the_classifier_and_pcm():
    model = _build(SEAM)
    model.train()
    data = _batch(model)
    losses = model.loss(data['inputs'], data['data_samples'])
    assert set(losses) == {'loss_cls', 'loss_er', 'loss_ecr'}
    assert all(torch.isfinite(v) and v > 0 for v in losses.values())
    sum(losses.values()).backward()
    assert model.head.classifier.weight.grad.abs().sum() > 0
    # PCM learns through ECR only (the CAM it revises is detached)
    assert model.pcm_fuse.weight.grad.abs().sum() > 0
    assert all(p.grad.abs().sum() > 0 for p in model.pcm_proj.parameters())


def test_inference_uses_the_revised_cam():
    model = _build(SEAM)
    model.eval()
    data = _batch(model)
    with torch.no_grad():
        feats = model.extract_feat(data['inputs'])
        cams = model.head.cam(feats)
        expected = pcm_revise(
            with_background(cams), model.pcm_features(data['inputs'], feats)
        )[:, 1:]
        torch.testing.assert_close(model.cam_logits(data['inputs']), expected)
        # with the image's classes (export: keys), only their maps are revised
        keys = torch.tensor([1, 5])
        labels = torch.zeros(cams.shape[:2])
        labels[:, [0, 4]] = 1
        expected = pcm_revise(
            with_background(cams, labels), model.pcm_features(data['inputs'], feats)
        )[:, 1:]
        torch.testing.assert_close(model.cam_logits(data['inputs'], keys), expected)
        out = model.predict(data['inputs'], data['data_samples'])
    assert out[1].cam_keys.tolist() == [1, 5]
    assert out[1].cams.data.shape == (2, 96, 96)


def test_hfpl_switches_on_in_seam_by_adding_losses():
    model = _build(f'{ROOT}/configs/seam/seam_effl0_hfpl_1xb16-8e_fashionpaste-160.py')
    model.train()
    data = _batch(model)
    losses = model.loss(data['inputs'], data['data_samples'])
    assert set(losses) == {'loss_cls', 'loss_er', 'loss_ecr', 'loss_is', 'loss_fs'}
