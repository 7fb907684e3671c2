import json

import numpy as np
import pytest
import torch
from mmengine.registry import DefaultScope
from mmengine.structures import InstanceData
from PIL import Image

from mmwsss.evaluation import (
    InstanceAPMetric,
    build_voc_instance_gt,
    decode_mask,
    encode_instances,
    encode_mask,
    instance_ap,
    masks_to_coco_gt,
)
from mmwsss.registry import METRICS

CLASSES = tuple(['background'] + [f'c{i}' for i in range(1, 21)])


def _mask(rows, cols, size=(10, 12)):
    mask = np.zeros(size, dtype=bool)
    mask[rows, cols] = True
    return mask


def _gt(*instances):
    record = dict(
        image_id=1, file_name='a.jpg', height=10, width=12, instances=list(instances)
    )
    return masks_to_coco_gt([record], CLASSES)


def _inst(mask, label, score=1.0):
    return dict(mask=mask, label=label, score=score)


A = _mask(slice(0, 4), slice(0, 5))  # 20 px
B = _mask(slice(5, 10), slice(6, 12))  # 30 px


def test_rle_round_trip_is_json_safe():
    rle = encode_mask(A)
    assert isinstance(rle['counts'], str) and rle['size'] == [10, 12]
    assert np.array_equal(decode_mask(json.loads(json.dumps(rle))), A)


def test_perfect_predictions_score_100():
    gt = _gt(dict(mask=A, label=3), dict(mask=B, label=5))
    results = encode_instances(1, [_inst(A, 3, 0.9), _inst(B, 5, 0.4)])
    assert results[0]['category_id'] == 3 and 'bbox' not in results[0]
    assert instance_ap(gt, results) == pytest.approx(dict(AP50=100.0, AP=100.0))


def test_one_of_two_instances_missed():
    gt = _gt(dict(mask=A, label=3), dict(mask=B, label=3))
    results = encode_instances(1, [_inst(A, 3, 0.9)])
    ap = instance_ap(gt, results)
    # precision 1 up to recall 0.5, then 0: 51 of COCO's 101 recall points
    assert ap['AP50'] == pytest.approx(100 * 51 / 101)
    assert ap['AP'] == pytest.approx(100 * 51 / 101)


def test_iou_below_the_threshold_does_not_match():
    wide = _mask(slice(0, 5), slice(0, 10))  # 50 px
    gt = _gt(dict(mask=wide, label=2))
    iou_04 = _mask(slice(0, 2), slice(0, 10))  # 20 px inside: IoU 0.4
    assert instance_ap(gt, encode_instances(1, [_inst(iou_04, 2)]))['AP50'] == 0
    iou_062 = _mask(slice(0, 3), slice(0, 10)) | _mask(3, 0)  # 31 px: IoU 0.62
    ap = instance_ap(gt, encode_instances(1, [_inst(iou_062, 2)]))
    # matched at IoU 0.50, 0.55 and 0.60 of the ten thresholds
    assert ap['AP50'] == pytest.approx(100) and ap['AP'] == pytest.approx(30)


def test_wrong_class_and_empty_results_score_zero():
    gt = _gt(dict(mask=A, label=3))
    assert instance_ap(gt, encode_instances(1, [_inst(A, 4)]))['AP50'] == 0
    assert instance_ap(gt, []) == dict(AP50=0.0, AP=0.0)
    with pytest.raises(ValueError, match='image ids'):
        instance_ap(gt, encode_instances(7, [_inst(A, 3)]))


def _write_voc(root, stem, objects, classes):
    for folder, array in (
        ('SegmentationObject', objects),
        ('SegmentationClass', classes),
    ):
        (root / folder).mkdir(parents=True, exist_ok=True)
        Image.fromarray(array.astype(np.uint8)).save(root / folder / f'{stem}.png')


def _voc_image():
    objects = np.zeros((10, 12), dtype=np.uint8)
    objects[A] = 1
    objects[B] = 2
    objects[4, :] = 255  # unsure border
    classes = np.zeros_like(objects)
    classes[objects == 1] = 15
    classes[objects == 2] = 3
    classes[4, :] = 255
    return objects, classes


def test_voc_layout_ground_truth(tmp_path):
    _write_voc(tmp_path, 'a', *_voc_image())
    gt = build_voc_instance_gt(str(tmp_path), ['a'], CLASSES)
    assert gt['images'] == [dict(id=1, file_name='a.jpg', height=10, width=12)]
    anns = gt['annotations']
    assert [(a['id'], a['category_id'], a['area']) for a in anns] == [
        (1, 15, 20.0),
        (2, 3, 30.0),
    ]
    assert anns[1]['bbox'] == [6.0, 5.0, 6.0, 5.0]
    assert np.array_equal(decode_mask(anns[0]['segmentation']), A)
    assert [c['id'] for c in gt['categories']] == list(range(1, 21))
    json.dumps(gt)


def test_instance_ap_metric(tmp_path):
    root = tmp_path / 'VOC2012'
    objects, classes = _voc_image()
    _write_voc(root, 'a', objects, classes)
    _write_voc(root, 'b', objects, classes)
    # configs build it under default_scope='mmseg'; an earlier test's Runner may
    # have left another scope current
    with DefaultScope.overwrite_default_scope('mmwsss'):
        metric = METRICS.build(
            dict(type='InstanceAPMetric', out_dir=str(tmp_path / 'out'))
        )
    assert isinstance(metric, InstanceAPMetric)
    metric.dataset_meta = dict(classes=CLASSES)

    def sample(stem, pred):
        return dict(
            img_path=str(root / 'JPEGImages' / f'{stem}.jpg'),
            seg_map_path=str(root / 'SegmentationClassAug' / f'{stem}.png'),
            pred_instances=pred,
        )

    as_list = [_inst(A, 15, 0.8), _inst(B, 3, 0.7)]
    as_data = InstanceData(
        masks=torch.from_numpy(np.stack([B, A])),
        labels=torch.tensor([3, 15]),
        scores=torch.tensor([0.9, 0.5]),
    )
    metric.process({}, [sample('a', as_list), sample('b', as_data), sample('c', [])])
    assert metric.results[2] is None  # no SegmentationObject/c.png
    out = metric.evaluate(3)
    assert out == {'instance/AP50': 100.0, 'instance/AP': 100.0}
    with open(tmp_path / 'out' / 'instance_results.json') as f:
        results = json.load(f)
    assert sorted(r['image_id'] for r in results) == [1, 1, 2, 2]
    with open(tmp_path / 'out' / 'instance_gt.json') as f:
        assert [i['file_name'] for i in json.load(f)['images']] == ['a.jpg', 'b.jpg']


def test_instance_ap_metric_rejects_wrong_mask_size(tmp_path):
    _write_voc(tmp_path, 'a', *_voc_image())
    metric = InstanceAPMetric()
    bad = dict(
        img_path=str(tmp_path / 'a.jpg'),
        seg_map_path=str(tmp_path / 'SegmentationClass' / 'a.png'),
        pred_instances=[_inst(np.ones((5, 5), bool), 3)],
    )
    with pytest.raises(ValueError, match='original image size'):
        metric.process({}, [bad])
