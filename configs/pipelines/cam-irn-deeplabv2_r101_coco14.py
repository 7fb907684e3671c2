# IRN's pipeline on COCO 2014 (80 classes + background) with the settings of the
# COCO runs of IRN's code (ReCAM, Chen et al., CVPR 2022; IRN itself, Ahn et al.
# 2019, reports no COCO numbers): CAM (ResNet-50) seeds for train2014 -> IR labels
# (+ CRF) -> IRN (ResNet-50) pseudo masks for train2014 -> DeepLabV2-ResNet101 on
# them, validated on val2014. Every threshold here is ground-truth-free; the
# _published twin uses the reference's values. Prepare COCO 2014 first (README:
# tools/dataset_converters/coco_wsss.py for train2014 and val2014, which also
# writes the image lists the label stages read); needs a GPU.
#   python tools/run_pipeline.py configs/pipelines/cam-irn-deeplabv2_r101_coco14.py
# Seeds, IR labels and pseudo masks are scored on the train2014 images with an
# object (the converter's masks); the final net on val2014.
data_root = 'data/coco'
work_dir = 'work_dirs/pipeline_coco14'
#: where the label stages find the images, their ids and the masks they are
#: scored on (ImageSets/Segmentation/train2014.txt, written by coco_wsss.py)
train2014 = dict(
    split='train2014', img_dir='train2014', gt_dir='wsss/train2014/SegmentationClass'
)
stages = [
    # the CAM and IRN configs export and score train2014 already
    dict(
        name='cam',
        type='TrainTest',
        config='{{fileDirname}}/../cam/cam_r50_1xb16-5e_coco14-512.py',
        validate=True,
    ),
    # ground-truth-free thresholds from the CAMs (mmwsss/ops/thresholds.py); the
    # reference's IR-label values (fg 0.30 / bg 0.05) are IRN's VOC ones, kept
    # for COCO: the _published twin sets them
    dict(name='thresholds', type='Thresholds', cams='cam', split='train2014'),
    dict(
        name='ir_labels',
        type='Labels',
        kind='ir',
        cams='cam',
        thresholds='thresholds',
        label_options=dict(fg_thr='auto:fg_thr', bg_thr='auto:bg_thr'),
        **train2014,
    ),
    dict(
        name='irn',
        type='TrainTest',
        config='{{fileDirname}}/../irn/irn_r50_1xb32-3e_coco14-512.py',
        cams='cam',
        train_labels='ir_labels',
    ),
    # IRN's walked scores cut at their own ground-truth-free background score
    # (the reference's 0.25 is the irn stage's own pseudo_labels output)
    dict(
        name='irn_labels',
        type='Labels',
        kind='cam',
        cams='irn.walk_scores',
        label_options=dict(bg_score='auto:bg_score'),
        **train2014,
    ),
    dict(
        name='deeplabv2',
        type='TrainTest',
        config='{{fileDirname}}/../deeplabv2/deeplabv2_r101-d8_1xb10-100k_coco14-321.py',
        train_labels='irn_labels',
    ),
]
# no sample grid: it reads a VOC layout (JPEGImages/, SegmentationClass/)
report = dict(num_samples=0)
