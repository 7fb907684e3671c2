# PSA's AffinityNet schedule (train_aff of PSA's reference code): 8 epochs, SGD
# lr 0.1, weight decay 5e-4, poly 0.9 per iteration, the head (trained from
# scratch) at lr x10. Momentum 5e-4: PSA's PolyOptimizer passes its weight decay
# positionally into torch SGD's momentum slot (see cam_sgd_poly.py), in effect
# plain SGD; the decay itself applies through the parameter groups. (PSA's bias
# groups, lr x2 / x20 without decay, have no counterpart in the ResNet model: its
# convs and AffinityHead's have no bias and its batch norm is frozen.) The 'backbone'
# key keeps backbone parameters whose names contain 'head' (e.g. EfficientNet's
# conv head) at lr x1: the longest matching key wins.
# No validation: the test loop exports the pseudo masks of the train split and
# scores them against its GT masks.
max_epochs = 8
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.1, momentum=5e-4, weight_decay=5e-4),
    paramwise_cfg=dict(
        custom_keys={'backbone': dict(lr_mult=1.0), 'head': dict(lr_mult=10.0)}
    ),
)
param_scheduler = [
    dict(
        type='PolyLR',
        power=0.9,
        eta_min=0.0,
        by_epoch=True,
        begin=0,
        end=max_epochs,
        convert_to_iter_based=True,
    )
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs)
val_cfg = None
val_dataloader = None
val_evaluator = None
test_cfg = dict(
    type='ExportTestLoop',
    exporter=dict(type='LabelPNGExporter', out_dir='{work_dir}/pseudo_labels'),
)
test_evaluator = dict(type='IoUMetric', iou_metrics=['mIoU'])
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=20, log_metric_by_epoch=True),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', by_epoch=True, interval=1, max_keep_ckpts=1),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='SegVisualizationHook'),
)
