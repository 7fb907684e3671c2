import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest
from mmengine.registry import DefaultScope
from PIL import Image
from pycocotools import mask as mask_utils

from mmwsss.datasets import split_ids
from mmwsss.datasets.coco import COCO_CLASSES, WSSSCOCODataset

TOOL = (
    Path(__file__).resolve().parents[2]
    / 'tools'
    / 'dataset_converters'
    / 'coco_wsss.py'
)
COCO_IDS = [
    *range(1, 12), *range(13, 26), 27, 28, *range(31, 45), *range(46, 66), 67, 70,
    *range(72, 83), *range(84, 91),
]  # fmt: skip
H, W = 20, 30


@pytest.fixture(scope='module')
def coco_wsss():
    spec = importlib.util.spec_from_file_location('coco_wsss_tool', TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def box(y0, y1, x0, x1):
    mask = np.zeros((H, W), np.uint8)
    mask[y0:y1, x0:x1] = 1
    return mask


def compressed_rle(mask):
    rle = mask_utils.encode(np.asfortranarray(mask))
    return dict(size=rle['size'], counts=rle['counts'].decode('ascii'))


def uncompressed_rle(mask):
    counts, current, run = [], 0, 0
    for value in mask.flatten(order='F'):
        if value != current:
            counts.append(run)
            current, run = value, 0
        run += 1
    counts.append(run)
    return dict(size=[H, W], counts=counts)


def make_coco(root):
    (root / 'annotations').mkdir(parents=True)
    (root / 'train2014').mkdir()
    images = []
    for image_id in (1, 2, 3):
        name = f'COCO_train2014_{image_id:012d}'
        Image.fromarray(np.zeros((H, W, 3), np.uint8)).save(
            root / 'train2014' / f'{name}.jpg'
        )
        images.append(dict(id=image_id, file_name=f'{name}.jpg', height=H, width=W))
    person = [[2.0, 2.0, 27.0, 2.0, 27.0, 17.0, 2.0, 17.0]]  # polygon
    annotations = [
        # the small toothbrush comes first: drawing in file order would hide it
        dict(id=1, image_id=1, category_id=90, iscrowd=0, area=24,
             segmentation=compressed_rle(box(8, 12, 12, 18))),
        dict(id=2, image_id=1, category_id=1, iscrowd=0, area=375, segmentation=person),
        dict(id=3, image_id=1, category_id=18, iscrowd=1, area=150,
             segmentation=uncompressed_rle(box(0, 5, 0, 30))),
        dict(id=4, image_id=3, category_id=18, iscrowd=1, area=150,
             segmentation=uncompressed_rle(box(0, 5, 0, 30))),
    ]  # fmt: skip
    categories = [
        dict(id=cat_id, name=name) for cat_id, name in zip(COCO_IDS, COCO_CLASSES[1:])
    ]
    coco = dict(images=images, annotations=annotations, categories=categories)
    (root / 'annotations' / 'instances_train2014.json').write_text(json.dumps(coco))
    return root


def read_png(path):
    return np.asarray(Image.open(path))


def test_masks_and_labels(tmp_path, coco_wsss):
    root = make_coco(tmp_path)
    coco_wsss.main(['--coco-root', str(root), '--split', 'train2014'])
    out = root / 'wsss' / 'train2014'
    labels = json.loads((out / 'cls_labels.json').read_text())
    assert labels == {
        'COCO_train2014_000000000001': [1, 80],
        'COCO_train2014_000000000002': [],
        'COCO_train2014_000000000003': [],
    }
    png = Image.open(out / 'SegmentationClass' / 'COCO_train2014_000000000001.png')
    assert png.mode == 'P' and png.getpalette()[3:6] == [128, 0, 0]
    mask = np.asarray(png)
    assert mask.shape == (H, W)
    # small toothbrush on top of the person, exactly its RLE
    assert (mask == 80).sum() == 24 and (mask[8:12, 12:18] == 80).all()
    # person polygon interior (outside the toothbrush) and crowd overlap
    assert mask[14, 5] == 1 and mask[3, 15] == 1
    # crowd outside any instance: ignore; elsewhere background
    assert mask[0, 0] == 255 and mask[1, 29] == 255
    assert mask[19, 29] == 0 and mask[10, 29] == 0
    assert set(np.unique(mask).tolist()) == {0, 1, 80, 255}
    empty = read_png(out / 'SegmentationClass' / 'COCO_train2014_000000000002.png')
    assert empty.shape == (H, W) and not empty.any()
    crowd_only = read_png(out / 'SegmentationClass' / 'COCO_train2014_000000000003.png')
    assert (crowd_only[:5] == 255).all() and not crowd_only[5:].any()
    assert not list(out.rglob('*.tmp'))


def test_image_list_of_the_images_with_an_object(tmp_path, coco_wsss):
    """The ids the pipeline's label stages read (split_ids): the images with a
    non-crowd instance (not the empty one, not the crowd-only one)."""
    root = make_coco(tmp_path / 'coco')
    coco_wsss.main(['--coco-root', str(root), '--split', 'train2014'])
    assert split_ids(str(root), 'train2014') == ['COCO_train2014_000000000001']
    elsewhere = tmp_path / 'lists' / 'train.txt'
    coco_wsss.main(
        ['--coco-root', str(root), '--out', str(tmp_path / 'o')]
        + ['--split-list', str(elsewhere)]
    )
    assert elsewhere.read_text() == 'COCO_train2014_000000000001\n'


def test_dataset_reads_tool_output(tmp_path, coco_wsss):
    root = make_coco(tmp_path)
    out = tmp_path / 'converted'
    coco_wsss.main(['--coco-root', str(root), '--out', str(out)])
    with DefaultScope.overwrite_default_scope('mmwsss'):
        ds = WSSSCOCODataset(
            data_root=str(root),
            ann_file='annotations/instances_train2014.json',
            data_prefix=dict(
                img_path='train2014', seg_map_path=str(out / 'SegmentationClass')
            ),
            filter_empty=True,
        )
    assert len(ds) == 1
    info = ds.get_data_info(0)
    assert info['img_labels'] == [1, 80]
    present = set(np.unique(read_png(info['seg_map_path'])).tolist()) - {0, 255}
    assert sorted(present) == info['img_labels']


def test_bad_segmentation_names_image(tmp_path, coco_wsss):
    root = make_coco(tmp_path)
    path = root / 'annotations' / 'instances_train2014.json'
    coco = json.loads(path.read_text())
    coco['annotations'][0]['segmentation']['size'] = [H + 1, W]
    path.write_text(json.dumps(coco))
    with pytest.raises(ValueError, match='COCO_train2014_000000000001.jpg'):
        coco_wsss.main(['--coco-root', str(root), '--out', str(tmp_path / 'o')])


def test_unknown_image_id(tmp_path, coco_wsss):
    root = make_coco(tmp_path)
    path = root / 'annotations' / 'instances_train2014.json'
    coco = json.loads(path.read_text())
    coco['annotations'][1]['image_id'] = 99
    path.write_text(json.dumps(coco))
    with pytest.raises(KeyError, match='99'):
        coco_wsss.main(['--coco-root', str(root), '--out', str(tmp_path / 'o')])
