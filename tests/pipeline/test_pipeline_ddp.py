"""tools/run_pipeline.py under torchrun: 2 CPU processes (gloo) make the files of
1 process.

Training under DDP cannot give the weights of one process: each rank's
BatchNorm normalises its own half of the batch, and the gradients of the two
halves are averaged in another float order. What must be identical is what the
stages compute from given weights: so the 2-process run resumes the 1-process
run's finished trainings (CAM, IRN) with every output deleted, and must write
the same CAMs, thresholds, IR label PNGs and IRN pseudo masks, each rank its
share; a further stage trains under DDP.

IRN's walked scores (float16) are compared to within one float16 step: a
process's float results on CPU depend a little on which images it ran before
(a rank sees every other image): here 3 of the 2 x 64 x 64 values of one image
differ by 2 ** -11; one process started by torchrun gives identical ones.
"""

import glob
import json
import os
import os.path as osp
import socket
import subprocess
import sys

import numpy as np
import pytest
import torch
from test_stage_runner import tiny_pipeline

from mmwsss.engine import load_prototypes
from mmwsss.pipeline import run_pipeline

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
#: what a stage rewrites when it runs again; checkpoints and provenance stay
OUTPUTS = (
    '*.png',
    '*.npz',
    'stage.json',
    'train_test.json',
    'thresholds.json',
    'test.json',
    'prototypes.pth',
    'prototype_stats.json',
)
PROTOTYPES = osp.join(
    ROOT, 'configs/ptrecl/ptrecl-prototypes_effl0-d16_fashionpaste-160.py'
)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def _files(folder: str, pattern: str) -> dict[str, bytes]:
    paths = sorted(glob.glob(osp.join(folder, pattern)))
    return {osp.basename(p): open(p, 'rb').read() for p in paths}


def _arrays(folder: str) -> dict[str, dict[str, np.ndarray]]:
    arrays = {}
    for path in sorted(glob.glob(osp.join(folder, '*.npz'))):
        with np.load(path) as data:
            arrays[osp.basename(path)] = {k: data[k] for k in data.files}
    return arrays


def _outputs(results: dict) -> dict:
    """The files to compare: CAMs, thresholds, IR labels, IRN's two exports."""
    irn = results['irn']['outputs']
    return dict(
        cams=_arrays(results['cam']['out_dir']),
        thresholds=results['thresholds']['thresholds'],
        ir_labels=_files(results['ir_labels']['out_dir'], '*.png'),
        pseudo_labels=_files(irn['pseudo_labels'], '*.png'),
        walk_scores=_arrays(irn['walk_scores']),
    )


def _manifests(work_dir: str) -> dict[str, dict]:
    manifests = {}
    for path in glob.glob(osp.join(work_dir, '*', 'stage.json')):
        with open(path) as f:
            manifests[osp.basename(osp.dirname(path))] = json.load(f)
    return manifests


@pytest.mark.slow
@pytest.mark.skipif(torch.cuda.is_available(), reason='one GPU per process there')
def test_two_processes_write_the_files_of_one(tmp_path, monkeypatch):
    work_dir = str(tmp_path / 'work')
    cfg = tiny_pipeline(str(tmp_path / 'data'), work_dir)
    stages = {s['name']: s for s in cfg.stages}
    cfg.stages = [stages[n] for n in ('data', 'cam', 'thresholds', 'ir_labels', 'irn')]
    cfg.stages[1]['validate'] = False
    # PtReCl's prototypes of the CAM backbone's features, split by IRN's masks:
    # under DDP each rank samples its images, rank 0 merges the reservoirs
    cfg.stages.append(
        dict(
            name='prototypes',
            type='Predict',
            config=PROTOTYPES,
            checkpoint='cam',
            test_labels='irn',
            cfg_options={
                'test_dataloader.num_workers': 0,
                'test_dataloader.persistent_workers': False,
                'test_cfg.num_prototypes': 2,
                'test_cfg.capacity': 64,
            },
        )
    )

    # one process, one thread (torchrun's default), as each rank below
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        single = run_pipeline(cfg, report=False)
    finally:
        torch.set_num_threads(threads)
    expected = _outputs(single)
    ids = sorted(f'{i}.png' for i in _ids(cfg.data_root))
    assert sorted(expected['ir_labels']) == sorted(expected['pseudo_labels']) == ids

    for pattern in OUTPUTS:
        for path in glob.glob(osp.join(work_dir, '**', pattern), recursive=True):
            os.remove(path)
    # and stages trained under DDP: DeepLabV2 on the IRN pseudo masks, and
    # OAA's accumulation (each rank's images, merged by maximum)
    seg = dict(stages['deeplabv2'], name='seg', train_labels='irn')
    oaa = dict(
        name='oaa',
        type='TrainTest',
        config=osp.join(ROOT, 'configs/oaa/oaa_effl0_1xb16-8e_fashionpaste-160.py'),
        cfg_options=dict(stages['cam']['cfg_options']),
    )
    cfg.stages = [*cfg.stages, seg, oaa]
    config = str(tmp_path / 'pipeline.py')
    cfg.dump(config)
    command = [
        sys.executable,
        '-m',
        'torch.distributed.run',
        '--nproc_per_node',
        '2',
        '--master_port',
        str(_free_port()),
        osp.join(ROOT, 'tools/run_pipeline.py'),
        config,
        '--launcher',
        'pytorch',
        '--no-report',
    ]
    env = dict(os.environ, OMP_NUM_THREADS='1')
    proc = subprocess.run(
        command, env=env, cwd=ROOT, capture_output=True, text=True, timeout=900
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert proc.stdout.count('| seg |') == 1  # rank 0 prints the table

    manifests = _manifests(work_dir)
    assert all(m['finished'] for m in manifests.values())
    assert set(manifests) == {
        'data',
        'cam',
        'thresholds',
        'ir_labels',
        'irn',
        'prototypes',
        'seg',
        'oaa',
    }
    got = _outputs(manifests)
    assert got['thresholds'] == expected['thresholds']
    assert got['ir_labels'] == expected['ir_labels']  # byte for byte
    assert got['pseudo_labels'] == expected['pseudo_labels']
    for name, atol in (('cams', 0), ('walk_scores', 2**-10)):
        assert sorted(got[name]) == sorted(expected[name])
        for file_name, arrays in expected[name].items():
            for key, value in arrays.items():
                np.testing.assert_allclose(
                    got[name][file_name][key], value, rtol=0, atol=atol
                )
    # counts summed over the ranks; scores of the same files
    assert manifests['ir_labels']['written'] == len(ids)
    assert manifests['ir_labels']['reused'] == 0
    for name in ('ir_labels', 'irn'):
        assert manifests[name]['metrics'] == single[name]['metrics']
    assert manifests['cam']['world_size'] == manifests['seg']['world_size'] == 2
    # OAA under DDP: every image's maps, from whichever rank trained on it
    oaa_dir = manifests['oaa']['outputs']['oaa_maps']
    with open(osp.join(oaa_dir, 'unseen_images.json')) as f:
        report = json.load(f)
    assert report['unseen'] == [] and report['written'] == len(ids)
    assert sorted(_arrays(oaa_dir)) == sorted(i.replace('.png', '.npz') for i in ids)
    # the prototypes: every image's pixels counted once over the two ranks
    # (the samples, drawn per rank, differ from one process's)
    one = load_prototypes(single['prototypes']['outputs']['prototypes'])
    two = load_prototypes(manifests['prototypes']['outputs']['prototypes'])
    for key in ('fg_pixels', 'bg_pixels', 'fg_counts', 'bg_counts'):
        assert two[key].tolist() == one[key].tolist(), key
    assert two['fg'].shape == one['fg'].shape
    # the segmentor trained with DDP on two processes (rank 0's log)
    (log,) = glob.glob(osp.join(work_dir, 'seg', '*', '*.log'))
    text = open(log).read()
    assert 'Distributed training: True' in text and 'GPU number: 2' in text
    assert osp.isfile(manifests['seg']['checkpoint'])


def _ids(data_root: str) -> list[str]:
    with open(osp.join(data_root, 'ImageSets/Segmentation/train.txt')) as f:
        return f.read().split()


# each rank of a gloo group scores its share of a label folder
SCORE_RUN = """
import json, sys
import torch.distributed as dist
from mmwsss.evaluation import score_label_dir
dist.init_process_group('gloo')
pred, gt, out, ids = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4].split(',')
found = score_label_dir(pred, gt, ids, 4, shard=True)
try:  # the 6th id has no PNG: rank 1 fails, rank 0 must not wait forever
    score_label_dir(pred, gt, ids + ['missing'], 4, shard=True)
    error = None
except Exception as caught:
    error = type(caught).__name__
with open(f'{out}/rank{dist.get_rank()}.json', 'w') as f:
    json.dump(dict(score=found, error=error), f)
dist.destroy_process_group()
"""


@pytest.mark.skipif(torch.cuda.is_available(), reason='one GPU per process there')
def test_sharded_label_score_equals_one_process(tmp_path):
    from PIL import Image

    from mmwsss.evaluation import score_label_dir

    gen = np.random.default_rng(0)
    pred_dir, gt_dir = tmp_path / 'pred', tmp_path / 'gt'
    pred_dir.mkdir()
    gt_dir.mkdir()
    ids = [f'img{i}' for i in range(5)]
    for image_id in ids:
        gt = np.repeat(gen.integers(0, 4, (4, 5)), 6, axis=0).repeat(5, axis=1)
        pred = np.where(gen.random(gt.shape) < 0.8, gt, gen.integers(0, 4, gt.shape))
        pred[gen.random(gt.shape) < 0.1] = 255
        gt[gen.random(gt.shape) < 0.05] = 255
        Image.fromarray(pred.astype(np.uint8)).save(pred_dir / f'{image_id}.png')
        Image.fromarray(gt.astype(np.uint8)).save(gt_dir / f'{image_id}.png')
    single = score_label_dir(str(pred_dir), str(gt_dir), ids, 4)
    # without a process group, sharding changes nothing
    np.testing.assert_equal(
        score_label_dir(str(pred_dir), str(gt_dir), ids, 4, shard=True), single
    )
    script = tmp_path / 'score_run.py'
    script.write_text(SCORE_RUN)
    command = [sys.executable, '-m', 'torch.distributed.run', '--nproc_per_node', '2']
    command += ['--master_port', str(_free_port()), str(script)]
    command += [str(pred_dir), str(gt_dir), str(tmp_path), ','.join(ids)]
    proc = subprocess.run(
        command,
        cwd=ROOT,
        env=dict(os.environ, OMP_NUM_THREADS='1'),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    for rank, error in ((0, 'RuntimeError'), (1, 'FileNotFoundError')):
        with open(tmp_path / f'rank{rank}.json') as f:
            found = json.load(f)
        np.testing.assert_equal(found['score'], single)  # every rank, exactly
        assert found['error'] == error
