"""The VOC recipes (CAM, IRN, AffinityNet, DeepLabV2; SEAM, SEAM + HFPL, PtReCl
recovery and PRM run one iteration too): what their configs set
against the reference code (docs/reproduction/voc_recipes.md), and, slow, one
training iteration of each on generated VOC-size images.

The slow test builds a tiny VOC 2012 + SBD tree with 500 x 375 images, runs
tools/dataset_converters/voc_aug.py on it as a user would (train_aug.txt,
aug.txt, SegmentationClassAug, cls_labels.json), then trains each config one
iteration at batch 1 from random weights (no checkpoint is fetched).
"""

import os
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.registry import DefaultScope
from mmengine.runner import Runner
from PIL import Image

import mmwsss  # noqa: F401  (registers the components)
from mmwsss.datasets.palette import voc_palette
from mmwsss.registry import DATASETS, MODELS, OPTIM_WRAPPER_CONSTRUCTORS

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
CAM = 'configs/cam/cam_r50_1xb16-5e_voc12aug-512.py'
IRN = 'configs/irn/irn_r50_1xb32-3e_voc12aug-512.py'
AFFINITYNET = 'configs/affinitynet/affinitynet_r50_1xb8-8e_voc12aug-448.py'
DEEPLABV2 = 'configs/deeplabv2/deeplabv2_r101-d8_1xb10-20k_voc12aug-321.py'
PSEUDO_DEEPLABV3 = (
    'configs/pseudo_label/deeplabv3_r50-d8_4xb4-20k_voc12aug-512x512_pseudo.py'
)
SEAM = 'configs/seam/seam_r50_1xb8-8e_voc12aug-448.py'
SEAM_HFPL = 'configs/seam/seam_r50_hfpl_1xb8-8e_voc12aug-448.py'
PTRECL_RECOVERY = 'configs/ptrecl/ptrecl-recovery_r101-d8_1xb10-20k_voc12aug-321.py'
PRM = 'configs/prm/prm_r50_1xb16-20e_voc12-448.py'
OAA = 'configs/oaa/oaa_r50_1xb5-15e_voc12aug.py'
OAA_IAM = 'configs/oaa/oaa-iam_r50_1xb5-15e_voc12aug.py'
UPERNET_SWIN = 'configs/upernet_swin/upernet_swin-t_1xb8-40k_voc12aug-512x512_pseudo.py'
TORCHVISION_R50 = 'https://download.pytorch.org/models/resnet50-0676ba61.pth'


def _cfg(path):
    return Config.fromfile(osp.join(ROOT, path))


def _no_weights(model_cfg):
    model_cfg.pop('pretrained', None)
    model_cfg.backbone.pop('init_cfg', None)


def _build(model_cfg):
    with DefaultScope.overwrite_default_scope('mmwsss'):
        return MODELS.build(model_cfg)


def _param_lrs(model, optim_wrapper_cfg):
    """The optimizer wrapper a config builds for ``model`` and the lr of each
    parameter it trains, by ``id``."""
    from mmengine.optim import build_optim_wrapper

    wrapper = build_optim_wrapper(model, optim_wrapper_cfg)
    lrs = {
        id(param): group['lr']
        for group in wrapper.optimizer.param_groups
        for param in group['params']
    }
    return wrapper, lrs


def _step_types(pipeline):
    return [step['type'] for step in pipeline]


def test_cam_trains_like_irn():
    """Torchvision ResNet-50 weights; stem and stages 1-2 without gradient;
    batch norm statistics frozen, its affine parameters trained in stages 3-4;
    SGD momentum 1e-4 (IRN's PolyOptimizer quirk) with weight decay 1e-4."""
    cfg = _cfg(CAM)
    assert cfg.model.backbone.type == 'ResNet'  # the plain 7x7 stem
    assert cfg.model.backbone.init_cfg.checkpoint == TORCHVISION_R50
    _no_weights(cfg.model)
    model = _build(cfg.model)
    model.init_weights()
    model.train()
    backbone = model.backbone
    frozen = [backbone.conv1, backbone.bn1, backbone.layer1, backbone.layer2]
    assert not any(p.requires_grad for m in frozen for p in m.parameters())
    assert all(p.requires_grad for p in backbone.layer3.parameters())
    assert backbone.layer3[0].bn1.weight.requires_grad
    assert not backbone.layer4[0].bn1.training  # statistics frozen
    # PyTorch's default conv init, as IRN's classifier: |w| <= 1 / sqrt(2048)
    bound = 1 / 2048**0.5
    weight = model.head.classifier.weight
    assert weight.abs().max() <= bound and weight.abs().max() > 0.9 * bound

    optimizer = cfg.optim_wrapper.optimizer
    assert (optimizer.lr, optimizer.momentum, optimizer.weight_decay) == (
        0.1,
        1e-4,
        1e-4,
    )
    steps = _step_types(cfg.train_dataloader.dataset.pipeline)
    assert steps.index('RandomResize') < steps.index('RandomCrop')
    # the FashionPaste bench's CAM keeps its own momentum
    bench = _cfg('configs/cam/cam_effl0_1xb16-8e_fashionpaste-160.py')
    assert bench.optim_wrapper.optimizer.momentum == 0.9


def test_prm_trains_as_prms_reference_config():
    """PRM's recipe: the classifier at lr 0.01, the ResNet-50 features at 0.01 of
    it (1e-4), constant; output stride 32, every stage trained, batch norm in
    training mode; whole images resized to 448 x 448, flipped, never cropped."""
    cfg = _cfg(PRM)
    _no_weights(cfg.model)
    model = _build(cfg.model)
    model.train()
    backbone = model.backbone
    assert all(p.requires_grad for p in backbone.parameters())
    assert backbone.layer1[0].bn1.training  # statistics updated
    features = backbone(torch.zeros(1, 3, 448, 448))[-1]
    assert features.shape[-2:] == (14, 14)  # output stride 32
    wrapper, lrs = _param_lrs(model, cfg.optim_wrapper)
    assert {lrs[id(p)] for p in model.head.parameters()} == {0.01}
    assert {round(lrs[id(p)], 10) for p in backbone.parameters()} == {1e-4}
    assert wrapper.optimizer.defaults['momentum'] == 0.9
    assert not cfg.param_scheduler  # constant lr
    steps = _step_types(cfg.train_dataloader.dataset.pipeline)
    assert 'RandomCrop' not in steps and 'RandomFlip' in steps
    (resize,) = [t for t in cfg.train_dataloader.dataset.pipeline if t.type == 'Resize']
    assert tuple(resize.scale) == (448, 448) and resize.keep_ratio is False


@pytest.mark.parametrize(
    'path',
    [
        'configs/prm/prm_effl0_1xb16-8e_fashionpaste-160.py',
        'configs/prm/prm_effl0_1xb16-8e_fashionpaste2-320.py',
    ],
)
def test_bench_prm_trains_at_prms_rates(path):
    """The bench PRM configs keep the bench CAM's model and data but PRM's
    rates: at the CAM recipe's (backbone 0.01, classifier 0.1, poly) the
    peak-stimulated loss diverged on the 320 px set within 20 iterations."""
    cfg = _cfg(path)
    _no_weights(cfg.model)
    model = _build(cfg.model)
    wrapper, lrs = _param_lrs(model, cfg.optim_wrapper)
    assert {lrs[id(p)] for p in model.head.parameters()} == {0.01}
    # EfficientNet-Lite's own conv head (backbone.head.*) stays at the backbone's;
    # its frozen stem has no rate
    trained = [p for p in model.backbone.parameters() if id(p) in lrs]
    assert len(trained) > 0.9 * len(list(model.backbone.parameters()))
    assert {round(lrs[id(p)], 10) for p in trained} == {1e-4}
    assert wrapper.optimizer.defaults['momentum'] == 0.9
    assert wrapper.optimizer.defaults['weight_decay'] == 1e-4
    assert not cfg.param_scheduler  # constant lr


def test_oaa_trains_as_oaas_reference_code():
    """OAA's recipe on IRN's CAM network: whole images, shorter side 224, flip,
    no crop; batch 5 x 5 accumulated; Nesterov SGD lr 1e-3 (classifier x10),
    weight decay 5e-4, x0.1 after epochs 5 and 10 of 15; OAAHook from epoch 1."""
    cfg = _cfg(OAA)
    assert cfg.model.backbone == _cfg(CAM).model.backbone  # IRN's CAM network
    steps = _step_types(cfg.train_dataloader.dataset.pipeline)
    assert 'RandomCrop' not in steps and 'RandomResize' not in steps
    (resize,) = [t for t in cfg.train_dataloader.dataset.pipeline if t.type == 'Resize']
    assert min(resize.scale) == 224 and resize.keep_ratio
    assert cfg.model.data_preprocessor.size is None  # batches padded, not cropped
    assert cfg.train_dataloader.batch_size * cfg.optim_wrapper.accumulative_counts == 25
    optimizer = cfg.optim_wrapper.optimizer
    assert (optimizer.lr, optimizer.momentum, optimizer.nesterov) == (1e-3, 0.9, True)
    assert optimizer.weight_decay == 5e-4
    assert cfg.optim_wrapper.paramwise_cfg.custom_keys.head.lr_mult == 10.0
    (step,) = cfg.param_scheduler
    assert (step.type, step.milestones, step.gamma) == ('MultiStepLR', [5, 10], 0.1)
    assert cfg.train_cfg.max_epochs == 15
    hook = [h for h in cfg.custom_hooks if h.type == 'OAAHook'][0]
    assert hook.start_epoch == 1


def test_irn_taps_five_levels_of_torchvision_resnet50():
    cfg = _cfg(IRN)
    backbone = cfg.model.backbone
    assert backbone.type == 'ResNetWithStem' and backbone.depth == 50
    assert backbone.init_cfg.checkpoint == TORCHVISION_R50
    assert cfg.model.boundary_head.in_channels == (64, 256, 512, 1024, 2048)
    assert cfg.model.displacement_head.fine_levels == (0, 1)
    assert cfg.optim_wrapper.optimizer.momentum == 1e-4
    rescale = cfg.train_dataloader.dataset.pipeline[2]
    assert rescale.type == 'RandomRescale' and rescale.ratio_range == (0.5, 1.5)


def test_affinitynet_crops_at_the_original_scale():
    cfg = _cfg(AFFINITYNET)
    steps = _step_types(cfg.train_dataloader.dataset.pipeline)
    assert 'RandomResize' not in steps and 'RandomRescale' not in steps
    assert steps.index('ColorJitter') < steps.index('RandomCrop')
    assert cfg.optim_wrapper.optimizer.momentum == 5e-4


def test_deeplabv2_scales_the_image_and_its_biases_train_at_x20():
    cfg = _cfg(DEEPLABV2)
    pipeline = cfg.train_dataloader.dataset.dataset.pipeline
    assert pipeline[2].type == 'RandomRescale'
    assert pipeline[2].ratio_range == (0.5, 1.5)
    _no_weights(cfg.model)
    model = _build(cfg.model)
    wrapper_cfg = cfg.optim_wrapper.copy()
    paramwise_cfg = wrapper_cfg.pop('paramwise_cfg')
    with DefaultScope.overwrite_default_scope('mmwsss'):
        constructor = OPTIM_WRAPPER_CONSTRUCTORS.build(
            dict(
                type='DefaultOptimWrapperConstructor',
                optim_wrapper_cfg=wrapper_cfg,
                paramwise_cfg=paramwise_cfg,
            )
        )
        groups = constructor(model).optimizer.param_groups
    named = dict(model.named_parameters())
    by_param = {id(p): g for g in groups for p in g['params']}
    for i in range(4):
        weight = by_param[id(named[f'decode_head.aspp.{i}.weight'])]
        bias = by_param[id(named[f'decode_head.aspp.{i}.bias'])]
        assert weight['lr'] == pytest.approx(2.5e-3)
        assert weight['weight_decay'] == pytest.approx(5e-4)
        assert bias['lr'] == pytest.approx(5e-3) and bias['weight_decay'] == 0
    conv = by_param[id(named['backbone.layer4.0.conv2.weight'])]
    assert conv['lr'] == pytest.approx(2.5e-4)


# -- one training iteration of each VOC config on VOC-size images (slow) ------


def _save_palette_png(mask, path):
    img = Image.fromarray(mask, mode='P')
    img.putpalette(np.asarray(voc_palette(256), np.uint8).ravel().tolist())
    img.save(path)


@pytest.fixture(scope='module')
def tiny_voc(tmp_path_factory, request):
    """VOC train a, val c; SBD train b, val c: train_aug = a, b; aug = b."""
    tmp = tmp_path_factory.mktemp('voc')
    voc = tmp / 'VOCdevkit' / 'VOC2012'
    sbd = tmp / 'benchmark_RELEASE' / 'dataset'
    for folder in ('JPEGImages', 'SegmentationClass', 'ImageSets/Segmentation'):
        (voc / folder).mkdir(parents=True)
    (sbd / 'cls').mkdir(parents=True)
    rng = np.random.default_rng(0)
    for i, (img_id, cls) in enumerate([('a', 12), ('b', 15), ('c', 8)]):
        image = rng.integers(0, 256, size=(375, 500, 3), dtype=np.uint8)
        Image.fromarray(image).save(voc / 'JPEGImages' / f'{img_id}.jpg')
        mask = np.zeros((375, 500), np.uint8)
        mask[80 + 10 * i : 300, 100:380] = cls
        mask[80 + 10 * i : 84 + 10 * i, 100:380] = 255  # VOC's outline band
        _save_palette_png(mask, voc / 'SegmentationClass' / f'{img_id}.png')
    (voc / 'ImageSets/Segmentation/train.txt').write_text('a\n')
    (voc / 'ImageSets/Segmentation/val.txt').write_text('c\n')
    (sbd / 'train.txt').write_text('b\n')
    (sbd / 'val.txt').write_text('c\n')
    import_tool = request.getfixturevalue('import_tool')
    import_tool('dataset_converters/voc_aug').main(
        ['--voc-root', str(voc), '--sbd-root', str(sbd)]
    )
    return str(voc)


class _SnapshotHeads(Hook):
    """Copies the heads' parameters (outside the backbone) before training,
    after the Runner's weight initialisation (random here)."""

    def __init__(self):
        self.before = {}

    def before_train(self, runner):
        for name, param in runner.model.named_parameters():
            if param.requires_grad and not name.startswith('backbone.'):
                self.before[name] = param.detach().clone()


def _one_iteration(cfg, work_dir):
    """Batch 1, one iteration, no validation, no checkpoint, no weights."""
    cfg.work_dir = str(work_dir)
    _no_weights(cfg.model)
    loader = cfg.train_dataloader
    loader.batch_size = 1
    loader.num_workers = 0
    loader.persistent_workers = False
    if cfg.train_cfg.type == 'EpochBasedTrainLoop':
        cfg.train_cfg.max_epochs = 1
        dataset = loader.dataset
        (dataset.get('dataset') or dataset).indices = 1  # one image, one batch
    else:
        cfg.train_cfg.max_iters = 1
    cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
    cfg.train_cfg.pop('val_interval', None)
    cfg.default_hooks.checkpoint = None
    cfg.randomness = dict(seed=0)
    return cfg


@pytest.mark.slow
@pytest.mark.parametrize(
    'path',
    [CAM, IRN, AFFINITYNET, DEEPLABV2, SEAM, SEAM_HFPL, PTRECL_RECOVERY, PRM, OAA],
)
def test_one_training_iteration_on_voc_size_images(path, tiny_voc, tmp_path):
    cfg = _one_iteration(_cfg(path), tmp_path / 'work')
    dataset = cfg.train_dataloader.dataset
    masks = osp.join(tiny_voc, 'SegmentationClassAug')
    if dataset.type == 'PseudoLabelDataset':  # DeepLabV2 on pseudo masks
        dataset.pseudo_dir = masks
        dataset.dataset.data_root = tiny_voc
    else:
        dataset.data_root = tiny_voc
        if dataset.data_prefix.get('seg_map_path'):  # IR / PSA labels
            dataset.data_prefix.seg_map_path = masks
    runner = Runner.from_cfg(cfg)
    snapshot = _SnapshotHeads()
    runner.register_hook(snapshot)
    runner.train()
    assert runner.iter == 1
    assert np.isfinite(runner.message_hub.get_scalar('train/loss').current())
    params = dict(runner.model.named_parameters())
    assert snapshot.before
    assert any(not torch.equal(v, params[n]) for n, v in snapshot.before.items())
    if path == OAA:  # a one-epoch run fills its maps in its last epoch
        maps = osp.join(cfg.work_dir, 'oaa_maps')
        assert len([n for n in os.listdir(maps) if not n.endswith('.json')]) == 1
        # OAA+: the integral attention model learns from those maps
        iam = _one_iteration(_cfg(OAA_IAM), tmp_path / 'iam')
        iam.train_dataloader.dataset.data_root = tiny_voc
        (load,) = [t for t in iam.train_dataloader.dataset.pipeline if 'cam_dir' in t]
        load.cam_dir = maps
        runner = Runner.from_cfg(iam)
        runner.train()
        loss = runner.message_hub.get_scalar('train/loss').current()
        assert np.isfinite(loss) and loss > 0


@pytest.mark.slow
@pytest.mark.parametrize('path', [PSEUDO_DEEPLABV3, UPERNET_SWIN])
def test_pseudo_label_configs_find_voc_aug_output(path, tiny_voc):
    """The mmseg-based configs train on pseudo masks of train_aug; the stock
    DeepLabV3 one reads VOC train (SegmentationClass) plus aug.txt
    (SegmentationClassAug), which voc_aug.py writes."""
    cfg = _cfg(path)
    dataset_cfg = cfg.train_dataloader.dataset
    dataset_cfg.pseudo_dir = osp.join(tiny_voc, 'SegmentationClassAug')
    inner = dataset_cfg.dataset
    for stock in inner.get('datasets', [inner]):
        stock.data_root = tiny_voc
    with DefaultScope.overwrite_default_scope('mmwsss'):
        dataset = DATASETS.build(dataset_cfg)
    assert len(dataset) == 2  # train_aug: VOC train a + SBD b
    sample = dataset[1]
    # the random rescale may leave a side under the 512 crop (the data
    # preprocessor pads it); the mask always matches its image
    mask_shape = tuple(sample['data_samples'].gt_sem_seg.data.shape[-2:])
    assert mask_shape == tuple(sample['inputs'].shape[-2:])
    assert max(mask_shape) <= 512 and min(mask_shape) > 0


def test_bench_prm_finds_peaks_as_prm_on_stride_32_maps():
    """The 320 px bench PRM runs PRM's grid: stride-32 response maps (10 x 10
    at 320 px) upsampled x8, peaks on a stride-4 grid; the bench CAM's
    stride-16 weights load into it unchanged (dilation has no parameters)."""
    cfg = _cfg('configs/prm/prm_effl0_1xb16-8e_fashionpaste2-320.py')
    assert cfg.model.backbone.output_stride == 32
    assert cfg.model.head.upsample == 8
    _no_weights(cfg.model)
    model = _build(cfg.model).eval()
    cam_cfg = _cfg('configs/cam/cam_effl0_1xb16-8e_fashionpaste2-320.py')
    _no_weights(cam_cfg.model)
    cam = _build(cam_cfg.model)
    backbone = {k: v for k, v in cam.state_dict().items() if k.startswith('backbone.')}
    missing, unexpected = model.load_state_dict(backbone, strict=False)
    assert not unexpected and not any(k.startswith('backbone.') for k in missing)
    with torch.no_grad():
        maps = model.response_maps(torch.rand(1, 3, 320, 320))
    assert maps.shape[-2:] == (80, 80)
