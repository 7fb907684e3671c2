import copy
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from mmengine.config import Config
from mmengine.registry import DefaultScope
from mmengine.runner import Runner
from PIL import Image

import mmwsss.datasets.voc as voc_module
from mmwsss.datasets.coco import COCO_CLASSES, WSSSCOCODataset, coco_category_map
from mmwsss.registry import DATASETS

# COCO's 80 category ids: not contiguous, 1..90
COCO_IDS = [
    *range(1, 12), *range(13, 26), 27, 28, *range(31, 45), *range(46, 66), 67, 70,
    *range(72, 83), *range(84, 91),
]  # fmt: skip


@pytest.fixture(autouse=True)
def mmseg_scope():
    with DefaultScope.overwrite_default_scope('mmwsss'):
        yield


def categories():
    return [
        dict(id=cat_id, name=name, supercategory='x')
        for cat_id, name in zip(COCO_IDS, COCO_CLASSES[1:])
    ]


def make_coco(root, with_masks=True):
    """Three images: person + crowd dog; toothbrush; nothing."""
    (root / 'train2014').mkdir(parents=True)
    (root / 'annotations').mkdir()
    images = []
    for image_id, name in [(3, 'img_c'), (1, 'img_a'), (2, 'img_b')]:
        Image.fromarray(np.full((12, 16, 3), 60 * image_id, np.uint8)).save(
            root / 'train2014' / f'{name}.jpg'
        )
        images.append(dict(id=image_id, file_name=f'{name}.jpg', height=12, width=16))
    poly = [[1.0, 1.0, 10.0, 1.0, 10.0, 10.0, 1.0, 10.0]]
    annotations = [
        dict(id=1, image_id=1, category_id=1, segmentation=poly, area=81, iscrowd=0),
        dict(id=2, image_id=1, category_id=18, segmentation=poly, area=81, iscrowd=1),
        dict(id=3, image_id=2, category_id=90, segmentation=poly, area=81, iscrowd=0),
        dict(id=4, image_id=2, category_id=90, segmentation=poly, area=81, iscrowd=0),
    ]
    coco = dict(images=images, annotations=annotations, categories=categories())
    (root / 'annotations' / 'instances_train2014.json').write_text(json.dumps(coco))
    if with_masks:
        seg_dir = root / 'masks'
        seg_dir.mkdir()
        mask = np.zeros((12, 16), np.uint8)
        mask[1:10, 1:10] = 1
        Image.fromarray(mask, mode='L').save(seg_dir / 'img_a.png')
    return root


def build(root, **kwargs):
    kwargs.setdefault('data_prefix', dict(img_path='train2014', seg_map_path='masks'))
    return WSSSCOCODataset(
        data_root=str(root), ann_file='annotations/instances_train2014.json', **kwargs
    )


def test_metainfo():
    meta = WSSSCOCODataset.METAINFO
    assert len(meta['classes']) == 81 and meta['classes'][0] == 'background'
    assert len(meta['palette']) == 81
    assert len({tuple(c) for c in meta['palette']}) == 81


def test_category_map_sorted_ids():
    mapping = coco_category_map(list(reversed(categories())), COCO_CLASSES[1:])
    assert mapping[1] == 1 and mapping[13] == 12 and mapping[90] == 80
    assert sorted(mapping.values()) == list(range(1, 81))


def test_category_map_rejects_other_categories():
    cats = categories()
    with pytest.raises(ValueError, match='79 categories.*80'):
        coco_category_map(cats[:-1], COCO_CLASSES[1:])
    cats[4] = dict(id=cats[4]['id'], name='aeroplane')
    with pytest.raises(ValueError, match='aeroplane'):
        coco_category_map(cats, COCO_CLASSES[1:])


def test_labels_and_paths(tmp_path):
    root = make_coco(tmp_path)
    ds = build(root)
    infos = [ds.get_data_info(i) for i in range(len(ds))]
    # sorted by image id; crowd-only categories are not labels
    assert [info['img_path'] for info in infos] == [
        str(root / 'train2014' / f'{n}.jpg') for n in ('img_a', 'img_b', 'img_c')
    ]
    assert [info['img_labels'] for info in infos] == [[1], [80], []]
    assert infos[0]['seg_map_path'] == str(root / 'masks' / 'img_a.png')
    assert infos[1]['seg_map_path'] is None
    assert infos[0]['reduce_zero_label'] is False and infos[0]['seg_fields'] == []


def test_without_mask_folder(tmp_path):
    root = make_coco(tmp_path, with_masks=False)
    ds = build(root, data_prefix=dict(img_path='train2014', seg_map_path=''))
    assert all(ds.get_data_info(i)['seg_map_path'] is None for i in range(3))


def test_filter_empty_logs(tmp_path, monkeypatch):
    root = make_coco(tmp_path)
    logged = []
    monkeypatch.setattr(voc_module, 'print_log', lambda msg, **kw: logged.append(msg))
    ds = build(root, filter_empty=True)
    assert len(ds) == 2
    assert len(logged) == 1 and 'dropped 1 of 3' in logged[0] and 'img_c' in logged[0]


def test_missing_image(tmp_path):
    root = make_coco(tmp_path)
    (root / 'train2014' / 'img_b.jpg').unlink()
    with pytest.raises(FileNotFoundError, match='1 of 3.*img_b.jpg'):
        build(root)


def test_unknown_category(tmp_path):
    root = make_coco(tmp_path)
    path = root / 'annotations' / 'instances_train2014.json'
    coco = json.loads(path.read_text())
    coco['annotations'][0]['category_id'] = 12  # not a COCO id
    path.write_text(json.dumps(coco))
    with pytest.raises(KeyError, match='category id 12'):
        build(root)


def test_pipeline_end_to_end(tmp_path):
    root = make_coco(tmp_path)
    ds = DATASETS.build(
        dict(
            type='WSSSCOCODataset',
            data_root=str(root),
            ann_file='annotations/instances_train2014.json',
            data_prefix=dict(img_path='train2014', seg_map_path='masks'),
            pipeline=[
                dict(type='LoadImageFromFileChecked'),
                dict(type='LoadOptionalAnnotations'),
                dict(type='LoadImageLevelLabels'),
                dict(type='PackWSSSInputs'),
            ],
        )
    )
    first = ds[0]
    assert first['inputs'].shape == (3, 12, 16)
    assert first['data_samples'].gt_img_labels.tolist() == [1]
    assert first['data_samples'].gt_sem_seg.data.unique().tolist() == [0, 1]
    second = ds[1]['data_samples']
    assert second.gt_img_labels.tolist() == [80] and 'gt_sem_seg' not in second


def test_coco14_cls_config(tmp_path):
    root = make_coco(tmp_path)
    for split in ('train2014', 'val2014'):
        seg_dir = root / 'wsss' / split / 'SegmentationClass'
        seg_dir.mkdir(parents=True)
        shutil.copy(root / 'masks' / 'img_a.png', seg_dir / 'img_a.png')
    shutil.copytree(root / 'train2014', root / 'val2014')
    shutil.copy(
        root / 'annotations' / 'instances_train2014.json',
        root / 'annotations' / 'instances_val2014.json',
    )
    config = (
        Path(__file__).resolve().parents[2] / 'configs/_base_/datasets/coco14_cls.py'
    )
    cfg = Config.fromfile(str(config))
    for key, with_masks in [
        ('train_dataloader', False),
        ('val_dataloader', True),
        ('test_dataloader', True),
    ]:
        loader_cfg = copy.deepcopy(cfg[key])
        # batch 2: the train loader drops a partial batch
        loader_cfg.update(batch_size=2, num_workers=0, persistent_workers=False)
        loader_cfg['dataset']['data_root'] = str(root)
        loader = Runner.build_dataloader(loader_cfg)
        assert len(loader.dataset) == 2  # the image without objects is dropped
        batch = next(iter(loader))
        samples = sorted(batch['data_samples'], key=lambda s: s.img_path)
        assert samples[0].gt_img_labels.tolist() == [1]
        assert ('gt_sem_seg' in samples[0]) == with_masks
