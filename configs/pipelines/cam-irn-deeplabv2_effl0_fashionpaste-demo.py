# The demo pipeline (README's main command): on the demo-size FashionPaste
# benchmark, CAM seeds -> IR labels -> IRN pseudo masks -> DeepLabV2 trained on
# them; about 10 minutes on 2 CPU cores.
#   python tools/run_pipeline.py configs/pipelines/cam-irn-deeplabv2_effl0_fashionpaste-demo.py
# Each stage is an ordinary config; the IR-label thresholds are the benchmark's
# (see tools/benchmark.py: its CAMs are calibrated differently from VOC's).
data_root = 'data/fashionpaste_demo'
work_dir = 'work_dirs/pipeline_demo'
stages = [
    dict(name='data', type='FashionPaste', size='demo', seed=0),
    dict(
        name='cam',
        type='TrainTest',
        config='{{fileDirname}}/../cam/cam_effl0_1xb16-8e_fashionpaste-160.py',
        validate=True,
    ),
    dict(
        name='ir_labels',
        type='Labels',
        kind='ir',
        cams='cam',
        label_options=dict(fg_thr=0.5, bg_thr=0.15),
    ),
    dict(
        name='irn',
        type='TrainTest',
        config='{{fileDirname}}/../irn/irn_effl0_1xb16-3e_fashionpaste-160.py',
        cams='cam',
        train_labels='ir_labels',
    ),
    dict(
        name='deeplabv2',
        type='TrainTest',
        config='{{fileDirname}}/../deeplabv2/deeplabv2_effl0-d16_1xb16-4e_fashionpaste-160.py',
        train_labels='irn',
    ),
]
report = dict(num_samples=4, split='train')
