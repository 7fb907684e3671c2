"""SEAMClassifier: two views, SEAM's losses, PCM-revised CAMs at inference, the
optimiser's learning rates."""

import pytest
import torch
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmengine.registry import DefaultScope
from mmseg.structures import SegDataSample

import mmwsss  # noqa: F401
from mmwsss.models.classifiers import CAMClassifier
from mmwsss.ops.seam import max_norm, pcm_input, pcm_revise
from mmwsss.registry import MODELS

ROOT = __file__.rsplit('/tests/', 1)[0]
SEAM = f'{ROOT}/configs/seam/seam_effl0_1xb16-8e_fashionpaste-160.py'
SEAM_HFPL = f'{ROOT}/configs/seam/seam_effl0_hfpl_1xb16-8e_fashionpaste-160.py'
SEAM_VOC = f'{ROOT}/configs/seam/seam_r50_1xb8-8e_voc12aug-448.py'
SEAM_HFPL_VOC = f'{ROOT}/configs/seam/seam_r50_hfpl_1xb8-8e_voc12aug-448.py'


def _build(path, no_dropout=False):
    cfg = Config.fromfile(path)
    cfg.model.backbone.pretrained = False
    cfg.model.test_cfg = dict(scales=(1.0,), flip=False)
    with DefaultScope.overwrite_default_scope('mmwsss'):
        model = MODELS.build(cfg.model)
    model.init_weights()
    # a random EfficientNet's features are ~1e-8: scaled to unit spread they
    # stand in for trained ones (SEAM's max_norm zeroes maps within 1e-5)
    model.backbone.register_forward_hook(
        lambda module, args, out: tuple(x / x.std() for x in out)
    )
    if no_dropout:
        model.cam_dropout.p = 0.0
    return model


def _batch(model, size=96):
    torch.manual_seed(0)
    samples = []
    for labels in ([2], [1, 5]):
        sample = SegDataSample(
            metainfo=dict(img_shape=(size, size), ori_shape=(size, size))
        )
        sample.gt_img_labels = torch.tensor(labels)
        samples.append(sample)
    inputs = [
        torch.randint(0, 256, (3, size, size), dtype=torch.uint8) for _ in samples
    ]
    return model.data_preprocessor(dict(inputs=inputs, data_samples=samples), True)


def test_seam_losses_reach_the_classifier_and_pcm():
    model = _build(SEAM)
    model.train()
    data = _batch(model)
    losses = model.loss(data['inputs'], data['data_samples'])
    assert set(losses) == {'loss_cls', 'loss_rvmin', 'loss_er', 'loss_ecr'}
    assert all(torch.isfinite(v) for v in losses.values())
    assert all(losses[k] > 0 for k in ('loss_cls', 'loss_er', 'loss_ecr'))
    sum(losses.values()).backward()
    assert model.head.classifier.weight.grad.abs().sum() > 0
    assert model.pcm_fuse.weight.grad.abs().sum() > 0
    assert all(p.grad.abs().sum() > 0 for p in model.pcm_proj.parameters())


def test_ecr_and_min_pooling_train_pcm_only():
    """PCM revises a detached CAM and ECR's target is detached: ECR and the
    min-pooling loss move PCM's convolutions and nothing of the CAM."""
    model = _build(SEAM)
    model.train()
    data = _batch(model)
    losses = model.loss(data['inputs'], data['data_samples'])
    (losses['loss_ecr'] + losses['loss_rvmin']).backward()
    assert model.head.classifier.weight.grad is None
    assert all(
        p.grad is None or p.grad.abs().sum() == 0 for p in model.backbone.parameters()
    )
    assert model.pcm_fuse.weight.grad.abs().sum() > 0


def test_losses_follow_seams_formulas():
    """The losses recomputed from the model's parts as SEAM's train_SEAM.py
    does: maps at each view's input size, max_norm, labels, the large view's
    resized to the small one's."""
    model = _build(SEAM, no_dropout=True)
    model.train()
    data = _batch(model)
    inputs = data['inputs']
    labels = torch.zeros(2, model.num_classes)
    labels[0, 1] = labels[1, 0] = labels[1, 4] = 1
    losses = model.loss(inputs, data['data_samples'])

    def up(x, size):
        return F.interpolate(x, size=size, mode='bilinear', align_corners=True)

    small = F.interpolate(inputs, scale_factor=0.3, mode='bilinear', align_corners=True)
    views = []
    for x in (inputs, small):
        feats = model.extract_feat(x)
        cam = model.head.cam(feats)
        revised = pcm_revise(pcm_input(cam), model.pcm_features(x, feats))
        views.append((cam, up(cam, x.shape[-2:]), up(revised, x.shape[-2:])))
    size = small.shape[-2:]
    mask = torch.cat([torch.ones(2, 1), labels], dim=1)[:, :, None, None]
    cls = 0.5 * sum(
        F.multilabel_soft_margin_loss(cam.mean(dim=(2, 3)), labels)
        for cam, _, _ in views
    )
    torch.testing.assert_close(losses['loss_cls'], cls)
    cam1 = up(max_norm(views[0][1]), size) * mask[:, 1:]
    cam2 = max_norm(views[1][1]) * mask[:, 1:]
    torch.testing.assert_close(losses['loss_er'], (cam1 - cam2).abs().mean())
    rv1 = up(max_norm(views[0][2]), size) * mask
    rv2 = max_norm(views[1][2]) * mask

    def onehot(fg):  # max_onehot with the background 1 - max
        top = torch.where(fg == fg.amax(dim=1, keepdim=True), fg, 0.0)
        return torch.cat([1 - fg.amax(dim=1, keepdim=True), top], dim=1)

    k = int(0.2 * rv2[0].numel())
    ecr = sum(
        (target - rv).abs().flatten(1).topk(k, dim=1).values.mean()
        for target, rv in ((onehot(cam2), rv1), (onehot(cam1), rv2))
    )
    torch.testing.assert_close(losses['loss_ecr'], ecr)
    rvmin = 0
    for _, _, rv in views:
        per_pixel = (rv * mask)[:, 1:].amax(dim=1).flatten(1)
        k = per_pixel.shape[1] // 4
        rvmin = rvmin + per_pixel.topk(k, largest=False).values.relu().sum() / (k * 2)
    torch.testing.assert_close(losses['loss_rvmin'], 0.5 * rvmin)


def test_cam_dropout_in_training_only():
    model = _build(SEAM)
    assert model.cam_dropout.p == 0.5
    data = _batch(model)
    model.train()
    feats = model.extract_feat(data['inputs'])
    assert not torch.equal(model._train_cams(feats), model.head.cam(feats))
    model.eval()
    torch.testing.assert_close(model._train_cams(feats), model.head.cam(feats))
    with pytest.raises(ValueError, match='cam_dropout'):
        with DefaultScope.overwrite_default_scope('mmwsss'):
            MODELS.build({**Config.fromfile(SEAM).model, 'cam_dropout': 1.0})


def test_inference_uses_the_revised_cam_min_max_normalised():
    model = _build(SEAM)
    model.eval()
    data = _batch(model)
    with torch.no_grad():
        feats = model.extract_feat(data['inputs'])
        cams = model.head.cam(feats)
        # PCM's input as SEAM's network builds it: no labels, top class only
        expected = pcm_revise(
            pcm_input(cams), model.pcm_features(data['inputs'], feats)
        )[:, 1:]
        torch.testing.assert_close(model.cam_logits(data['inputs']), expected)
        torch.testing.assert_close(
            model.cam_logits(data['inputs'], torch.tensor([1, 5])), expected
        )
        out = model.predict(data['inputs'], data['data_samples'])
        maps = [{k: s.get(k).data for k in ('cams', 'cams_strided')} for s in out]
        labels = out[1].pred_sem_seg.data[0]
        # the CAM classifier's inference (maps divided by their max), in place
        by_max = CAMClassifier.predict(model, data['inputs'], data['data_samples'])
    assert by_max[1].cam_keys.tolist() == [1, 5]
    high = maps[1]['cams']
    assert high.shape == (2, 96, 96)
    # min-max per map (SEAM's infer_SEAM.py) of the maps divided by their max
    for mine, plain in zip(maps, by_max):
        for key, value in mine.items():
            torch.testing.assert_close(value, max_norm(plain.get(key).data[None])[0])
            assert torch.all(value.flatten(1).amin(dim=1) == 0)
    bg = model.test_cfg.bg_score
    fg = (high.amax(dim=0) > bg).long()
    assert torch.equal((labels > 0).long(), fg)


def test_hfpl_in_seam_mixes_into_the_first_views_classification_loss():
    """HFPL's code mixes the importance-sampling loss into view 1's
    classification loss (0.8 / 0.2) before SEAM averages the two views; the
    feature similarity loss runs on view 1's CAM logits at full weight."""
    model = _build(SEAM_HFPL, no_dropout=True)
    model.train()
    data = _batch(model)
    inputs = data['inputs']
    sampling, similarity = model.head.extra_losses
    assert sampling.mix == 0.2 and similarity.loss_weight == 1.0
    sampling.forward = lambda *args: torch.tensor(1.0)
    losses = model.loss(inputs, data['data_samples'])
    assert set(losses) == {
        'loss_cls',
        'loss_rvmin',
        'loss_er',
        'loss_ecr',
        'loss_is',
        'loss_fs',
    }
    assert losses['loss_is'] == 0.5  # 0.5 x (the mixed-in 0.2 x IS)
    labels = torch.zeros(2, model.num_classes)
    labels[0, 1] = labels[1, 0] = labels[1, 4] = 1
    small = F.interpolate(inputs, scale_factor=0.3, mode='bilinear', align_corners=True)
    cam1 = model.head.cam(model.extract_feat(inputs))
    cam2 = model.head.cam(model.extract_feat(small))
    cls = 0.5 * (
        0.8 * F.multilabel_soft_margin_loss(cam1.mean(dim=(2, 3)), labels)
        + F.multilabel_soft_margin_loss(cam2.mean(dim=(2, 3)), labels)
    )
    torch.testing.assert_close(losses['loss_cls'], cls)
    torch.testing.assert_close(
        losses['loss_fs'], similarity(cam1, labels, model._images01(inputs))
    )


@pytest.mark.parametrize('path', [SEAM, SEAM_HFPL, SEAM_VOC, SEAM_HFPL_VOC])
def test_new_layers_train_at_ten_times_the_learning_rate(path):
    """SEAM trains the layers it adds (classifier, PCM) at lr x10."""
    cfg = Config.fromfile(path)
    cfg.model.backbone.pop('init_cfg', None)
    cfg.model.backbone.pop('pretrained', None)
    if 'pretrained' in Config.fromfile(path).model.backbone:
        cfg.model.backbone.pretrained = False
    with DefaultScope.overwrite_default_scope('mmwsss'):
        model = MODELS.build(cfg.model)
        wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    base = cfg.optim_wrapper.optimizer.lr
    lr_of = {}
    for group in wrapper.optimizer.param_groups:
        for param in group['params']:
            lr_of[id(param)] = group['lr']
    for name, param in model.named_parameters():
        if not param.requires_grad:
            continue
        new = name.startswith(('head.', 'pcm_proj.', 'pcm_fuse.'))
        assert lr_of[id(param)] == pytest.approx(base * (10 if new else 1)), name


def test_voc_config_is_seams_recipe():
    cfg = Config.fromfile(SEAM_VOC)
    optimizer = cfg.optim_wrapper.optimizer
    # SEAM's PolyOptimizer hands its weight decay to SGD as the momentum
    assert (optimizer.lr, optimizer.momentum, optimizer.weight_decay) == (
        0.01,
        5e-4,
        5e-4,
    )
    assert cfg.model.backbone.strides == (1, 2, 1, 1)  # output stride 8
    assert cfg.model.backbone.norm_cfg.requires_grad is False
    assert cfg.train_dataloader.batch_size == 8 and cfg.train_cfg.max_epochs == 8
    resize = cfg.train_dataloader.dataset.pipeline[2]
    low, high = (resize.scale[0] * r for r in resize.ratio_range)
    assert (round(low), round(high)) == (448, 768)
