# IRNet on COCO 2014 with IRN's recipe (Ahn, Cho & Kwak, CVPR 2019) as the COCO
# runs of IRN's code set it (ReCAM, Chen et al., CVPR 2022; its run_sample_coco
# and step_coco/train_irn, make_sem_seg_labels): frozen torchvision ResNet-50 at
# output stride 16 tapped at five levels, IR labels of train2014, rescale 0.5-1.5,
# flip, crop 512, batch 32, 3 epochs, SGD lr 0.1 (displacement branch x10),
# weight decay 1e-4, momentum 1e-4 (IRN's optimizer quirk), poly 0.9.
# docs/reproduction/coco_recipe.md lists each setting against the reference's.
# Test: semantic pseudo masks of train2014 (walk radius 5, beta 10, 256 steps,
# background 0.25, the reference's sem_seg_bg_thres) written to
# {work_dir}/pseudo_labels and scored on the converter's masks (81 classes).
#   python tools/train.py configs/irn/irn_r50_1xb32-3e_coco14-512.py
#   python tools/test.py configs/irn/irn_r50_1xb32-3e_coco14-512.py \
#       work_dirs/irn_r50_1xb32-3e_coco14-512/epoch_3.pth
# Other folders: config variables are substituted at parse time, so override the
# keys that use them, e.g.
#   --cfg-options train_dataloader.dataset.data_prefix.seg_map_path=DIR \
#       test_dataloader.dataset.pipeline.2.cam_dir=DIR
_base_ = [
    '../_base_/models/irn_r50.py',
    '../_base_/datasets/coco14_irn.py',
    '../_base_/default_runtime.py',
    '../_base_/schedules/irn_sgd_poly.py',
]
cam_dir = '{{fileDirname}}/../../work_dirs/cam_r50_1xb16-5e_coco14-512/cams'
ir_label_dir = '{{fileDirname}}/../../work_dirs/cam_r50_1xb16-5e_coco14-512/ir_labels'

model = dict(data_preprocessor=dict(size=(512, 512)))
train_dataloader = dict(
    batch_size=32, dataset=dict(data_prefix=dict(seg_map_path=ir_label_dir))
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
# The walked scores too, so that a pipeline can cut them at a ground-truth-free
# background score (the Labels stage on 'irn.walk_scores')
test_cfg = dict(
    exporter=dict(
        _delete_=True,
        type='CompositeExporter',
        exporters=[
            dict(type='LabelPNGExporter', out_dir='{work_dir}/pseudo_labels'),
            dict(type='ScoreMapExporter', out_dir='{work_dir}/walk_scores'),
        ],
    )
)
# base_batch_size = (1 GPU) x (32 images per GPU): `tools/train.py --auto-scale-lr`
auto_scale_lr = dict(enable=False, base_batch_size=32)
