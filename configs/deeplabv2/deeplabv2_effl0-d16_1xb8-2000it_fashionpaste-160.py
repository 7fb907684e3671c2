# The benchmark's final net: the pseudo-mask DeepLabV2 config trained twice as
# long (2000 iterations of batch 8, 8 epochs of the 2000 bench images; the same
# schedule shape), about 9 minutes on 2 CPU cores. The 1000-iteration run's
# ground-truth bound was still 3 points below this length (43.1 vs 46.1 val
# mIoU), too short to rank pseudo masks; the ground-truth run of this length is
# checked against one twice as long again
# (deeplabv2_effl0-d16_1xb8-4000it_fashionpaste-160_gt.py).
#   python tools/train.py configs/deeplabv2/deeplabv2_effl0-d16_1xb8-2000it_fashionpaste-160.py \
#       --cfg-options train_dataloader.dataset.pseudo_dir=ABS_DIR \
#       model.backbone.init_cfg.checkpoint=CAM_CHECKPOINT
_base_ = ['./deeplabv2_effl0-d16_1xb8-1000it_fashionpaste-160.py']
max_iters = 2000
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, begin=0, end=20, by_epoch=False),
    dict(
        type='PolyLR', power=0.9, eta_min=0.0, begin=20, end=max_iters, by_epoch=False
    ),
]
train_cfg = dict(max_iters=max_iters, val_interval=500)
default_hooks = dict(checkpoint=dict(interval=500))
