import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from scipy.io import savemat

from mmwsss.datasets.palette import voc_palette

TOOL = (
    Path(__file__).resolve().parents[2] / 'tools' / 'dataset_converters' / 'voc_aug.py'
)


@pytest.fixture(scope='module')
def voc_aug():
    spec = importlib.util.spec_from_file_location('voc_aug_tool', TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def band_mask(value, h=8, w=10):
    mask = np.zeros((h, w), np.uint8)
    mask[2:6, 3:7] = value
    return mask


def write_sbd_mat(path, mask):
    # SBD's layout: struct GTcls with Boundaries, Segmentation, CategoriesPresent
    gt = dict(
        Boundaries=np.empty((0, 1), dtype=object),
        Segmentation=mask.astype(np.uint8),
        CategoriesPresent=np.unique(mask[mask > 0]).astype(np.uint8),
    )
    savemat(path, dict(GTcls=gt))


def make_trees(tmp_path):
    """VOC: train a, b; val c. SBD: train b, d; val c, e (plus VOC masks win)."""
    voc = tmp_path / 'VOC2012'
    sbd = tmp_path / 'benchmark_RELEASE' / 'dataset'
    (voc / 'JPEGImages').mkdir(parents=True)
    (voc / 'SegmentationClass').mkdir()
    (voc / 'ImageSets' / 'Segmentation').mkdir(parents=True)
    (sbd / 'cls').mkdir(parents=True)
    for img_id in 'abcde':
        Image.fromarray(np.zeros((8, 10, 3), np.uint8)).save(
            voc / 'JPEGImages' / f'{img_id}.jpg'
        )
    voc_masks = {'a': band_mask(1), 'b': band_mask(2), 'c': band_mask(3)}
    voc_masks['b'][0, :] = 255  # VOC's boundary band
    palette = np.asarray(voc_palette(), np.uint8).ravel().tolist()
    for img_id, mask in voc_masks.items():
        img = Image.fromarray(mask, mode='P')
        img.putpalette(palette)
        img.save(voc / 'SegmentationClass' / f'{img_id}.png')
    (voc / 'ImageSets' / 'Segmentation' / 'train.txt').write_text('a\nb\n')
    (voc / 'ImageSets' / 'Segmentation' / 'val.txt').write_text('c\n')
    sbd_masks = {
        'b': band_mask(9),
        'c': band_mask(9),
        'd': band_mask(4),
        'e': band_mask(20),
    }
    sbd_masks['e'][0, 0] = 15
    for img_id, mask in sbd_masks.items():
        write_sbd_mat(sbd / 'cls' / f'{img_id}.mat', mask)
    (sbd / 'train.txt').write_text('d\nb\n')
    (sbd / 'val.txt').write_text('e\nc\n')
    return voc, sbd, voc_masks, sbd_masks


def test_builds_train_aug(tmp_path, voc_aug):
    voc, sbd, voc_masks, sbd_masks = make_trees(tmp_path)
    voc_aug.main(['--voc-root', str(voc), '--sbd-root', str(sbd.parent)])

    split = (voc / 'ImageSets' / 'Segmentation' / 'train_aug.txt').read_text()
    assert split.split() == ['a', 'b', 'd', 'e']  # c is VOC val
    # mmseg's aug.txt: SBD minus VOC train and val; with VOC train, train_aug
    aug = (voc / 'ImageSets' / 'Segmentation' / 'aug.txt').read_text().split()
    assert aug == ['d', 'e']
    voc_train = (voc / 'ImageSets' / 'Segmentation' / 'train.txt').read_text()
    assert sorted(voc_train.split() + aug) == split.split()
    aug = voc / 'SegmentationClassAug'
    assert sorted(p.stem for p in aug.glob('*.png')) == ['a', 'b', 'c', 'd', 'e']
    # VOC's own masks win over SBD's
    np.testing.assert_array_equal(np.asarray(Image.open(aug / 'b.png')), voc_masks['b'])
    np.testing.assert_array_equal(np.asarray(Image.open(aug / 'c.png')), voc_masks['c'])
    converted = Image.open(aug / 'd.png')
    assert converted.mode == 'P'
    assert converted.getpalette()[3:6] == [128, 0, 0]
    np.testing.assert_array_equal(np.asarray(converted), sbd_masks['d'])

    labels = json.loads((voc / 'cls_labels.json').read_text())
    assert labels == {'a': [1], 'b': [2], 'c': [3], 'd': [4], 'e': [15, 20]}
    assert not list(voc.rglob('*.tmp'))


def test_out_folder_and_cli(tmp_path):
    voc, sbd, _, _ = make_trees(tmp_path)
    out = tmp_path / 'out'
    result = subprocess.run(
        [sys.executable, str(TOOL), '--voc-root', str(voc), '--sbd-root', str(sbd)]
        + ['--out', str(out)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert (
        out / 'ImageSets' / 'Segmentation' / 'train_aug.txt'
    ).read_text() == 'a\nb\nd\ne\n'
    assert (out / 'SegmentationClassAug' / 'e.png').is_file()
    assert not (voc / 'SegmentationClassAug').exists()
    assert (out / 'ImageSets' / 'Segmentation' / 'aug.txt').read_text() == 'd\ne\n'
    assert 'train_aug: 4 ids (aug.txt: 2)' in result.stdout


def test_bad_sbd_value_names_file(tmp_path, voc_aug):
    voc, sbd, _, _ = make_trees(tmp_path)
    write_sbd_mat(sbd / 'cls' / 'd.mat', band_mask(33))
    with pytest.raises(ValueError, match=r'd\.mat.*33'):
        voc_aug.main(['--voc-root', str(voc), '--sbd-root', str(sbd)])


def test_missing_mat_and_image(tmp_path, voc_aug):
    voc, sbd, _, _ = make_trees(tmp_path)
    (sbd / 'cls' / 'e.mat').unlink()
    with pytest.raises(FileNotFoundError, match=r'e\.mat'):
        voc_aug.main(['--voc-root', str(voc), '--sbd-root', str(sbd)])
    (voc / 'JPEGImages' / 'd.jpg').unlink()
    with pytest.raises(FileNotFoundError, match='1 train_aug ids.*d'):
        voc_aug.main(['--voc-root', str(voc), '--sbd-root', str(sbd)])


def test_mat_without_gtcls(tmp_path, voc_aug):
    voc, sbd, _, _ = make_trees(tmp_path)
    savemat(sbd / 'cls' / 'd.mat', dict(GTinst=dict(Segmentation=band_mask(1))))
    with pytest.raises(KeyError, match='GTcls'):
        voc_aug.main(['--voc-root', str(voc), '--sbd-root', str(sbd)])
