"""tools/analysis_tools/export_size.py: real files of both formats, their sizes
and the seed mIoU of each, on the session's tiny CAM classifier."""

import json

import pytest


@pytest.mark.slow
def test_sizes_and_seeds_of_both_formats(import_tool, tiny_cam, tmp_path):
    tool = import_tool('analysis_tools/export_size')
    out = tmp_path / 'export_size.json'
    argv = [tiny_cam.config, tiny_cam.checkpoint, '--data-root', tiny_cam.data_root]
    argv += ['--work-dir', str(tmp_path / 'work'), '--out', str(out)]
    argv += ['--sizes', 'bench', 'voc', '--num-images', '2']
    results = tool.main(argv)
    assert json.loads(out.read_text()) == results
    bench, voc = results['sizes']['bench'], results['sizes']['voc']
    assert bench['image_size'] == [64, 64] and bench['images'] == 8
    assert voc['image_size'] == [500, 375] and voc['images'] == 2
    for row in (bench, voc):
        old, new = row['float32'], row['compact']
        # float32 files: 4 bytes per value of both resolutions, and a header
        values = row['image_size'][0] * row['image_size'][1] * (1 + 1 / 16)
        assert old['bytes_per_map'] == pytest.approx(4 * values, rel=0.01)
        assert new['mean_bytes'] < old['mean_bytes'] / 4
        assert row['ratio'] > 4
        # the same seeds within rounding (the tiny classifier's maps are flat:
        # a bound, not an equality)
        for key in ('mIoU_fixed', 'mIoU_best'):
            assert abs(new['seeds'][key] - old['seeds'][key]) < 1.0
    # the estimate of a dataset is its typical image times its image count
    total = voc['compact']['bytes_per_image_typical'] * voc['dataset_images'] / 1e9
    assert voc['compact']['dataset_total_gb'] == pytest.approx(total, abs=0.01)
