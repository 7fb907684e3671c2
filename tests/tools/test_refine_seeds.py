import importlib.util
import os
import os.path as osp
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from mmwsss.datasets import split_ids
from mmwsss.utils.map_file import load_map_file
from mmwsss.utils.provenance import PROVENANCE

TOOL = Path(__file__).resolve().parents[2] / 'tools' / 'refine_seeds.py'


@pytest.fixture(scope='module')
def tool():
    spec = importlib.util.spec_from_file_location('refine_seeds_tool', TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _fabricate_cams(data_root, tmp_path):
    """CAMs equal to the GT masks of the val split of the tiny set at
    ``data_root`` (the session's, read-only: outputs go under ``tmp_path``)."""
    ids = split_ids(data_root, 'val')
    cam_dir = tmp_path / 'cams'
    cam_dir.mkdir()
    for image_id in ids:
        gt = np.asarray(
            Image.open(osp.join(data_root, 'SegmentationClass', f'{image_id}.png'))
        )
        keys = np.array([c for c in np.unique(gt) if 0 < c < 255], np.int16)
        cams = np.stack([(gt == k).astype(np.float32) for k in keys])
        np.savez(
            cam_dir / f'{image_id}.npz', keys=keys, cam=cams[:, ::4, ::4], high_res=cams
        )
    return data_root, ids, cam_dir


def test_cli_writes_scores_and_resumes(tool, tiny_fashionpaste, tmp_path, capsys):
    data_root, ids, cam_dir = _fabricate_cams(tiny_fashionpaste, tmp_path)
    assert tool.dataset_num_classes(data_root) == 11
    argv = ['ir', '--cam-dir', str(cam_dir), '--data-root', data_root, '--split', 'val']
    argv += ['--workers', '1', '--score', '--label-options', 'fg_thr=0.5']
    result = tool.main(argv)
    assert result['out_dir'] == str(tmp_path / 'ir_labels')
    assert result['written'] == len(ids) and result['reused'] == 0
    assert result['score']['precision'] > 90
    assert 'mIoU' in capsys.readouterr().out
    again = tool.main(argv)
    assert again['written'] == 0 and again['reused'] == len(ids)
    assert again['provenance'] == result['provenance']
    assert 'moved aside' not in capsys.readouterr().out
    # other options: the old labels are moved aside, and the printout says so
    other = tool.main([*argv[:-1], 'fg_thr=0.4'])
    assert other['written'] == len(ids) and other['reused'] == 0
    assert osp.isdir(other['moved_to'])
    assert f'moved aside to {other["moved_to"]}' in capsys.readouterr().out
    with pytest.raises(SystemExit):
        tool.parse_args(['walk', '--cam-dir', 'x', '--data-root', 'y'])


# Dies by SIGKILL just before the third finished label file is renamed into
# place: two complete PNGs and one partial file are left behind.
KILLED_RUN = """
import os, signal, sys
import mmwsss.engine.exporters as exporters
real_replace, done = os.replace, []
def replace(src, dst):
    if dst.endswith('.png'):
        done.append(dst)
        if len(done) == 3:
            os.kill(os.getpid(), signal.SIGKILL)
    real_replace(src, dst)
exporters.os.replace = replace
sys.argv = ['refine_seeds.py'] + sys.argv[1:]
exec(compile(open({tool!r}).read(), {tool!r}, 'exec'), {{'__name__': '__main__'}})
"""


def test_killed_run_resumes_without_truncated_files(tool, tiny_fashionpaste, tmp_path):
    data_root, ids, cam_dir = _fabricate_cams(tiny_fashionpaste, tmp_path)
    out_dir = tmp_path / 'labels'
    argv = ['crf', '--cam-dir', str(cam_dir), '--data-root', data_root]
    argv += ['--split', 'val', '--workers', '1', '--out-dir', str(out_dir)]
    proc = subprocess.run(
        [sys.executable, '-c', KILLED_RUN.format(tool=str(TOOL)), *argv],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == -9, proc.stderr[-2000:]
    left = sorted(os.listdir(out_dir))
    assert len([f for f in left if f.endswith('.png')]) == 2
    assert len([f for f in left if f.endswith('.part')]) == 1

    result = tool.main(argv)
    assert result['reused'] == 2 and result['written'] == len(ids) - 2
    assert sorted(os.listdir(out_dir)) == sorted(
        [PROVENANCE, *(f'{i}.png' for i in ids)]
    )
    clean = tmp_path / 'clean'
    tool.main([*argv[:-1], str(clean)])
    for image_id in ids:
        with Image.open(out_dir / f'{image_id}.png') as resumed:
            with Image.open(clean / f'{image_id}.png') as fresh:
                assert np.array_equal(np.asarray(resumed), np.asarray(fresh))


def test_auto_threshold_from_the_cams(tool, tiny_fashionpaste, tmp_path, capsys):
    data_root, ids, cam_dir = _fabricate_cams(tiny_fashionpaste, tmp_path)
    rng = np.random.default_rng(0)
    for image_id in ids:  # soften the maps: objects ~0.8, background ~0.1
        path = cam_dir / f'{image_id}.npz'
        keys, maps = load_map_file(path, ('high_res',))
        cams = maps['high_res']
        soft = 0.1 + 0.7 * cams + 0.05 * rng.random(cams.shape, dtype=np.float32)
        soft = soft / soft.max(axis=(1, 2), keepdims=True)
        np.savez(path, keys=keys, cam=soft[:, ::4, ::4], high_res=soft)
    argv = ['cam', '--cam-dir', str(cam_dir), '--data-root', data_root]
    argv += ['--split', 'val', '--workers', '1', '--score']
    result = tool.main([*argv, '--label-options', 'bg_score=auto'])
    bg = result['label_options']['bg_score']
    assert 0.1 < bg < 0.8  # between the two modes, chosen from the maps alone
    assert (
        'ground-truth-free thresholds from the CAMs: bg_score='
        in capsys.readouterr().out
    )
    assert result['score']['mIoU'] == pytest.approx(100.0)
    with pytest.raises(KeyError, match='no ground-truth-free rule'):
        tool.main([*argv, '--label-options', 'crf_preset=auto'])
