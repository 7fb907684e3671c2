"""Ground-truth instances of a VOC-layout split as COCO json (tool and function)."""

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from pycocotools import mask as mask_utils

from mmwsss.datasets import voc_instances_to_coco
from mmwsss.datasets.fashionpaste import FASHIONPASTE_CLASSES

TOOL = (
    Path(__file__).resolve().parents[2]
    / 'tools'
    / 'dataset_converters'
    / 'gt_instances_to_coco.py'
)
CLASSES = ('background', 'cat', 'dog', 'cow')


def _png(array, path):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.asarray(array, dtype=np.uint8)).save(path)


@pytest.fixture
def hand_built(tmp_path):
    """Image 'b': a 3x4 dog (instance 1) ringed by 255, a 2x2 cow (instance 2);
    image 'a': no instance."""
    objects = np.zeros((10, 12), np.uint8)
    classes = np.zeros((10, 12), np.uint8)
    objects[1:6, 1:7] = 255  # boundary ring around instance 1
    classes[1:6, 1:7] = 255
    objects[2:5, 2:6] = 1
    classes[2:5, 2:6] = 2  # dog, 3 rows x 4 columns
    objects[7:9, 9:11] = 2
    classes[7:9, 9:11] = 3  # cow, 2 x 2
    _png(objects, tmp_path / 'SegmentationObject' / 'b.png')
    _png(classes, tmp_path / 'SegmentationClass' / 'b.png')
    _png(np.zeros((4, 5)), tmp_path / 'SegmentationObject' / 'a.png')
    _png(np.zeros((4, 5)), tmp_path / 'SegmentationClass' / 'a.png')
    split = tmp_path / 'ImageSets' / 'Segmentation' / 'val.txt'
    split.parent.mkdir(parents=True)
    split.write_text('b\na\n')
    return tmp_path


def test_two_instances_of_known_area_and_box(hand_built):
    coco = voc_instances_to_coco(str(hand_built), 'val', classes=CLASSES)
    assert coco['images'] == [
        dict(id=1, file_name='b.jpg', height=10, width=12),
        dict(id=2, file_name='a.jpg', height=4, width=5),
    ]
    assert coco['categories'] == [
        dict(id=1, name='cat'),
        dict(id=2, name='dog'),
        dict(id=3, name='cow'),
    ]
    dog, cow = coco['annotations']
    assert (dog['image_id'], dog['category_id'], dog['iscrowd']) == (1, 2, 0)
    assert dog['area'] == 12 and dog['bbox'] == [2, 2, 4, 3]  # 255 left out
    assert (cow['image_id'], cow['category_id']) == (1, 3)
    assert cow['area'] == 4 and cow['bbox'] == [9, 7, 2, 2]
    assert [dog['id'], cow['id']] == [1, 2]
    mask = mask_utils.decode(
        dict(size=dog['segmentation']['size'], counts=dog['segmentation']['counts'])
    )
    assert mask.sum() == 12 and mask[2:5, 2:6].all()


def test_tool_writes_json_and_names_a_missing_mask(hand_built, tmp_path):
    spec = importlib.util.spec_from_file_location('gt_instances_to_coco', TOOL)
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    # no class names given: the dataset's (PASCAL VOC's without a manifest)
    out = tmp_path / 'out' / 'gt.json'
    tool.main([str(hand_built), 'val', str(out)])
    coco = json.loads(out.read_text())
    assert len(coco['categories']) == 20 and coco['categories'][1]['name'] == 'bicycle'
    assert [a['area'] for a in coco['annotations']] == [12, 4]

    (hand_built / 'SegmentationObject' / 'a.png').unlink()
    with pytest.raises(FileNotFoundError, match=r'SegmentationObject \(e.g. a.png\)'):
        tool.main([str(hand_built), 'val', str(out)])


def test_matches_the_generator_json_of_fashionpaste(tiny_fashionpaste):
    """FashionPaste writes its own COCO json; the PNGs give the same one."""
    root = Path(tiny_fashionpaste)
    coco = voc_instances_to_coco(str(root), 'val')
    own = json.loads((root / 'annotations' / 'instances_val.json').read_text())
    assert coco['images'] == own['images']
    assert coco['categories'] == own['categories']
    assert [c['name'] for c in coco['categories']] == list(FASHIONPASTE_CLASSES[1:])
    keys = ('id', 'image_id', 'category_id', 'area', 'bbox', 'segmentation')
    assert [{k: a[k] for k in keys} for a in coco['annotations']] == [
        {k: a[k] for k in keys} for a in own['annotations']
    ]
