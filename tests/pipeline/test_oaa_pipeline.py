"""OAAHook in a pipeline: accumulated maps as seeds, then labels from them."""

import glob
import json
import os.path as osp

import pytest
from test_stage_runner import CONFIGS, tiny_pipeline

import mmwsss  # noqa: F401
from mmwsss.pipeline import run_pipeline
from mmwsss.utils.map_file import load_map_file

OAA = f'{CONFIGS}/oaa/oaa_effl0_1xb16-8e_fashionpaste-160.py'


@pytest.mark.slow
def test_oaa_maps_are_seeds_of_every_training_image(shared_pipeline):
    cfg = tiny_pipeline(*shared_pipeline)
    stages = {s['name']: s for s in cfg.stages}
    options = dict(stages['cam']['cfg_options'])
    options['train_cfg.max_epochs'] = 2
    options['param_scheduler.0.end'] = 2
    cfg.stages = [
        stages['data'],
        dict(name='oaa', type='TrainTest', config=OAA, cfg_options=options),
        dict(
            name='oaa_labels',
            type='Labels',
            kind='cam',
            cams='oaa.oaa_maps',
            workers=1,
            label_options=dict(bg_score='auto:bg_score'),
        ),
    ]
    cfg.report = dict(num_samples=0)
    results = run_pipeline(cfg)
    folder = results['oaa']['outputs']['oaa_maps']
    ids = open(osp.join(cfg.data_root, 'ImageSets/Segmentation/train.txt')).read()
    labels = json.load(open(osp.join(cfg.data_root, 'cls_labels.json')))
    with open(osp.join(folder, 'unseen_images.json')) as f:
        report = json.load(f)
    trained = ids.split()  # also the images without a class (empty keys)
    assert report['unseen'] == [] and report['written'] == len(trained)
    for image_id in trained:
        keys, maps = load_map_file(osp.join(folder, image_id + '.npz'))
        assert keys.tolist() == sorted(labels[image_id])
        h, w = maps['high_res'].shape[1:]
        assert maps['cam'].shape[1:] == (-(-h // 4), -(-w // 4))
        assert 0 <= maps['cam'].min() and maps['cam'].max() <= 1
    # the seeds feed the label stages as CAMs do
    assert results['oaa_labels']['written'] == len(trained)
    assert len(glob.glob(osp.join(folder, '*.npz'))) == len(trained)
