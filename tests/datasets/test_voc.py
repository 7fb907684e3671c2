import copy
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope
from mmengine.runner import Runner
from PIL import Image

import mmwsss.datasets.voc as voc_module
from mmwsss.datasets import FashionPasteDataset, WSSSVOCDataset
from mmwsss.datasets.fashionpaste import FASHIONPASTE_CLASSES
from mmwsss.datasets.palette import voc_palette
from mmwsss.registry import DATASETS

TEST_PIPELINE = [
    dict(type='LoadImageFromFileChecked'),
    dict(type='LoadOptionalAnnotations'),
    dict(type='LoadImageLevelLabels'),
    dict(type='PackWSSSInputs'),
]


@pytest.fixture(autouse=True)
def mmseg_scope():
    # Compose builds transforms from mmengine's root registry: resolve in mmseg.
    with DefaultScope.overwrite_default_scope('mmwsss'):
        yield


def _write_image(path, h=24, w=32, seed=0):
    rng = np.random.default_rng(seed)
    Image.fromarray(rng.integers(0, 255, (h, w, 3), dtype=np.uint8)).save(path)


def _write_mask(path, mask):
    img = Image.fromarray(np.asarray(mask, dtype=np.uint8), mode='P')
    img.putpalette(np.asarray(voc_palette(), dtype=np.uint8).ravel().tolist())
    img.save(path)


def make_voc(root, masks, labels=None, split='train', no_image=()):
    """VOC tree; ``masks`` maps id -> (H, W) array or None (no mask file)."""
    (root / 'JPEGImages').mkdir(parents=True)
    (root / 'SegmentationClass').mkdir()
    (root / 'ImageSets' / 'Segmentation').mkdir(parents=True)
    for i, (img_id, mask) in enumerate(masks.items()):
        if img_id not in no_image:
            _write_image(root / 'JPEGImages' / f'{img_id}.jpg', seed=i)
        if mask is not None:
            _write_mask(root / 'SegmentationClass' / f'{img_id}.png', mask)
    (root / 'ImageSets' / 'Segmentation' / f'{split}.txt').write_text(
        '\n'.join(masks) + '\n'
    )
    if labels is not None:
        (root / 'cls_labels.json').write_text(json.dumps(labels))
    return root


def _mask(*values):
    """24x32 mask with one vertical band per value."""
    mask = np.zeros((24, 32), dtype=np.uint8)
    for k, value in enumerate(values):
        mask[:, 4 + 6 * k : 8 + 6 * k] = value
    return mask


def build(root, **kwargs):
    kwargs.setdefault('ann_file', 'ImageSets/Segmentation/train.txt')
    return WSSSVOCDataset(data_root=str(root), **kwargs)


def test_metainfo_is_voc():
    classes = WSSSVOCDataset.METAINFO['classes']
    palette = WSSSVOCDataset.METAINFO['palette']
    assert len(classes) == 21 and classes[0] == 'background'
    assert classes[15] == 'person'
    assert len(palette) == 21
    assert palette[1] == [128, 0, 0] and palette[15] == [192, 128, 128]
    assert voc_palette()[255] == [224, 224, 192]


def test_labels_from_masks(tmp_path):
    root = make_voc(tmp_path, {'a': _mask(3, 255), 'b': _mask(15, 7), 'c': _mask()})
    ds = build(root)
    assert len(ds) == 3
    infos = [ds.get_data_info(i) for i in range(3)]
    assert [info['img_labels'] for info in infos] == [[3], [7, 15], []]
    assert infos[0]['img_path'] == str(root / 'JPEGImages' / 'a.jpg')
    assert infos[0]['seg_map_path'] == str(root / 'SegmentationClass' / 'a.png')
    assert infos[1]['reduce_zero_label'] is False
    assert infos[1]['seg_fields'] == []
    assert ds.get_cat_ids(1) == [7, 15]


def test_label_file_wins_and_is_resolved_against_data_root(tmp_path):
    root = make_voc(
        tmp_path,
        {'a': _mask(3), 'b': None},
        labels={'a': [5, 2, 5], 'b': [20], 'unused': [1]},
    )
    ds = build(root, label_file='cls_labels.json')
    assert ds.get_data_info(0)['img_labels'] == [2, 5]
    assert ds.get_data_info(1)['img_labels'] == [20]
    # b has no mask file: no pixel ground truth, not a broken path
    assert ds.get_data_info(0)['seg_map_path'].endswith('a.png')
    assert ds.get_data_info(1)['seg_map_path'] is None


@pytest.mark.parametrize('seg_map_path', ['', None])
def test_no_pixel_ground_truth(tmp_path, seg_map_path):
    root = make_voc(tmp_path, {'a': _mask(3)}, labels={'a': [3]})
    ds = build(
        root,
        label_file=str(root / 'cls_labels.json'),
        data_prefix=dict(img_path='JPEGImages', seg_map_path=seg_map_path),
    )
    assert ds.get_data_info(0)['seg_map_path'] is None
    assert ds.get_data_info(0)['img_labels'] == [3]


def test_missing_images_are_reported(tmp_path):
    ids = {f'im{k}': _mask(1) for k in range(8)}
    root = make_voc(tmp_path, ids, no_image=('im1', 'im2', 'im3', 'im4', 'im5', 'im6'))
    with pytest.raises(FileNotFoundError) as error:
        build(root)
    message = str(error.value)
    assert '6 of 8 image files are missing' in message
    assert str(root / 'JPEGImages' / 'im1.jpg') in message
    # without the check the dataset loads (and the loader fails later)
    assert len(build(root, check_files=False)) == 8


def test_label_file_without_entry_names_the_id(tmp_path):
    root = make_voc(tmp_path, {'a': _mask(3), 'b_missing': _mask(4)}, labels={'a': [3]})
    with pytest.raises(KeyError, match='b_missing'):
        build(root, label_file='cls_labels.json')


def test_out_of_range_label_names_index_and_class_count(tmp_path):
    root = make_voc(
        tmp_path, {'a': _mask(3), 'b': _mask(4)}, labels={'a': [3], 'b': [21]}
    )
    with pytest.raises(ValueError) as error:
        build(root, label_file='cls_labels.json')
    message = str(error.value)
    assert "'b'" in message and 'index 21' in message and '21 classes' in message
    assert '1..20' in message


@pytest.mark.parametrize('bad', [[0], ['3'], [2.0], 3, [True]])
def test_invalid_label_entries(tmp_path, bad):
    root = make_voc(tmp_path, {'a': _mask(3)}, labels={'a': bad})
    with pytest.raises((TypeError, ValueError), match="'a'"):
        build(root, label_file='cls_labels.json')


def test_out_of_range_mask_value_names_file_and_value(tmp_path):
    root = make_voc(tmp_path, {'a': _mask(3), 'b': _mask(4, 37)})
    with pytest.raises(ValueError) as error:
        build(root)
    assert 'b.png' in str(error.value) and '37' in str(error.value)


def test_image_without_labels_or_mask_is_an_error(tmp_path):
    root = make_voc(tmp_path, {'a': _mask(3), 'lonely': None})
    with pytest.raises(FileNotFoundError, match='lonely'):
        build(root)


def test_filter_empty_drops_and_logs(tmp_path, monkeypatch):
    root = make_voc(tmp_path, {'a': _mask(3), 'empty1': _mask(), 'empty2': _mask(255)})
    logged = []
    monkeypatch.setattr(voc_module, 'print_log', lambda msg, **kw: logged.append(msg))
    assert len(build(root)) == 3
    assert logged == []
    ds = build(root, filter_empty=True)
    assert len(ds) == 1 and ds.get_data_info(0)['img_labels'] == [3]
    assert len(logged) == 1
    assert 'dropped 2 of 3' in logged[0]
    assert 'empty1' in logged[0] and 'empty2' in logged[0]


def test_reduced_class_set_maps_labels(tmp_path):
    root = make_voc(tmp_path, {'a': _mask(8, 12, 15)}, labels={'a': [8, 12, 15]})
    ds = build(
        root,
        label_file='cls_labels.json',
        metainfo=dict(classes=('background', 'cat', 'dog')),
    )
    # cat 8 -> 1, dog 12 -> 2, person dropped
    assert ds.get_data_info(0)['img_labels'] == [1, 2]
    assert ds.get_data_info(0)['label_map'][15] == 255


def test_ann_file_empty_lists_image_folder(tmp_path):
    root = make_voc(tmp_path, {'b': _mask(2), 'a': _mask(1)})
    ds = build(root, ann_file='')
    assert [ds.get_data_info(i)['img_labels'] for i in range(2)] == [[1], [2]]


def test_reduce_zero_label_is_rejected(tmp_path):
    root = make_voc(tmp_path, {'a': _mask(3)})
    with pytest.raises(ValueError, match='reduce_zero_label'):
        build(root, reduce_zero_label=True)


def test_pipeline_end_to_end(tmp_path):
    root = make_voc(
        tmp_path, {'a': _mask(3, 255), 'b': None}, labels={'a': [3], 'b': [4, 9]}
    )
    ds = DATASETS.build(
        dict(
            type='WSSSVOCDataset',
            data_root=str(root),
            ann_file='ImageSets/Segmentation/train.txt',
            label_file='cls_labels.json',
            pipeline=TEST_PIPELINE,
        )
    )
    first = ds[0]
    assert first['inputs'].shape == (3, 24, 32)
    sample = first['data_samples']
    assert sample.gt_img_labels.dtype == torch.long
    assert sample.gt_img_labels.tolist() == [3]
    assert torch.equal(
        sample.gt_sem_seg.data[0], torch.from_numpy(_mask(3, 255).astype(np.int64))
    )
    second = ds[1]['data_samples']
    assert second.gt_img_labels.tolist() == [4, 9]
    assert 'gt_sem_seg' not in second
    assert second.seg_map_path is None


def test_train_pipeline_end_to_end(tmp_path):
    root = make_voc(tmp_path, {'a': _mask(3), 'b': _mask(5, 6)})
    pipeline = [
        dict(type='LoadImageFromFileChecked'),
        dict(type='LoadImageLevelLabels'),
        dict(
            type='RandomResize', scale=(40, 40), ratio_range=(0.5, 1.5), keep_ratio=True
        ),
        dict(type='RandomFlip', prob=0.5),
        dict(type='RandomCrop', crop_size=(16, 16)),
        dict(type='PackWSSSInputs'),
    ]
    ds = build(root, pipeline=pipeline)
    for index, labels in [(0, [3]), (1, [5, 6])]:
        out = ds[index]
        assert out['inputs'].shape[0] == 3
        assert max(out['inputs'].shape[1:]) <= 16
        assert out['data_samples'].gt_img_labels.tolist() == labels


def test_fashionpaste_dataset(tmp_path):
    root = make_voc(tmp_path, {'x': _mask(10), 'y': _mask(1, 4)})
    ds = DATASETS.build(
        dict(
            type='FashionPasteDataset',
            data_root=str(root),
            ann_file='ImageSets/Segmentation/train.txt',
            pipeline=TEST_PIPELINE,
        )
    )
    assert isinstance(ds, FashionPasteDataset)
    assert ds.metainfo['classes'] == tuple(FASHIONPASTE_CLASSES)
    assert len(ds.metainfo['palette']) == 11
    assert ds[1]['data_samples'].gt_img_labels.tolist() == [1, 4]
    bad = make_voc(tmp_path / 'bad', {'z': _mask(11)})
    with pytest.raises(ValueError, match='11'):
        FashionPasteDataset(
            data_root=str(bad), ann_file='ImageSets/Segmentation/train.txt'
        )


CONFIG_DIR = Path(__file__).resolve().parents[2] / 'configs' / '_base_' / 'datasets'


def first_batch(cfg, loader_key, data_root):
    loader_cfg = copy.deepcopy(cfg[loader_key])
    loader_cfg.update(num_workers=0, persistent_workers=False)
    loader_cfg['dataset']['data_root'] = str(data_root)
    loader = Runner.build_dataloader(loader_cfg)
    return loader.dataset, next(iter(loader))


def test_voc12_cls_config(tmp_path):
    masks = {'t1': _mask(3), 't2': _mask(5, 255), 'v1': _mask(7), 'x1': None}
    labels = {'t1': [3], 't2': [5], 'v1': [7], 'x1': [1, 2]}
    root = make_voc(tmp_path, masks, labels=labels)
    splits = root / 'ImageSets' / 'Segmentation'
    (splits / 'train_aug.txt').write_text('t1\nt2\nx1\n')
    (splits / 'train.txt').write_text('t1\nt2\n')
    (splits / 'val.txt').write_text('v1\n')
    cfg = Config.fromfile(str(CONFIG_DIR / 'voc12_cls.py'))
    assert cfg.train_dataloader.batch_size == 16
    # IRN drops the last partial batch; this set is one partial batch
    assert cfg.train_dataloader.drop_last is True
    cfg.train_dataloader.drop_last = False

    dataset, batch = first_batch(cfg, 'train_dataloader', root)
    assert len(dataset) == 3 and len(batch['inputs']) == 3
    assert sorted(s.gt_img_labels.tolist() for s in batch['data_samples']) == [
        [1, 2],
        [3],
        [5],
    ]
    assert all('gt_sem_seg' not in s for s in batch['data_samples'])

    for key, ids in [('test_dataloader', ['t1', 't2']), ('val_dataloader', ['v1'])]:
        dataset, batch = first_batch(cfg, key, root)
        assert len(dataset) == len(ids)
        sample = batch['data_samples'][0]
        assert sample.img_path.endswith(f'{ids[0]}.jpg')
        assert sample.gt_sem_seg.data.shape == (1, 24, 32)  # original size
        assert sample.gt_img_labels.tolist() == labels[ids[0]]


def test_fashionpaste_cls_config(tiny_fashionpaste):
    root = tiny_fashionpaste
    cfg = Config.fromfile(str(CONFIG_DIR / 'fashionpaste_cls.py'))
    assert cfg.train_dataloader.dataset.type == 'FashionPasteDataset'
    dataset, batch = first_batch(cfg, 'train_dataloader', root)
    assert len(dataset) == 8
    for inputs, sample in zip(batch['inputs'], batch['data_samples']):
        assert inputs.shape[0] == 3 and max(inputs.shape[1:]) <= 160
        assert 1 <= len(sample.gt_img_labels) <= 3
    for key, size in [('test_dataloader', 8), ('val_dataloader', 4)]:
        dataset, batch = first_batch(cfg, key, root)
        assert len(dataset) == size
        sample = batch['data_samples'][0]
        present = set(sample.gt_sem_seg.data.unique().tolist()) - {0, 255}
        assert sorted(present) == sample.gt_img_labels.tolist()
