# On the v2 bench set (FashionPaste generator 2.0: 320 px scenes with
# distractors and textured items, objects about as many stride-16 cells
# across as on PASCAL VOC): mask-rcnn_effl0_fpn_1xb8-1000it_fashionpaste-160_wise.py
# with every image size doubled (the data preprocessor, resizes and crops), and
# this set's files: its ground truth, the v2 bench's WISE json.
#   python tools/dataset_converters/make_fashionpaste.py --size bench-v2 \
#       --out data/fashionpaste2_bench
#   python tools/train.py configs/wise/mask-rcnn_effl0_fpn_1xb8-1000it_fashionpaste2-320_wise.py
_base_ = ['./mask-rcnn_effl0_fpn_1xb8-1000it_fashionpaste-160_wise.py']
data_root = 'data/fashionpaste2_bench'
image_size = (320, 320)
_sized = dict(RandomResize='scale', RandomCrop='crop_size', Resize='scale')
pseudo_ann_file = (
    '{{fileDirname}}/../../work_dirs/pipeline_bench2/wise/pseudo_instances_coco.json'
)
train_dataloader = dict(
    dataset=dict(
        ann_file=pseudo_ann_file,
        dataset=dict(
            data_root=data_root,
            ann_file=pseudo_ann_file,
            pipeline=[
                dict(t, **{_sized[t['type']]: image_size}) if t['type'] in _sized else t
                for t in _base_.train_dataloader.dataset.dataset.pipeline
            ],
        ),
    )
)
val_dataloader = dict(
    dataset=dict(
        data_root=data_root,
        pipeline=[
            dict(t, **{_sized[t['type']]: image_size}) if t['type'] in _sized else t
            for t in _base_.val_dataloader.dataset.pipeline
        ],
    )
)
test_dataloader = dict(
    dataset=dict(
        data_root=data_root,
        pipeline=[
            dict(t, **{_sized[t['type']]: image_size}) if t['type'] in _sized else t
            for t in _base_.test_dataloader.dataset.pipeline
        ],
    )
)
val_evaluator = [
    dict(m, ann_file=data_root + '/annotations/instances_val.json')
    for m in _base_.val_evaluator
]
test_evaluator = val_evaluator
