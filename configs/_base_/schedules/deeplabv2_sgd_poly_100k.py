# DeepLabV2's COCO schedule: the VOC one (deeplabv2_sgd_poly_20k.py: SGD lr 2.5e-4,
# momentum 0.9, weight decay 5e-4, ASPP weights x10, biases x20 without decay,
# poly 0.9, batch 10) run for 100k iterations, as the DeepLab v2 re-implementation
# the WSSS papers train with (deeplab-pytorch, Nakashima) sets it for COCO
# (COCO-Stuff 164k: batch 5 x 2 accumulated, 100k iterations). Validation (mIoU
# on about 40k images) every 20k iterations, a checkpoint every 5k.
_base_ = ['./deeplabv2_sgd_poly_20k.py']
param_scheduler = [
    dict(type='PolyLR', eta_min=0.0, power=0.9, begin=0, end=100000, by_epoch=False)
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=100000, val_interval=20000)
default_hooks = dict(
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=5000)
)
