# On the v2 bench set (FashionPaste generator 2.0: 320 px scenes with
# distractors and textured items, objects about as many stride-16 cells
# across as on PASCAL VOC): mask-rcnn_effl0_fpn_1xb8-1000it_fashionpaste-160.py
# with every image size doubled (the data preprocessor, resizes and crops),
# nothing else changed. The 160 px config's proposal and RoI counts (300
# proposals, 128 sampled RoIs, 20 detections, where mmdet's defaults are
# 1000, 512 and 100) are kept: 1 to 4 labelled items an image and a few
# distractors still leave far more proposals and positive RoIs than objects,
# at a quarter of the heads' cost on 2 cores.
#   python tools/dataset_converters/make_fashionpaste.py --size bench-v2 \
#       --out data/fashionpaste2_bench
#   python tools/train.py configs/mask_rcnn/mask-rcnn_effl0_fpn_1xb8-1000it_fashionpaste2-320.py
_base_ = ['./mask-rcnn_effl0_fpn_1xb8-1000it_fashionpaste-160.py']
data_root = 'data/fashionpaste2_bench'
image_size = (320, 320)
_sized = dict(RandomResize='scale', RandomCrop='crop_size', Resize='scale')
train_dataloader = dict(
    dataset=dict(
        data_root=data_root,
        pipeline=[
            dict(t, **{_sized[t['type']]: image_size}) if t['type'] in _sized else t
            for t in _base_.train_dataloader.dataset.pipeline
        ],
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
# the metrics read this set's ground truth (the base config's are the 160 px set's)
val_evaluator = [
    dict(m, ann_file=data_root + '/annotations/instances_val.json')
    for m in _base_.val_evaluator
]
test_evaluator = val_evaluator
