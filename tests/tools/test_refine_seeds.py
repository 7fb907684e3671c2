import importlib.util
import os.path as osp
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from mmwsss.datasets.fashionpaste import generate_fashionpaste

TOOL = Path(__file__).resolve().parents[2] / 'tools' / 'refine_seeds.py'


@pytest.fixture(scope='module')
def tool():
    spec = importlib.util.spec_from_file_location('refine_seeds_tool', TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_cli_writes_scores_and_resumes(tool, tmp_path, capsys):
    data_root = str(tmp_path / 'data')
    generate_fashionpaste(
        data_root, size='tiny', seed=0, source='subset', progress=False
    )
    assert tool.dataset_num_classes(data_root) == 11
    ids = tool.read_split(data_root, 'val')
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
    argv = ['ir', '--cam-dir', str(cam_dir), '--data-root', data_root, '--split', 'val']
    argv += ['--workers', '1', '--score', '--label-options', 'fg_thr=0.5']
    result = tool.main(argv)
    assert result['out_dir'] == str(tmp_path / 'ir_labels')
    assert result['written'] == len(ids) and result['reused'] == 0
    assert result['score']['precision'] > 90
    assert 'mIoU' in capsys.readouterr().out
    again = tool.main(argv)
    assert again['written'] == 0 and again['reused'] == len(ids)
    with pytest.raises(SystemExit):
        tool.parse_args(['walk', '--cam-dir', 'x', '--data-root', 'y'])
