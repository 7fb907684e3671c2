# IRN's schedule (train_irn of IRN's reference code): 3 epochs, SGD lr 0.1, weight
# decay 1e-4, poly 0.9 per iteration, the displacement branch at lr x10; the
# backbone is frozen by the model. Momentum 1e-4: IRN's PolyOptimizer passes its
# weight decay positionally into torch SGD's momentum slot (see cam_sgd_poly.py),
# in effect plain SGD; the decay itself applies through the parameter groups.
# No validation: the test loop exports the pseudo masks of the train split and
# scores them against its GT masks.
max_epochs = 3
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.1, momentum=1e-4, weight_decay=1e-4),
    paramwise_cfg=dict(custom_keys={'displacement_head': dict(lr_mult=10.0)}),
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
