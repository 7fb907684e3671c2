# DeepLabV2's VOC schedule (DeepLab v2, TPAMI 2018): SGD lr 2.5e-4, momentum 0.9,
# weight decay 5e-4, poly 0.9, 20k iterations of batch 10; the ASPP classifiers
# (trained from scratch) at lr x10 for their weights and x20 without weight decay
# for their biases, as DeepLab's solver sets them (the backbone's convs have no
# bias and its batch norm is frozen). mmengine matches custom keys as substrings
# of the parameter names, the longest first, so the bias keys win over
# 'decode_head' (a head without these names trains all at x10). Validation (mIoU)
# every 2k iterations.
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=2.5e-4, momentum=0.9, weight_decay=5e-4),
    paramwise_cfg=dict(
        custom_keys={
            'decode_head': dict(lr_mult=10.0),
            **{
                f'decode_head.aspp.{i}.bias': dict(lr_mult=20.0, decay_mult=0.0)
                for i in range(4)
            },
        }
    ),
)
param_scheduler = [
    dict(type='PolyLR', eta_min=0.0, power=0.9, begin=0, end=20000, by_epoch=False)
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=20000, val_interval=2000)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50, log_metric_by_epoch=False),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=2000),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='SegVisualizationHook'),
)
