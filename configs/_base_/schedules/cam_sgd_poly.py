# IRN's CAM schedule (train_cam of IRN's reference code): 5 epochs, SGD lr 0.1,
# weight decay 1e-4, poly 0.9 per iteration, classifier lr x10; validation
# (classification mAP) once at the end.
# Momentum 1e-4, not 0.9: IRN's PolyOptimizer subclasses torch's SGD and calls
# SGD.__init__(params, lr, weight_decay), so its weight decay lands in SGD's
# momentum slot (the third positional argument); the decay itself still applies,
# because each parameter group sets 'weight_decay' (1e-4). (Its attribute named
# momentum, 0.9, is the poly power.) IRN thus trains with momentum 1e-4, in effect
# plain SGD; so does SEAM, whose PolyOptimizer is the same (weight decay 5e-4).
# A config that wants classic momentum sets it (the FashionPaste bench's CAM
# keeps 0.9 with lr 0.01).
# mmengine matches custom keys as substrings of the parameter names, longest key
# first: 'backbone' keeps backbone parameters whose names contain 'head'
# (EfficientNet-Lite's conv head, backbone.head.*) at lr x1, so only the CAM head
# (head.*) trains at x10.
max_epochs = 5
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.1, momentum=1e-4, weight_decay=1e-4),
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
train_cfg = dict(
    type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=max_epochs
)
val_cfg = dict(type='ValLoop')
test_cfg = dict(
    type='ExportTestLoop',
    exporter=dict(type='CAMExporter', out_dir='{work_dir}/cams'),
)
val_evaluator = dict(type='MultiLabelMAPMetric')
test_evaluator = dict(type='SeedIoUMetric', out_dir='{work_dir}/seed_eval')
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=20, log_metric_by_epoch=True),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', by_epoch=True, interval=1, max_keep_ckpts=1),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='SegVisualizationHook'),
)
