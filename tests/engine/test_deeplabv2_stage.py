"""Runner-level test of the final stage: DeepLabV2 on mixed pseudo / GT masks."""

import os
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.registry import HOOKS
from mmengine.runner import Runner
from PIL import Image

import mmwsss  # noqa: F401
from mmwsss.datasets.fashionpaste import generate_fashionpaste
from mmwsss.utils import safe_checkpoint_loader

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = osp.join(
    ROOT, 'configs/deeplabv2/deeplabv2_effl0-d16_1xb8-1000it_fashionpaste-160.py'
)
PSEUDO_CLASS = 10  # every pixel of a pseudo mask


@HOOKS.register_module()
class _RecordSources(Hook):
    """Keeps (label_source, mask values) of every training sample."""

    seen: list = []

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        for sample in data_batch['data_samples']:
            values = set(np.unique(sample.gt_sem_seg.data.numpy()).tolist())
            img_id = osp.splitext(osp.basename(sample.img_path))[0]
            type(self).seen.append((img_id, sample.label_source, values))


@pytest.mark.slow
def test_train_on_mixed_sources_then_validate_on_gt(tmp_path, import_tool):
    data_root = str(tmp_path / 'data')
    generate_fashionpaste(
        data_root, size='tiny', seed=0, source='subset', progress=False
    )
    ids = open(osp.join(data_root, 'ImageSets/Segmentation/train.txt')).read().split()
    pseudo_dir = str(tmp_path / 'pseudo')
    os.makedirs(pseudo_dir)
    for image_id in ids:
        mask = np.full((64, 64), PSEUDO_CLASS, dtype=np.uint8)
        Image.fromarray(mask, mode='L').save(osp.join(pseudo_dir, image_id + '.png'))
    gt_ids = ids[:3]

    cfg = Config.fromfile(CONFIG)
    cfg.work_dir = str(tmp_path / 'work')
    cfg.model.backbone.pretrained = False
    cfg.model.data_preprocessor.size = (64, 64)
    for name in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        loader = cfg[name]
        loader.num_workers = 0
        loader.persistent_workers = False
    cfg.train_dataloader.batch_size = 4
    train_set = cfg.train_dataloader.dataset
    train_set.pseudo_dir = pseudo_dir
    train_set.gt_ids = gt_ids
    train_set.dataset.data_root = data_root
    train_set.dataset.pipeline[2].scale = (64, 64)
    train_set.dataset.pipeline[3].crop_size = (64, 64)
    cfg.val_dataloader.dataset.data_root = data_root
    cfg.test_dataloader.dataset.data_root = data_root
    cfg.model.backbone.init_cfg = None  # no CAM checkpoint here
    # one epoch, so that every image is seen exactly once
    cfg.train_dataloader.sampler = dict(type='DefaultSampler', shuffle=True)
    cfg.train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=1, val_interval=1)
    cfg.param_scheduler = None
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', by_epoch=True)
    cfg.custom_hooks = [*cfg.custom_hooks, dict(type='_RecordSources')]
    _RecordSources.seen = []

    runner = Runner.from_cfg(cfg)
    runner.train()
    seen = _RecordSources.seen
    assert sorted(img_id for img_id, _, _ in seen) == sorted(ids)  # one epoch
    for img_id, source, values in seen:
        assert source == ('gt' if img_id in gt_ids else 'pseudo')
        if source == 'pseudo':
            assert values <= {PSEUDO_CLASS, 255}  # 255: padding
        else:
            gt = np.array(
                Image.open(osp.join(data_root, 'SegmentationClass', img_id + '.png'))
            )
            assert values - {255} <= set(np.unique(gt).tolist())
            assert values - {255, PSEUDO_CLASS}

    # validation runs on the val split's ground truth, never on pseudo masks
    val_set = runner.val_dataloader.dataset
    assert type(val_set).__name__ == 'FashionPasteDataset'
    assert all(
        'SegmentationClass' in val_set.get_data_info(i)['seg_map_path']
        for i in range(len(val_set))
    )
    metrics = runner.val_loop.run()
    assert 0.0 <= metrics['mIoU'] <= 100.0
    ckpt = osp.join(cfg.work_dir, 'epoch_1.pth')
    assert osp.exists(ckpt)

    # tools/test.py --tta: multi-scale + flip + CRF from the same checkpoint
    tta_cfg = cfg.copy()
    import_tool('test').use_tta(tta_cfg)
    tta_cfg.load_from = ckpt
    tta_cfg.work_dir = str(tmp_path / 'tta')
    tta_runner = Runner.from_cfg(tta_cfg)
    assert type(tta_runner.model).__name__ == 'CRFSegTTAModel'
    with safe_checkpoint_loader():  # a Runner checkpoint under torch >= 2.6
        tta_metrics = tta_runner.test()
    assert 0.0 <= tta_metrics['mIoU'] <= 100.0
    # the checkpoint reached the wrapped segmentor
    head = runner.model.decode_head.aspp[0].weight
    assert torch.equal(tta_runner.model.module.decode_head.aspp[0].weight, head)
