"""FashionPaste generator 2.0: presets, determinism, layout, scene records and the
data statistics that set it apart from generator 1.0."""

import json
from pathlib import Path

import numpy as np
import pytest
from mmengine.config import Config
from PIL import Image

from mmwsss.datasets import fashionpaste as fp
from mmwsss.evaluation.data_stats import (
    dataset_stats,
    image_stats,
    summarize_stats,
    to_gray,
)

TINY = fp.SIZES_V2['tiny-v2']


def _generate(out_dir: Path, **kwargs) -> dict:
    kwargs.setdefault('size', 'tiny-v2')
    kwargs.setdefault('source', 'subset')
    kwargs.setdefault('progress', False)
    return fp.generate_fashionpaste(out_dir, **kwargs)


def _ids(root: Path, split: str) -> list[str]:
    return (root / 'ImageSets' / 'Segmentation' / f'{split}.txt').read_text().split()


def _read(path: Path) -> np.ndarray:
    with Image.open(path) as img:
        assert img.mode == 'P', f'{path} is {img.mode}, not a palette PNG'
        return np.array(img)


@pytest.fixture(scope='module')
def tiny_v2(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp('tiny_v2') / 'data'
    _generate(root, seed=0)
    return root


def v2_bound_violations(summary: dict, stride: int) -> list[str]:
    """The generator-2.0 targets a set of a dozen images misses (relaxed for so
    few images: the bench set is measured against the full targets)."""
    s = str(stride)
    cells = summary['object_cells'][s]['median']
    failed = []
    if min(summary['grid'][s]) < 20:
        failed.append(f'grid {summary["grid"][s]} < 20 cells')
    if cells < 7.0:
        failed.append(f'median object {cells:.2f} < 7 cells')
    if not 1.0 < summary['objects_per_image'] <= 4.0:
        failed.append(f'objects / image {summary["objects_per_image"]:.2f}')
    if not 1.2 <= summary['classes_per_image'] <= 1.9:
        failed.append(f'classes / image {summary["classes_per_image"]:.2f}')
    if summary['strong_edges_on_outlines'] > 20.0:
        failed.append(f'strong edges on outlines {summary["strong_edges_on_outlines"]}')
    if summary['outline_contrast_median'] > 2.6:
        failed.append(f'outline contrast {summary["outline_contrast_median"]:.2f}')
    return failed


def test_presets():
    assert set(fp.SIZES) == {'tiny', 'demo', 'bench'}
    assert set(fp.SIZES_V2) == {'tiny-v2', 'demo-v2', 'bench-v2'}
    assert fp.PRESETS == {**fp.SIZES, **fp.SIZES_V2}
    assert fp.FASHIONPASTE_VERSION == '1.0' and fp.FASHIONPASTE_VERSION_V2 == '2.0'
    bench = fp.SIZES_V2['bench-v2']
    assert (bench['num_train'], bench['num_val']) == (1500, 500)
    for preset in fp.SIZES_V2.values():
        assert preset['image_size'] // preset['stride'] >= 20
        assert set(fp.SCENE_V2) <= set(preset)
        assert len(preset['item_count_probs']) == 4
    assert set(fp.SCENE_BACKGROUNDS) <= {
        f'skimage/{n}' for n in fp.SKIMAGE_BACKGROUNDS
    } | {f'sklearn/{n}' for n in fp.SKLEARN_BACKGROUNDS}
    with pytest.raises(ValueError, match='bench-v2'):
        fp.generate_fashionpaste('unused', size='huge')


def test_deterministic_bytes(tiny_v2, tmp_path):
    again = tmp_path / 'again'
    _generate(again, seed=0)
    files = sorted(p.relative_to(tiny_v2) for p in tiny_v2.rglob('*') if p.is_file())
    assert files == sorted(
        p.relative_to(again) for p in again.rglob('*') if p.is_file()
    )
    n = TINY['num_train'] + TINY['num_val']
    assert len(files) == 3 * n + 2 + 2 + 3  # lists, COCO, labels/manifest/scenes
    for rel in files:
        assert (tiny_v2 / rel).read_bytes() == (again / rel).read_bytes(), rel
    other = tmp_path / 'seed1'
    _generate(other, seed=1)
    name = 'JPEGImages/fp_train_000001.jpg'
    assert (tiny_v2 / name).read_bytes() != (other / name).read_bytes()


def test_manifest_and_layout(tiny_v2):
    manifest = json.loads((tiny_v2 / fp.MANIFEST_NAME).read_text())
    assert manifest['finished'] is True
    assert (manifest['version'], manifest['size'], manifest['seed']) == (
        '2.0',
        'tiny-v2',
        0,
    )
    size = TINY['image_size']
    assert manifest['image_size'] == [size, size]
    assert manifest['stride'] == TINY['stride']
    assert manifest['counts'] == {'train': TINY['num_train'], 'val': TINY['num_val']}
    assert manifest['scene'] == json.loads(json.dumps(fp.SCENE_V2))
    assert manifest['item_rules']['mask_threshold'] == fp.MASK_THRESHOLD
    assert set(manifest['scene_backgrounds']) <= set(fp.SCENE_BACKGROUNDS)
    for split in fp.SPLITS:
        for img_id in _ids(tiny_v2, split):
            with Image.open(tiny_v2 / 'JPEGImages' / f'{img_id}.jpg') as img:
                assert img.mode == 'RGB' and img.size == (size, size)
        coco = json.loads((tiny_v2 / f'annotations/instances_{split}.json').read_text())
        assert coco['info']['version'] == '2.0'
        assert len(coco['annotations']) == manifest['num_instances'][split]
        assert all(i['width'] == size for i in coco['images'])


def test_labels_agree_with_masks(tiny_v2):
    cls_labels = json.loads((tiny_v2 / 'cls_labels.json').read_text())
    min_visible = TINY['min_visible_share'] * TINY['image_size'] ** 2
    counts = []
    for img_id in _ids(tiny_v2, 'train') + _ids(tiny_v2, 'val'):
        classes = _read(tiny_v2 / 'SegmentationClass' / f'{img_id}.png')
        instances = _read(tiny_v2 / 'SegmentationObject' / f'{img_id}.png')
        present = sorted(int(c) for c in np.unique(classes) if c)
        assert cls_labels[img_id] == present and present, img_id
        np.testing.assert_array_equal(classes > 0, instances > 0)
        n = int(instances.max())
        assert 1 <= n <= 4, img_id
        assert set(np.unique(instances).tolist()) == set(range(n + 1))
        for inst in range(1, n + 1):
            region = instances == inst
            assert len(np.unique(classes[region])) == 1, (img_id, inst)
            assert region.sum() >= min_visible, (img_id, inst)
        counts.append(n)
    assert max(counts) > 1  # several objects occur


def test_distractors_recorded(tiny_v2):
    manifest = json.loads((tiny_v2 / fp.MANIFEST_NAME).read_text())
    scenes = json.loads((tiny_v2 / fp.SCENES_NAME).read_text())
    ids = _ids(tiny_v2, 'train') + _ids(tiny_v2, 'val')
    assert sorted(scenes) == sorted(ids)
    size = TINY['image_size']
    with_distractors = 0
    for img_id in ids:
        scene = scenes[img_id]
        assert scene['background'] in fp.SCENE_BACKGROUNDS
        for x, y, w, h in scene['distractors']:
            assert 0 <= x and 0 <= y and x + w <= size and y + h <= size
        with_distractors += bool(scene['distractors'])
    assert with_distractors >= len(ids) / 2
    assert sum(manifest['images_with_distractors'].values()) == with_distractors
    assert sum(manifest['num_distractors'].values()) == sum(
        len(s['distractors']) for s in scenes.values()
    )
    # some items have a low-contrast stretch of outline
    assert any(s['low_contrast_items'] for s in scenes.values())


def test_statistics_meet_the_relaxed_targets(tiny_v2):
    per_image = dataset_stats(str(tiny_v2), 'train') + dataset_stats(
        str(tiny_v2), 'val'
    )
    summary = summarize_stats(per_image, strides=(TINY['stride'],))
    assert v2_bound_violations(summary, TINY['stride']) == []


def test_generator_1_misses_the_targets():
    """The bounds above can fail: generator 1.0's demo / bench settings (12
    images composed in memory) miss most of them."""
    items, labels = fp.load_fashion_mnist('train', 'subset')
    backgrounds = fp.load_backgrounds()
    per_image = []
    for index in range(12):
        rng = np.random.default_rng([0, 0, index])
        image, classes, instances = fp.compose_image(
            rng, backgrounds, items, labels, 160, scale_range=(2.0, 4.0)
        )
        per_image.append(image_stats(to_gray(image), classes, instances))
    failed = v2_bound_violations(summarize_stats(per_image, strides=(16,)), 16)
    assert len(failed) >= 3, failed


def test_image_size_is_a_preset_setting():
    """At 160 px (output stride 8 gives 20 x 20 cells) objects keep their size
    in cells: the scene settings are shares of the image side."""
    items, labels = fp.load_fashion_mnist('test', 'subset')
    backgrounds = fp.load_backgrounds()
    extents = []
    for index in range(6):
        rng = np.random.default_rng([5, index])
        image, classes, instances, info = fp.compose_scene(
            rng, backgrounds, items, labels, 160, fp.SCENE_V2
        )
        assert image.shape == (160, 160, 3) and classes.shape == (160, 160)
        assert 1 <= instances.max() <= 4
        stats = image_stats(to_gray(image), classes, instances)
        extents += stats['extents']
    assert np.median(extents) / 8 >= 7.0


def test_stage_generates_v2(tmp_path):
    from mmwsss.pipeline import run_pipeline

    cfg = Config(
        dict(
            data_root=str(tmp_path / 'data'),
            work_dir=str(tmp_path / 'work'),
            stages=[
                dict(name='data', type='FashionPaste', size='tiny-v2', source='subset')
            ],
        )
    )
    run_pipeline(cfg)
    manifest = json.loads((tmp_path / 'data' / fp.MANIFEST_NAME).read_text())
    assert (manifest['version'], manifest['size']) == ('2.0', 'tiny-v2')
