# IRNet on the embedded FashionPaste benchmark: frozen EfficientNet-Lite0, IRN's
# schedule (3 epochs, lr 0.1, displacement branch x10), trains on CPU in minutes.
# Needs the CAM stage's output: CAMs in cam_dir (cam_effl0 test export) and IR
# labels in ir_label_dir (tools/refine_seeds.py on those CAMs).
#   python tools/train.py configs/irn/irn_effl0_1xb16-3e_fashionpaste-160.py
#   python tools/test.py configs/irn/irn_effl0_1xb16-3e_fashionpaste-160.py \
#       work_dirs/irn_effl0_1xb16-3e_fashionpaste-160/epoch_3.pth
# The test writes pseudo masks to {work_dir}/pseudo_labels and instances (COCO
# RLE json per image) to {work_dir}/pseudo_instances, and prints the masks' mIoU
# and the instances' mask AP50 / AP on the train split. Other folders: config
# variables are substituted at parse time, so override the keys that use them:
#   --cfg-options train_dataloader.dataset.data_prefix.seg_map_path=DIR \
#       test_dataloader.dataset.pipeline.2.cam_dir=DIR
# (mmwsss.pipeline.runner_stage.set_transform_args does the latter in code).
_base_ = [
    '../_base_/models/irn_effl0.py',
    '../_base_/datasets/fashionpaste_irn.py',
    '../_base_/default_runtime.py',
    '../_base_/schedules/irn_sgd_poly.py',
]
cam_dir = '{{fileDirname}}/../../work_dirs/cam_effl0_1xb16-8e_fashionpaste-160/cams'
ir_label_dir = (
    '{{fileDirname}}/../../work_dirs/cam_effl0_1xb16-8e_fashionpaste-160/ir_labels'
)

# Semantic and instance pseudo labels in one pass over the train split.
# 32 walk steps instead of 256: the benchmark's stride-4 maps (40 x 40) have 1/7
# of the pixels of a VOC map (~125 x 94), and a walk spreads over an area that
# grows with the number of steps, so 256 / 7 keeps its reach relative to the
# image. Background 0.25 (IRN's published value) for the pseudo_labels written
# here; the pipelines cut the walked scores (walk_scores) at their own
# ground-truth-free background score instead (a Labels stage with
# bg_score='auto:bg_score', see mmwsss/ops/thresholds.py).
model = dict(
    data_preprocessor=dict(size=(160, 160)),
    test_cfg=dict(steps=32, bg_score=0.25, instance=True),
)
train_dataloader = dict(
    batch_size=16, dataset=dict(data_prefix=dict(seg_map_path=ir_label_dir))
)
test_dataloader = dict(
    dataset=dict(
        pipeline=[
            dict(type='LoadImageFromFileChecked'),
            dict(type='LoadOptionalAnnotations'),
            dict(type='LoadCAMs', cam_dir=cam_dir),
            dict(type='PackWSSSInputs', require_labels=False),
        ]
    )
)
test_cfg = dict(
    exporter=dict(
        _delete_=True,
        type='CompositeExporter',
        exporters=[
            dict(type='LabelPNGExporter', out_dir='{work_dir}/pseudo_labels'),
            dict(type='InstanceExporter', out_dir='{work_dir}/pseudo_instances'),
            dict(type='ScoreMapExporter', out_dir='{work_dir}/walk_scores'),
        ],
    )
)
test_evaluator = [
    dict(type='IoUMetric', iou_metrics=['mIoU']),
    # the walked scores over a background sweep against ground truth: the
    # oracle column of the benchmark, not a setting
    dict(
        type='SeedIoUMetric',
        cam_key='walk_scores',
        bg_scores=[i / 100 for i in range(101)],
        fixed_bg_score=0.25,
        prefix='walk',
        out_dir='{work_dir}/walk_eval',
    ),
    dict(type='InstanceAPMetric', out_dir='{work_dir}/instance_eval'),
]
env_cfg = dict(dist_cfg=dict(backend='gloo'))
randomness = dict(seed=0)
# base_batch_size = (1 GPU) x (16 images per GPU): `tools/train.py --auto-scale-lr`
auto_scale_lr = dict(enable=False, base_batch_size=16)
