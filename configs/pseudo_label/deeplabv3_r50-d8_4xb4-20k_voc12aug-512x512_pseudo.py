# An existing mmseg experiment trained on pseudo masks: mmseg's stock DeepLabV3
# VOC train_aug config with its training masks swapped for a pseudo-label folder.
# Its train_aug is VOC train + ImageSets/Segmentation/aug.txt (SegmentationClassAug),
# both written by tools/dataset_converters/voc_aug.py.
# Only the plugin import and the train dataset change (its mask loading is the
# checked one); validation stays on VOC val ground truth. Set pseudo_dir to the folder of {image id}.png written by a
# refinement stage (IRN, PtReCl, ...); gt_fraction=0.1 would keep 10% of the
# images on their ground truth (each sample records its label_source).
_base_ = ['mmseg::deeplabv3/deeplabv3_r50-d8_4xb4-20k_voc12aug-512x512.py']
custom_imports = dict(imports=['mmwsss'], allow_failed_imports=False)
default_scope = 'mmwsss'  # mmseg's components and mmwsss's PseudoLabelDataset
pseudo_dir = 'work_dirs/irn_r50_1xb32-3e_voc12aug-512/pseudo_labels'
# the stock train pipeline with LoadAnnotationsChecked: a pseudo mask of the wrong
# size or with a value that is no VOC class (21, 255 ignore) stops with its name.
# The stock datasets build their pipelines under mmseg's scope, hence the prefix.
train_pipeline = [
    dict(type='mmwsss.LoadAnnotationsChecked', num_classes=21)
    if step.type == 'LoadAnnotations'
    else step
    for step in _base_.train_pipeline
]
train_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='PseudoLabelDataset',
        pseudo_dir=pseudo_dir,
        gt_fraction=0.0,
        dataset=dict(
            _base_.train_dataloader.dataset,
            datasets=[
                dict(stock, pipeline=train_pipeline)
                for stock in _base_.train_dataloader.dataset.datasets
            ],
        ),
    )
)
# base_batch_size = (4 GPUs) x (4 images per GPU): `tools/train.py --auto-scale-lr`
auto_scale_lr = dict(enable=False, base_batch_size=16)
