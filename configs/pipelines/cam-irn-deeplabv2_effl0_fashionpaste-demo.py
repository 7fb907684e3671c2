# The demo pipeline (README's main command): on the demo-size FashionPaste
# benchmark, CAM seeds -> ground-truth-free thresholds -> IR labels -> IRN ->
# its walked scores cut at their own ground-truth-free background score ->
# DeepLabV2 (backbone started from the CAM classifier) trained on them.
#   python tools/run_pipeline.py configs/pipelines/cam-irn-deeplabv2_effl0_fashionpaste-demo.py
# Each stage is an ordinary config; 'auto:KEY' settings come from the Thresholds
# stage (mmwsss/ops/thresholds.py: Otsu / multi-Otsu of the pooled per-pixel max
# class score of the training CAMs), never from ground truth.
data_root = 'data/fashionpaste_demo'
work_dir = 'work_dirs/pipeline_demo'
cfg_dir = '{{fileDirname}}/..'
stages = [
    dict(name='data', type='FashionPaste', size='demo', seed=0),
    dict(
        name='cam',
        type='TrainTest',
        config=cfg_dir + '/cam/cam_effl0_1xb16-8e_fashionpaste-160.py',
        validate=True,
    ),
    dict(name='thresholds', type='Thresholds', cams='cam'),
    dict(
        name='cam_labels',
        type='Labels',
        kind='cam',
        cams='cam',
        thresholds='thresholds',
        label_options=dict(bg_score='auto:bg_score'),
    ),
    dict(
        name='ir_labels',
        type='Labels',
        kind='ir',
        cams='cam',
        thresholds='thresholds',
        label_options=dict(fg_thr='auto:fg_thr', bg_thr='auto:bg_thr'),
    ),
    dict(
        name='irn',
        type='TrainTest',
        config=cfg_dir + '/irn/irn_effl0_1xb16-3e_fashionpaste-160.py',
        cams='cam',
        train_labels='ir_labels',
    ),
    dict(
        name='irn_labels',
        type='Labels',
        kind='cam',
        cams='irn.walk_scores',
        label_options=dict(bg_score='auto:bg_score'),
    ),
    dict(
        name='deeplabv2',
        type='TrainTest',
        config=cfg_dir
        + '/deeplabv2/deeplabv2_effl0-d16_1xb8-1000it_fashionpaste-160.py',
        train_labels='irn_labels',
        init_from='cam',
        # 250 iterations (10 epochs of the 200 demo images) instead of 1000
        cfg_options={
            'train_cfg.max_iters': 250,
            'param_scheduler.1.end': 250,
            'default_hooks.checkpoint.interval': 250,
        },
    ),
]
report = dict(num_samples=4, split='train')
