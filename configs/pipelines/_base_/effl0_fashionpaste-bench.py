# What the three bench pipelines share (cam-irn-deeplabv2_, instances_ and
# seeds_effl0_fashionpaste-bench.py): one data root, one work dir and so the
# stages they have in common. A stage of the same name must have the same
# settings in each pipeline, else a run of one would redo the others' stage; so
# each shared stage is defined once, here, and a pipeline takes the ones it
# needs from `_base_.bench_stages` (mmengine runs a config with its bases'
# variables under `_base_`).
data_root = 'data/fashionpaste2_bench'
work_dir = 'work_dirs/pipeline_bench2'
# the configs folder as the pipelines (one folder up) spell it, so that a
# config= path reads the same in every stage (mmengine writes the folder with
# '/'; no import here: an imported module would make this a lazy-import config)
cfg_dir = '{{fileDirname}}'.rpartition('/')[0] + '/..'
cam_config = cfg_dir + '/cam/cam_effl0_1xb16-8e_fashionpaste2-320.py'
irn_config = cfg_dir + '/irn/irn_effl0_1xb16-3e_fashionpaste2-320.py'
deeplab_config = (
    cfg_dir + '/deeplabv2/deeplabv2_effl0-d16_1xb8-2000it_fashionpaste2-320.py'
)

bench_stages = dict(
    data=dict(name='data', type='FashionPaste', size='bench-v2', seed=0, source='auto'),
    # a CAM classifier left near the label prior (val mAP under 40% of the way
    # from chance to 100) stops the pipeline instead of feeding every stage
    cam=dict(
        name='cam',
        type='TrainTest',
        config=cam_config,
        validate=True,
        min_learned=0.4,
    ),
    thresholds=dict(name='thresholds', type='Thresholds', cams='cam'),
    cam_labels=dict(
        name='cam_labels',
        type='Labels',
        kind='cam',
        cams='cam',
        thresholds='thresholds',
        label_options=dict(bg_score='auto:bg_score'),
    ),
    ir_labels=dict(
        name='ir_labels',
        type='Labels',
        kind='ir',
        cams='cam',
        thresholds='thresholds',
        label_options=dict(fg_thr='auto:fg_thr', bg_thr='auto:bg_thr'),
    ),
    irn=dict(
        name='irn',
        type='TrainTest',
        config=irn_config,
        cams='cam',
        train_labels='ir_labels',
    ),
)
report = dict(num_samples=4, split='train')
# the main chain, whose spread over generator + training seeds BENCHMARKS.md
# shows (the semantic pipeline's `spread`)
spread_stages = [
    'data',
    'cam',
    'thresholds',
    'cam_labels',
    'crf_labels',
    'ir_labels',
    'irn',
    'irn_labels',
    'deeplabv2_gt',
    'deeplabv2_irn',
]
