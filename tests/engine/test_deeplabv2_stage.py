"""Runner-level test of the final stage: DeepLabV2 on mixed pseudo / GT masks."""

import glob
import os
import os.path as osp
import shutil

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.registry import HOOKS
from mmengine.runner import Runner
from PIL import Image

import mmwsss  # noqa: F401
from mmwsss.pipeline import all_background_miou
from mmwsss.utils import safe_checkpoint_loader

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = osp.join(
    ROOT, 'configs/deeplabv2/deeplabv2_effl0-d16_1xb8-1000it_fashionpaste-160.py'
)
PSEUDO_CLASS = 10  # every pixel of a pseudo mask
EPOCHS = 10  # of 2 iterations (batch 4): enough to learn the 8 masks


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
def test_train_on_mixed_sources_then_validate_on_gt(tiny_cam, tmp_path, import_tool):
    data_root = tiny_cam.data_root
    ids = open(osp.join(data_root, 'ImageSets/Segmentation/train.txt')).read().split()
    pseudo_dir = str(tmp_path / 'pseudo')
    os.makedirs(pseudo_dir)
    for image_id in ids:
        mask = np.full((64, 64), PSEUDO_CLASS, dtype=np.uint8)
        Image.fromarray(mask, mode='L').save(osp.join(pseudo_dir, image_id + '.png'))
    gt_ids = ids[:3]
    # the masks the net is trained on, in one folder, to score how it learnt them
    targets = str(tmp_path / 'targets')
    os.makedirs(targets)
    for image_id in ids:
        folder = (
            osp.join(data_root, 'SegmentationClass')
            if image_id in gt_ids
            else pseudo_dir
        )
        shutil.copy(osp.join(folder, image_id + '.png'), targets)

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
    # the test loop scores the train split against the masks it was trained on
    test_set = cfg.test_dataloader.dataset
    test_set.data_root = data_root
    test_set.ann_file = 'ImageSets/Segmentation/train.txt'
    test_set.data_prefix.seg_map_path = targets
    # the backbone starts from the session's CAM classifier, as the pipelines'
    # init_from='cam' does
    cfg.model.backbone.init_cfg.checkpoint = tiny_cam.checkpoint
    # whole epochs, so that every image is seen exactly once per epoch
    cfg.train_dataloader.sampler = dict(type='DefaultSampler', shuffle=True)
    cfg.train_cfg = dict(
        type='EpochBasedTrainLoop', max_epochs=EPOCHS, val_interval=EPOCHS
    )
    cfg.param_scheduler = None
    cfg.default_hooks.checkpoint = dict(
        type='CheckpointHook', by_epoch=True, interval=EPOCHS
    )
    cfg.custom_hooks = [*cfg.custom_hooks, dict(type='_RecordSources')]
    _RecordSources.seen = []

    runner = Runner.from_cfg(cfg)
    with safe_checkpoint_loader():  # init_cfg reads a Runner checkpoint
        runner.train()
    seen = _RecordSources.seen
    assert len(seen) == EPOCHS * len(ids)
    for epoch in range(EPOCHS):
        block = seen[epoch * len(ids) : (epoch + 1) * len(ids)]
        assert sorted(img_id for img_id, _, _ in block) == sorted(ids)  # one epoch
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
    assert val_set.ann_file.endswith('ImageSets/Segmentation/val.txt')
    assert all(
        'SegmentationClass' in val_set.get_data_info(i)['seg_map_path']
        for i in range(len(val_set))
    )
    metrics = runner.val_loop.run()
    # no bound here: 8 training images, 5 of them one class everywhere, teach
    # nothing that carries to the 4 val images (5.8 mIoU, under their
    # all-background floor of 8.5); the bounds are on the masks it learnt, below
    assert 0.0 <= metrics['mIoU'] <= 100.0
    ckpt = osp.join(cfg.work_dir, f'epoch_{EPOCHS}.pth')
    assert osp.exists(ckpt)

    # The net learnt its masks: on the train split, scored against them, 48.9
    # mIoU (randomness seeds 1, 2: 40.1, 32.4; TTA below: 32.5, 44.7, 32.4).
    # Wrong predictions score far less there: all background 5.1 (the floor),
    # class 10 everywhere (what 5 of the 8 masks hold) 13.2, one of its classes
    # over each whole image 4.2. (The ground truth itself scores 25.4: a net
    # that learnt it instead of the pseudo masks would at best reach the bound.)
    test_files = runner.test_dataloader.dataset
    assert all(
        test_files.get_data_info(i)['seg_map_path'].startswith(targets)
        for i in range(len(test_files))
    )
    fit = runner.test()
    floor = all_background_miou(sorted(glob.glob(osp.join(targets, '*.png'))), 11)
    assert floor < 6
    assert fit['mIoU'] >= 25

    # tools/test.py --tta: multi-scale + flip + CRF from the same checkpoint
    tta_cfg = cfg.copy()
    import_tool('test').use_tta(tta_cfg)
    tta_cfg.load_from = ckpt
    tta_cfg.work_dir = str(tmp_path / 'tta')
    tta_runner = Runner.from_cfg(tta_cfg)
    assert type(tta_runner.model).__name__ == 'CRFSegTTAModel'
    with safe_checkpoint_loader():  # a Runner checkpoint under torch >= 2.6
        tta_metrics = tta_runner.test()
    assert tta_metrics['mIoU'] >= 20  # the learnt masks, as TTA + CRF merge them
    # the checkpoint reached the wrapped segmentor
    head = runner.model.decode_head.aspp[0].weight
    assert torch.equal(tta_runner.model.module.decode_head.aspp[0].weight, head)
