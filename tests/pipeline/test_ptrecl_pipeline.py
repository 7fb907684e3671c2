"""PtReCl in a pipeline: IRN masks -> recovery net -> prototypes ->
reclassification -> IRN's walk again (Predict) -> pseudo masks, tiny data."""

import glob
import os.path as osp

import pytest
import torch
from PIL import Image
from test_stage_runner import CONFIGS, _loader_options, tiny_pipeline

import mmwsss  # noqa: F401
from mmwsss.engine import load_prototypes
from mmwsss.pipeline import run_pipeline
from mmwsss.utils.map_file import load_map_file

PTRECL = f'{CONFIGS}/ptrecl'
RECOVERY = f'{PTRECL}/ptrecl-recovery_effl0-d16_1xb8-1000it_fashionpaste-160.py'
PROTOTYPES = f'{PTRECL}/ptrecl-prototypes_effl0-d16_fashionpaste-160.py'
RECLASSIFY = f'{PTRECL}/ptrecl-reclassify_effl0-d16_top10_fashionpaste-160.py'
IRN = f'{CONFIGS}/irn/irn_effl0_1xb16-3e_fashionpaste-160.py'


def ptrecl_pipeline(data_root, work_dir):
    cfg = tiny_pipeline(data_root, work_dir)
    stages = {s['name']: s for s in cfg.stages}
    recovery = {
        **_loader_options(),
        'train_cfg.max_iters': 3,
        'train_cfg.val_interval': 3,
        'param_scheduler.0.end': 1,
        'param_scheduler.1.begin': 1,
        'param_scheduler.1.end': 3,
        'default_hooks.checkpoint.interval': 3,
        'model.data_preprocessor.size': (64, 64),
        'train_dataloader.batch_size': 4,
        'train_dataloader.dataset.dataset.pipeline.3.scale': (64, 64),
        'train_dataloader.dataset.dataset.pipeline.4.crop_size': (64, 64),
    }
    prototypes = {
        **_loader_options(('test_dataloader',)),
        'test_cfg.num_prototypes': 2,
        'test_cfg.capacity': 64,
    }
    cfg.stages = [
        *cfg.stages[:6],  # data, cam, thresholds, ir_labels, irn, irn_labels
        dict(
            name='recovery',
            type='TrainTest',
            config=RECOVERY,
            train_labels='irn_labels',
            init_from='cam',
            cfg_options=recovery,
        ),
        dict(
            name='prototypes',
            type='Predict',
            config=PROTOTYPES,
            checkpoint='recovery',
            test_labels='recovery.recovered_labels',
            cfg_options=prototypes,
        ),
        dict(
            name='reclassify',
            type='Predict',
            config=RECLASSIFY,
            checkpoint='recovery',
            prototypes='prototypes',
            cfg_options={**_loader_options(('test_dataloader',)), 'model.top_m': 3},
        ),
        # the level-3 variant (112-d linear features)
        dict(
            name='prototypes_l3',
            type='Predict',
            config=PROTOTYPES,
            checkpoint='recovery',
            test_labels='recovery.recovered_labels',
            cfg_options={**prototypes, 'model.backbone.out_indices': (3,)},
        ),
        dict(
            name='reclassify_l3',
            type='Predict',
            config=RECLASSIFY,
            checkpoint='recovery',
            prototypes='prototypes_l3',
            cfg_options={
                **_loader_options(('test_dataloader',)),
                'model.top_m': 3,
                'model.backbone.out_indices': (3,),
            },
        ),
        dict(
            name='irn_ptrecl',
            type='Predict',
            config=IRN,
            checkpoint='irn',
            cams='reclassify',
            cfg_options=stages['irn']['cfg_options'],
        ),
        dict(
            name='ptrecl_labels',
            type='Labels',
            kind='cam',
            cams='irn_ptrecl.walk_scores',
            workers=1,
            label_options=dict(bg_score='auto:bg_score'),
        ),
    ]
    cfg.report = dict(num_samples=0)
    return cfg


@pytest.mark.slow
def test_ptrecl_stages_chain_through_named_outputs(shared_pipeline):
    cfg = ptrecl_pipeline(*shared_pipeline)
    results = run_pipeline(cfg)
    ids = open(osp.join(cfg.data_root, 'ImageSets/Segmentation/train.txt')).read()
    ids = ids.split()
    # the recovery net scores its own masks on train
    assert results['recovery']['scored_on'] == 'train'
    recovered = results['recovery']['outputs']['recovered_labels']
    assert len(glob.glob(osp.join(recovered, '*.png'))) == len(ids)
    # the prototypes: K = 2 per class and side, 1280-d unit vectors
    folder = results['prototypes']['outputs']['prototypes']
    protos = load_prototypes(folder)
    assert protos['fg'].shape == (11, 2, 1280)
    assert protos['fg_counts'][0] == 0  # background has none
    present = protos['fg_counts'] > 0
    assert present.any()
    norms = protos['fg'][present].norm(dim=-1)
    torch.testing.assert_close(norms, torch.ones_like(norms))
    assert (
        results['prototypes']['options']['test_dataloader.dataset.pseudo_dir']
        == results['recovery']['outputs']['recovered_labels']
    )
    # the level-3 variant: 112-d prototypes of linear (dense) features, where
    # the head conv's ReLU6 features hold exact zeros
    assert load_prototypes(results['prototypes_l3']['outputs']['prototypes'])[
        'fg'
    ].shape == (11, 2, 112)
    sparsity = {
        name: results[name]['metrics']['prototypes/feature_zero_fraction']
        for name in ('prototypes', 'prototypes_l3')
    }
    assert 0 <= sparsity['prototypes_l3'] < sparsity['prototypes'] <= 1, sparsity
    keys, _ = load_map_file(
        osp.join(results['reclassify_l3']['outputs']['reclass_maps'], ids[0] + '.npz')
    )
    assert keys.tolist() == _image_labels(cfg.data_root)[ids[0]]
    # reclassification maps in the CAM seed format, keyed by the image labels
    maps = results['reclassify']['outputs']['reclass_maps']
    assert results['reclassify']['options']['model.prototypes'] == folder
    labels = _image_labels(cfg.data_root)
    for image_id in ids:
        keys, cam = load_map_file(osp.join(maps, image_id + '.npz'))
        assert keys.tolist() == labels[image_id]
        size = Image.open(osp.join(cfg.data_root, 'JPEGImages', image_id + '.jpg'))
        h, w = size.height, size.width
        assert cam['high_res'].shape == (len(labels[image_id]), h, w)
        assert cam['cam'].shape[1:] == (-(-h // 4), -(-w // 4))  # IRN's stride
        assert cam['high_res'].min() >= 0 and cam['high_res'].max() <= 1
    # IRN's walk ran on them (its own checkpoint), and the masks were cut
    assert results['irn_ptrecl']['checkpoint'] == results['irn']['checkpoint']
    assert results['ptrecl_labels']['written'] == len(ids)
    # a rerun reuses every finished stage
    again = run_pipeline(cfg)
    for name in ('recovery', 'prototypes', 'reclassify', 'irn_ptrecl'):
        assert again[name]['digest'] == results[name]['digest']


def _image_labels(data_root):
    import json

    with open(osp.join(data_root, 'cls_labels.json')) as f:
        return {k: sorted(v) for k, v in json.load(f).items()}
