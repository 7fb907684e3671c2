"""ExportTestLoop reuses an export only for the same config and weights."""

import json
import shutil

import numpy as np
from PIL import Image
from toy_export import CONFIG, ToyExportMetric, save_weight_checkpoint

from mmwsss.utils.provenance import PROVENANCE


def _pngs(folder):
    """``{name: (label values, mtime)}`` of the PNGs in ``folder``."""
    return {
        p.name: (np.unique(np.array(Image.open(p))).tolist(), p.stat().st_mtime_ns)
        for p in sorted(folder.glob('*.png'))
    }


def test_test_tool_exports_afresh_for_other_weights(tmp_path, import_tool):
    test = import_tool('test')
    config = tmp_path / 'toy_export.py'
    config.write_text(CONFIG)
    one = save_weight_checkpoint(str(tmp_path / 'one.pth'), 1.0)
    two = save_weight_checkpoint(str(tmp_path / 'two.pth'), 2.0)
    work = tmp_path / 'work'
    preds = work / 'preds'

    def run(checkpoint, name):
        # distinct experiment names: runs within one second would share
        # mmengine's named logger otherwise (the name is no part of the digest)
        argv = [str(config), checkpoint, '--work-dir', str(work)]
        test.main([*argv, '--cfg-options', f'experiment_name={name}'])
        return ToyExportMetric.last['mean_label'], _pngs(preds)

    metric, first = run(one, 'a')
    assert metric == 1 and len(first) == 4
    assert all(values == [1] for values, _ in first.values())
    record = json.loads((preds / PROVENANCE).read_text())
    assert record['info']['checkpoint']['path'] == one

    # another checkpoint in the same work dir: every file afresh, old ones kept
    metric, second = run(two, 'b')
    assert metric == 2 and sorted(second) == sorted(first)
    assert all(values == [2] for values, _ in second.values())
    (old,) = work.glob('preds.old-*')
    assert _pngs(old) == first

    # the same weights (here a copy of the file): every file reused
    shutil.copy(two, tmp_path / 'copy.pth')
    metric, third = run(str(tmp_path / 'copy.pth'), 'c')
    assert metric == 2 and third == second
    assert len(list(work.glob('preds.old-*'))) == 1


def test_the_record_names_the_folders_the_test_pipeline_reads(tmp_path):
    from mmengine.config import Config

    from mmwsss.engine.loops import _pipeline_inputs
    from mmwsss.utils.provenance import write_provenance

    cams = tmp_path / 'cams'
    cams.mkdir()
    pipeline = [dict(type='LoadCAMs', cam_dir=str(cams)), dict(type='Pack')]
    wrapped = dict(type='Wrapper', dataset=dict(pipeline=pipeline))
    cfg = Config(dict(test_dataloader=dict(dataset=wrapped)))
    listed = _pipeline_inputs(cfg)
    assert list(listed) == ['LoadCAMs.cam_dir']
    record = write_provenance(str(cams), dict(kind='export', weights='w'))
    assert _pipeline_inputs(cfg) == {'LoadCAMs.cam_dir': record['digest']}
    assert _pipeline_inputs(Config(dict())) == {}
