import numpy as np
import pytest
import torch
from mmengine.registry import DefaultScope
from PIL import Image

from mmwsss.datasets.transforms import (
    LoadAnnotationsChecked,
    LoadCAMs,
    LoadImageFromFileChecked,
    LoadImageLevelLabels,
    LoadOptionalAnnotations,
    PackWSSSInputs,
)
from mmwsss.registry import TRANSFORMS


@pytest.fixture(autouse=True)
def mmseg_scope():
    with DefaultScope.overwrite_default_scope('mmwsss'):
        yield


@pytest.fixture
def image_file(tmp_path):
    path = tmp_path / 'img.jpg'
    Image.fromarray(np.full((10, 14, 3), 120, dtype=np.uint8)).save(path)
    return str(path)


@pytest.fixture
def mask_file(tmp_path):
    path = tmp_path / 'mask.png'
    mask = np.zeros((10, 14), dtype=np.uint8)
    mask[2:5, 3:9] = 7
    mask[0, :] = 255
    img = Image.fromarray(mask, mode='P')
    img.putpalette([0, 0, 0, 128, 0, 0] * 128)
    img.save(path)
    return str(path), mask


def seg_info(**kwargs):
    info = dict(seg_fields=[], reduce_zero_label=False, label_map=None)
    info.update(kwargs)
    return info


def test_registered_in_mmseg():
    for name in (
        'LoadImageFromFileChecked',
        'LoadOptionalAnnotations',
        'LoadAnnotationsChecked',
        'LoadImageLevelLabels',
        'PackWSSSInputs',
    ):
        assert TRANSFORMS.get(name) is not None, name
    assert isinstance(TRANSFORMS.build(dict(type='PackWSSSInputs')), PackWSSSInputs)


def test_load_image_ok(image_file):
    out = LoadImageFromFileChecked()(dict(img_path=image_file))
    assert out['img'].shape == (10, 14, 3)
    assert out['ori_shape'] == (10, 14)


def test_load_image_missing_names_file(tmp_path):
    path = str(tmp_path / 'nope.jpg')
    with pytest.raises(FileNotFoundError, match='nope.jpg'):
        LoadImageFromFileChecked()(dict(img_path=path))
    assert LoadImageFromFileChecked(ignore_empty=True)(dict(img_path=path)) is None


@pytest.mark.parametrize('content', [b'', b'this is not a jpeg at all' * 10])
def test_load_image_corrupt_names_file(tmp_path, content):
    path = tmp_path / 'broken.jpg'
    path.write_bytes(content)
    with pytest.raises(OSError, match='broken.jpg') as error:
        LoadImageFromFileChecked()(dict(img_path=str(path)))
    assert not isinstance(error.value, FileNotFoundError)


def test_optional_annotations_skip_without_mask(image_file):
    results = LoadOptionalAnnotations()(
        seg_info(img_path=image_file, seg_map_path=None)
    )
    assert 'gt_seg_map' not in results
    assert results['seg_fields'] == []


def test_optional_annotations_load_mask(mask_file):
    path, mask = mask_file
    results = LoadOptionalAnnotations()(seg_info(seg_map_path=path))
    np.testing.assert_array_equal(results['gt_seg_map'], mask)
    assert results['seg_fields'] == ['gt_seg_map']


def test_optional_annotations_missing_mask_file_names_it(tmp_path):
    with pytest.raises(FileNotFoundError, match='gone.png'):
        LoadOptionalAnnotations()(seg_info(seg_map_path=str(tmp_path / 'gone.png')))


def _save_mask(path, mask):
    Image.fromarray(mask).save(path)
    return str(path)


def test_checked_annotations_load_a_valid_mask(image_file, mask_file):
    path, mask = mask_file
    results = LoadImageFromFileChecked()(seg_info(img_path=image_file))
    results = LoadAnnotationsChecked(num_classes=8)(dict(results, seg_map_path=path))
    np.testing.assert_array_equal(results['gt_seg_map'], mask)
    assert 'num_classes=8' in repr(LoadAnnotationsChecked(num_classes=8))


def test_checked_annotations_name_the_bad_mask(tmp_path, image_file, mask_file):
    results = LoadImageFromFileChecked()(seg_info(img_path=image_file))
    # value 7 is no class of a 7-class dataset (and not the ignore index 255)
    with pytest.raises(ValueError, match='mask.png: mask value 7 .* 0..6'):
        LoadAnnotationsChecked(num_classes=7)(dict(results, seg_map_path=mask_file[0]))
    small = _save_mask(tmp_path / 'small.png', np.zeros((9, 14), np.uint8))
    with pytest.raises(ValueError, match=r'small.png: size \(9, 14\).*\(10, 14\)'):
        LoadAnnotationsChecked(num_classes=8)(dict(results, seg_map_path=small))
    rgb = _save_mask(tmp_path / 'rgb.png', np.zeros((10, 14, 3), np.uint8))
    with pytest.raises(ValueError, match='rgb.png: expected a single-channel'):
        LoadAnnotationsChecked(num_classes=8)(dict(results, seg_map_path=rgb))
    with pytest.raises(FileNotFoundError, match='img.jpg has no mask'):
        LoadAnnotationsChecked(num_classes=8)(dict(results, seg_map_path=None))
    with pytest.raises(KeyError, match='load the image first'):
        LoadAnnotationsChecked(num_classes=8)(seg_info(seg_map_path=small))
    with pytest.raises(ValueError, match='num_classes'):
        LoadAnnotationsChecked(num_classes=256)


def test_image_labels_kept_sorted():
    out = LoadImageLevelLabels()(dict(img_path='x.jpg', img_labels=[9, np.int64(2), 9]))
    assert out['img_labels'] == [2, 9]
    assert all(type(v) is int for v in out['img_labels'])


def test_image_labels_from_seg_map(mask_file):
    _, mask = mask_file
    transform = LoadImageLevelLabels(from_seg_map=True)
    assert transform(dict(img_path='x.jpg', gt_seg_map=mask))['img_labels'] == [7]
    # labels that are present win over the mask
    out = transform(dict(img_path='x.jpg', gt_seg_map=mask, img_labels=[3]))
    assert out['img_labels'] == [3]


def test_image_labels_missing_names_image():
    with pytest.raises(KeyError, match='some/img.jpg'):
        LoadImageLevelLabels()(dict(img_path='some/img.jpg'))
    with pytest.raises(KeyError, match='gt_seg_map'):
        LoadImageLevelLabels(from_seg_map=True)(dict(img_path='some/img.jpg'))


@pytest.mark.parametrize('labels', [['1'], [1.5], [0], [-2], 'abc'])
def test_image_labels_invalid(labels):
    with pytest.raises((TypeError, ValueError), match='a.jpg'):
        LoadImageLevelLabels()(dict(img_path='a.jpg', img_labels=labels))


def test_image_labels_num_classes_bound():
    transform = LoadImageLevelLabels(num_classes=5)
    assert transform(dict(img_path='a.jpg', img_labels=[4]))['img_labels'] == [4]
    with pytest.raises(ValueError, match='5'):
        transform(dict(img_path='a.jpg', img_labels=[5]))


def test_pack_with_labels_and_mask(image_file, mask_file):
    path, mask = mask_file
    results = LoadImageFromFileChecked()(
        seg_info(img_path=image_file, seg_map_path=path, img_labels=[7])
    )
    results = LoadOptionalAnnotations()(results)
    packed = PackWSSSInputs()(results)
    assert packed['inputs'].shape == (3, 10, 14)
    sample = packed['data_samples']
    assert sample.gt_img_labels.dtype == torch.long
    assert sample.gt_img_labels.tolist() == [7]
    assert sample.metainfo['img_labels'] == (7,)  # for heads that see metainfo
    assert sample.gt_sem_seg.data.shape == (1, 10, 14)
    assert sample.img_path == image_file


def test_pack_without_labels_needs_the_labels_step(image_file):
    results = LoadImageFromFileChecked()(dict(img_path=image_file))
    # packing "no labels" as "no class" would train on all-negative targets
    with pytest.raises(KeyError, match='img.jpg .*LoadImageLevelLabels'):
        PackWSSSInputs()(dict(results))
    sample = PackWSSSInputs(require_labels=False)(dict(results))['data_samples']
    assert 'gt_img_labels' not in sample
    assert 'gt_sem_seg' not in sample
    # an image without a foreground class packs an empty tensor
    labels = PackWSSSInputs()(dict(results, img_labels=[]))['data_samples']
    assert labels.gt_img_labels.dtype == torch.long
    assert labels.gt_img_labels.shape == (0,)


def _write_cams(cam_dir, stem, keys, size=(10, 14)):
    cam_dir.mkdir(exist_ok=True)
    gen = np.random.default_rng(0)
    strided = gen.random((len(keys), 3, 4)).astype(np.float32)
    high_res = gen.random((len(keys), *size)).astype(np.float32)
    np.savez(
        cam_dir / f'{stem}.npz',
        keys=np.array(keys, np.int16),
        cam=strided,
        high_res=high_res,
    )
    return strided, high_res


def test_load_cams_and_pack(tmp_path, image_file):
    strided, high_res = _write_cams(tmp_path / 'cams', 'img', [3, 7])
    results = LoadImageFromFileChecked()(dict(img_path=image_file))
    results = LoadCAMs(cam_dir=str(tmp_path / 'cams'), high_res=True)(results)
    assert results['cam_keys'].tolist() == [3, 7]
    sample = PackWSSSInputs(require_labels=False)(results)['data_samples']
    assert sample.cam_keys.tolist() == [3, 7]
    assert torch.equal(sample.cams_strided.data, torch.from_numpy(strided))
    assert torch.equal(sample.cams.data, torch.from_numpy(high_res))


def test_load_cams_missing_file_names_it(tmp_path, image_file):
    with pytest.raises(FileNotFoundError, match='img.npz'):
        LoadCAMs(cam_dir=str(tmp_path / 'nowhere'))(dict(img_path=image_file))


def test_load_cams_size_mismatch(tmp_path, image_file):
    _write_cams(tmp_path / 'cams', 'img', [3], size=(9, 14))
    results = LoadImageFromFileChecked()(dict(img_path=image_file))
    with pytest.raises(ValueError, match=r'\(9, 14\).*\(10, 14\)'):
        LoadCAMs(cam_dir=str(tmp_path / 'cams'), high_res=True)(results)
