import gzip
import importlib.util
import json
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from mmwsss.datasets import fashionpaste as fp
from mmwsss.datasets.palette import voc_palette

TINY = fp.SIZES['tiny']
REPO = Path(__file__).resolve().parents[2]


def _generate(out_dir: Path, **kwargs) -> dict:
    kwargs.setdefault('size', 'tiny')
    kwargs.setdefault('source', 'subset')
    kwargs.setdefault('progress', False)
    return fp.generate_fashionpaste(out_dir, **kwargs)


def _read(path: Path) -> np.ndarray:
    with Image.open(path) as img:
        assert img.mode == 'P', f'{path} is {img.mode}, not a palette PNG'
        return np.array(img)


def _ids(root: Path, split: str) -> list[str]:
    text = (root / 'ImageSets' / 'Segmentation' / f'{split}.txt').read_text()
    return text.split()


@pytest.fixture
def tiny(tiny_fashionpaste) -> Path:
    """The session's tiny set, ``_generate(root, seed=0)`` (read-only)."""
    return Path(tiny_fashionpaste)


def test_classes_and_palette():
    assert len(fp.FASHIONPASTE_CLASSES) == 11
    assert fp.FASHIONPASTE_CLASSES[0] == 'background'
    assert len(fp.FASHIONPASTE_PALETTE) == 11
    assert fp.FASHIONPASTE_PALETTE[:3] == [[0, 0, 0], [128, 0, 0], [0, 128, 0]]
    assert fp.FASHIONPASTE_PALETTE[10] == [64, 128, 0]
    assert len({tuple(c) for c in fp.FASHIONPASTE_PALETTE}) == 11
    assert voc_palette(256)[255] == [224, 224, 192]
    assert set(fp.SIZES) == {'tiny', 'demo', 'bench'}


def test_shipped_subset_loads():
    for split, per_class in (('train', 300), ('test', 100)):
        images, labels = fp.load_fashion_mnist(split, source='subset')
        assert images.shape == (10 * per_class, 28, 28)
        assert images.dtype == np.uint8 and labels.dtype == np.int64
        assert np.bincount(labels, minlength=10).tolist() == [per_class] * 10
        assert images.max() == 255 and images.mean() > 30
    assert fp.SUBSET_PATH.stat().st_size < 3 * 2**20
    assert (fp.SUBSET_PATH.parent / 'FASHION_MNIST_LICENSE.txt').is_file()
    with pytest.raises(ValueError, match="'train' or 'test'"):
        fp.load_fashion_mnist('val', source='subset')
    with pytest.raises(ValueError, match='source must be one of'):
        fp.load_fashion_mnist('train', source='web')


@pytest.mark.skipif(
    fp.resolve_source('auto') != 'debian', reason="Debian's Fashion-MNIST missing"
)
def test_subset_matches_debian():
    with np.load(fp.SUBSET_PATH) as data:
        for split in ('train', 'test'):
            images, labels = fp.load_fashion_mnist(split, source='debian')
            assert images.shape[0] == {'train': 60000, 'test': 10000}[split]
            keep = data[f'{split}_indices']
            np.testing.assert_array_equal(images[keep], data[f'{split}_images'])
            np.testing.assert_array_equal(labels[keep], data[f'{split}_labels'])


def test_read_idx(tmp_path):
    arr = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    header = bytes([0, 0, 8, 3]) + np.array([2, 3, 4], dtype='>u4').tobytes()
    good = tmp_path / 'good.gz'
    good.write_bytes(gzip.compress(header + arr.tobytes()))
    np.testing.assert_array_equal(fp.read_fashion_mnist_idx(good), arr)
    short = tmp_path / 'short.gz'
    short.write_bytes(gzip.compress(header + arr.tobytes()[:-1]))
    with pytest.raises(ValueError, match='short.gz'):
        fp.read_fashion_mnist_idx(short)


def test_compose_image_uses_given_classes():
    items, labels = fp.load_fashion_mnist('test', source='subset')
    keep = labels == 4  # coat -> class 5
    backgrounds = fp.load_backgrounds()
    assert len(backgrounds) >= 3
    for index in range(5):
        rng = np.random.default_rng([3, index])
        image, classes, instances = fp.compose_image(
            rng, backgrounds, items[keep], labels[keep], 96, scale_range=(1.5, 2.5)
        )
        assert image.shape == (96, 96, 3) and image.dtype == np.uint8
        assert set(np.unique(classes).tolist()) == {0, 5}
        n = int(instances.max())
        assert 1 <= n <= fp.MAX_ITEMS
        assert set(np.unique(instances).tolist()) == set(range(n + 1))
        # pasted items are tinted and change the background photo
        assert np.abs(image.astype(int) - image.mean()).max() > 20


def test_deterministic_bytes(tiny, tmp_path):
    again = tmp_path / 'again'
    _generate(again, seed=0)
    files = sorted(p.relative_to(tiny) for p in tiny.rglob('*') if p.is_file())
    files_again = sorted(p.relative_to(again) for p in again.rglob('*') if p.is_file())
    assert files == files_again
    assert len(files) == 3 * 12 + 2 + 2 + 2
    for rel in files:
        assert (tiny / rel).read_bytes() == (again / rel).read_bytes(), rel
    other = tmp_path / 'seed1'
    _generate(other, seed=1)
    a = (tiny / 'JPEGImages' / 'fp_train_000001.jpg').read_bytes()
    b = (other / 'JPEGImages' / 'fp_train_000001.jpg').read_bytes()
    assert a != b


def test_layout_and_splits(tiny):
    train, val = _ids(tiny, 'train'), _ids(tiny, 'val')
    assert len(train) == TINY['num_train'] and len(val) == TINY['num_val']
    assert train[0] == 'fp_train_000001' and val[-1] == 'fp_val_000004'
    assert not set(train) & set(val)
    all_ids = set(train) | set(val)
    for sub, ext in (
        ('JPEGImages', '.jpg'),
        ('SegmentationClass', '.png'),
        ('SegmentationObject', '.png'),
    ):
        stems = {p.stem for p in (tiny / sub).iterdir() if p.suffix == ext}
        assert stems == all_ids, sub
    with Image.open(tiny / 'JPEGImages' / f'{train[0]}.jpg') as img:
        assert img.mode == 'RGB' and img.size == (64, 64)
    manifest = json.loads((tiny / fp.MANIFEST_NAME).read_text())
    assert manifest['finished'] is True
    assert manifest['counts'] == {'train': 8, 'val': 4}
    assert (manifest['size'], manifest['seed'], manifest['source']) == (
        'tiny',
        0,
        'subset',
    )
    assert manifest['image_size'] == [64, 64]
    assert not list(tiny.parent.glob(f'.{tiny.name}.tmp-*'))


def test_labels_and_masks_agree(tiny):
    cls_labels = json.loads((tiny / 'cls_labels.json').read_text())
    ids = _ids(tiny, 'train') + _ids(tiny, 'val')
    assert sorted(cls_labels) == sorted(ids)
    for img_id in ids:
        classes = _read(tiny / 'SegmentationClass' / f'{img_id}.png')
        instances = _read(tiny / 'SegmentationObject' / f'{img_id}.png')
        assert classes.shape == instances.shape == (64, 64)
        present = sorted(int(c) for c in np.unique(classes) if c)
        assert cls_labels[img_id] == present and present, img_id
        assert classes.max() <= 10
        np.testing.assert_array_equal(classes > 0, instances > 0)
        n = int(instances.max())
        assert set(np.unique(instances).tolist()) == set(range(n + 1))
        for inst in range(1, n + 1):
            region = instances == inst
            assert len(np.unique(classes[region])) == 1, (img_id, inst)
            assert region.sum() >= TINY['min_visible_pixels'], (img_id, inst)


def test_coco_matches_instance_masks(tiny):
    from pycocotools import mask as mask_utils

    for split in fp.SPLITS:
        coco = json.loads(
            (tiny / 'annotations' / f'instances_{split}.json').read_text()
        )
        assert [c['id'] for c in coco['categories']] == list(range(1, 11))
        assert [c['name'] for c in coco['categories']] == list(
            fp.FASHIONPASTE_CLASSES[1:]
        )
        by_image = {}
        for ann in coco['annotations']:
            by_image.setdefault(ann['image_id'], []).append(ann)
        ann_ids = [a['id'] for a in coco['annotations']]
        assert len(set(ann_ids)) == len(ann_ids)
        assert len(coco['images']) == len(_ids(tiny, split))
        for info in coco['images']:
            img_id = info['file_name'][: -len('.jpg')]
            instances = _read(tiny / 'SegmentationObject' / f'{img_id}.png')
            classes = _read(tiny / 'SegmentationClass' / f'{img_id}.png')
            anns = by_image[info['id']]
            assert len(anns) == instances.max()
            for inst, ann in enumerate(anns, start=1):
                assert isinstance(ann['segmentation']['counts'], str)
                assert ann['iscrowd'] == 0
                decoded = mask_utils.decode(
                    dict(
                        size=ann['segmentation']['size'],
                        counts=ann['segmentation']['counts'].encode(),
                    )
                ).astype(bool)
                np.testing.assert_array_equal(decoded, instances == inst)
                assert ann['category_id'] == classes[decoded][0]
                assert ann['area'] == decoded.sum()
                x, y, w, h = ann['bbox']
                ys, xs = np.nonzero(decoded)
                assert (x, y, x + w - 1, y + h - 1) == (
                    xs.min(),
                    ys.min(),
                    xs.max(),
                    ys.max(),
                )


def test_rerun_is_noop_and_conflicts_raise(tiny, tmp_path, monkeypatch):
    tiny = shutil.copytree(tiny, tmp_path / 'tiny')  # the shared set stays as it is
    before = {p: p.stat().st_mtime_ns for p in tiny.rglob('*')}

    def fail(*args, **kwargs):
        raise AssertionError('a finished dataset must not be regenerated')

    monkeypatch.setattr(fp, 'compose_image', fail)
    manifest = _generate(tiny, seed=0)
    assert manifest['finished'] is True and manifest['seed'] == 0
    assert {p: p.stat().st_mtime_ns for p in tiny.rglob('*')} == before

    with pytest.raises(FileExistsError, match='overwrite=True'):
        _generate(tiny, seed=5)
    junk = tmp_path / 'junk'
    junk.mkdir()
    (junk / 'notes.txt').write_text('mine')
    with pytest.raises(FileExistsError, match='no fashionpaste.json'):
        _generate(junk)
    # a failure leaves neither the dataset nor the temporary folder behind
    fresh = tmp_path / 'fresh'
    with pytest.raises(AssertionError, match='must not be regenerated'):
        _generate(fresh)
    assert not fresh.exists()
    assert not list(tmp_path.glob('.fresh.tmp-*'))
    monkeypatch.undo()
    manifest = _generate(junk, seed=2, overwrite=True)
    assert manifest['seed'] == 2
    assert not (junk / 'notes.txt').exists()
    assert len(_ids(junk, 'train')) == TINY['num_train']


def test_cli(tmp_path, monkeypatch, capsys):
    path = REPO / 'tools' / 'dataset_converters' / 'make_fashionpaste.py'
    spec = importlib.util.spec_from_file_location('make_fashionpaste', path)
    cli = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(cli)
    out = tmp_path / 'cli'
    argv = ['make_fashionpaste.py', '--out', str(out), '--size', 'tiny']
    argv += ['--seed', '3', '--source', 'subset', '--no-progress']
    monkeypatch.setattr(sys, 'argv', argv)
    cli.main()
    manifest = json.loads((out / fp.MANIFEST_NAME).read_text())
    assert (manifest['seed'], manifest['size']) == (3, 'tiny')
    assert 'FashionPaste ready' in capsys.readouterr().out
