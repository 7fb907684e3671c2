# Mask R-CNN (mmdet) on WISE's pseudo instances of the embedded FashionPaste
# benchmark: the bench Mask R-CNN (EfficientNet-Lite0 FPN, 1000 iterations of
# batch 8, CPU) trained on the merged COCO json of the instance bench pipeline's
# WISE stage (PRM peaks and peak response maps, each retrieving a selective-search
# proposal), evaluated by mmdet's CocoMetric and the VOC-style mask AP on the
# generator's val ground-truth instances.
#   python tools/run_pipeline.py configs/pipelines/instances_effl0_fashionpaste-bench.py \
#       --until wise
#   python tools/train.py configs/wise/mask-rcnn_effl0_fpn_1xb8-1000it_fashionpaste-160_wise.py
# Another pseudo-label json (another work dir, another WISE run):
#   python tools/train.py configs/wise/mask-rcnn_effl0_fpn_1xb8-1000it_fashionpaste-160_wise.py \
#       --cfg-options train_dataloader.dataset.ann_file=PATH
_base_ = ['../mask_rcnn/mask-rcnn_effl0_fpn_1xb8-1000it_fashionpaste-160.py']
data_root = 'data/fashionpaste_bench/'
# The pseudo instances to train on: the WISE stage's merged COCO json
# ({work_dir}/wise/pseudo_instances_coco.json of the pipeline above). A missing
# file fails at dataset build, saying how to make it and how to pass another.
pseudo_ann_file = (
    '{{fileDirname}}/../../work_dirs/pipeline_bench/wise/pseudo_instances_coco.json'
)
train_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='RequiredAnnFile',
        _scope_='mmwsss',
        ann_file=pseudo_ann_file,
        hint="It is the WISE stage's output: run `python tools/run_pipeline.py "
        'configs/pipelines/instances_effl0_fashionpaste-bench.py --until wise`, or '
        'pass another pseudo-label COCO json with `--cfg-options '
        'train_dataloader.dataset.ann_file=PATH`.',
        dataset=dict(
            _base_.train_dataloader.dataset,
            data_root=data_root,
            ann_file=pseudo_ann_file,
        ),
    )
)
val_dataloader = dict(dataset=dict(data_root=data_root))
test_dataloader = val_dataloader
val_evaluator = [
    dict(m, ann_file=data_root + 'annotations/instances_val.json')
    for m in _base_.val_evaluator
]
test_evaluator = val_evaluator
