# Mask R-CNN (mmdet) on WISE's pseudo instances of the embedded FashionPaste
# benchmark: the bench Mask R-CNN (EfficientNet-Lite0 FPN, 1000 iterations of
# batch 8, CPU) trained on the merged COCO json of the instance bench pipeline's
# WISE stage (PRM peaks matched to selective-search proposals), evaluated by
# mmdet's CocoMetric on the generator's val ground-truth instances.
#   python tools/run_pipeline.py configs/pipelines/instances_effl0_fashionpaste-bench.py \
#       --until wise
#   python tools/train.py configs/wise/mask-rcnn_effl0_fpn_1xb8-1000it_fashionpaste-160_wise.py
_base_ = ['../mask_rcnn/mask-rcnn_effl0_fpn_1xb8-1000it_fashionpaste-160.py']
data_root = 'data/fashionpaste_bench/'
wise_instances = (
    '{{fileDirname}}/../../work_dirs/pipeline_bench/wise/pseudo_instances_coco.json'
)
train_dataloader = dict(dataset=dict(data_root=data_root, ann_file=wise_instances))
val_dataloader = dict(dataset=dict(data_root=data_root))
test_dataloader = val_dataloader
val_evaluator = dict(ann_file=data_root + 'annotations/instances_val.json')
test_evaluator = val_evaluator
