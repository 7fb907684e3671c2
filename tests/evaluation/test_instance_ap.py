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
from mmwsss.evaluation.instance_ap import peak_diagnostics, voc_instance_metrics
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
    assert instance_ap(gt, results) == pytest.approx(
        dict(AP50=100.0, AP75=100.0, AP=100.0)
    )


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
    assert instance_ap(gt, []) == dict(AP50=0.0, AP75=0.0, AP=0.0)
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
    assert out == {
        f'instance/{k}': 100.0
        for k in (
            'AP50',
            'AP75',
            'AP',
            'voc_AP25',
            'voc_AP50',
            'voc_AP75',
            'ABO',
            'precision50',
            'recall50',
        )
    }
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


def _strip(*spans, size=(1, 100)):
    """A mask of the column ranges ``spans`` of a one-row image."""
    mask = np.zeros(size, dtype=bool)
    for start, stop in spans:
        mask[0, start:stop] = True
    return mask


def _strip_gt(*instances, size=(1, 100)):
    record = dict(
        image_id=1,
        file_name='a.jpg',
        height=size[0],
        width=size[1],
        instances=list(instances),
    )
    return masks_to_coco_gt([record], CLASSES)


def test_voc_ap_interpolates_all_points():
    """Two instances, detections TP, FP, TP: precision 1 up to recall 0.5,
    then 2/3 at recall 1: the all-point area is 0.5 + 0.5 * 2/3; COCO's 101
    recall points give (51 + 50 * 2/3) / 101."""
    g1, g2 = _strip((0, 20)), _strip((50, 70))
    gt = _strip_gt(dict(mask=g1, label=3), dict(mask=g2, label=3))
    results = encode_instances(
        1, [_inst(g1, 3, 0.9), _inst(_strip((90, 99)), 3, 0.8), _inst(g2, 3, 0.7)]
    )
    voc = voc_instance_metrics(gt, results)
    for key in ('voc_AP25', 'voc_AP50', 'voc_AP75'):
        assert voc[key] == pytest.approx(100 * (0.5 + 0.5 * 2 / 3))
    assert voc['ABO'] == pytest.approx(100)
    assert voc['precision50'] == pytest.approx(200 / 3)
    assert voc['recall50'] == pytest.approx(100)
    assert instance_ap(gt, results)['AP50'] == pytest.approx(
        100 * (51 + 50 * 2 / 3) / 101
    )


def test_voc_matching_takes_the_best_overlap_once():
    """A detection whose best-overlapping instance is taken is a false
    positive (VOC), where COCO matches it to the next free instance."""
    g1, g2 = _strip((0, 20)), _strip((20, 40))
    gt = _strip_gt(dict(mask=g1, label=3), dict(mask=g2, label=3))
    # the second detection overlaps both at IoU 0.5 exactly, g1 first
    results = encode_instances(1, [_inst(g1, 3, 0.9), _inst(_strip((0, 40)), 3, 0.8)])
    voc = voc_instance_metrics(gt, results)
    assert voc['voc_AP50'] == pytest.approx(50)  # TP, FP: recall 0.5 at precision 1
    assert voc['voc_AP75'] == pytest.approx(50)
    assert voc['precision50'] == pytest.approx(50) and voc['recall50'] == 50
    assert instance_ap(gt, results)['AP50'] == pytest.approx(100)
    # the same detections, the duplicate ranked first: it takes g1 (IoU 0.5,
    # g1 first among equals), the exact g1 is then the false positive
    results[1]['score'] = 0.95
    assert voc_instance_metrics(gt, results)['voc_AP50'] == pytest.approx(50)
    # ... and at IoU 0.75 the duplicate matches nothing: FP, then TP
    assert voc_instance_metrics(gt, results)['voc_AP75'] == pytest.approx(25)


def test_voc_ap_ignores_difficult_and_averages_classes_with_ground_truth():
    a, b, c = _strip((0, 20)), _strip((30, 50)), _strip((60, 80))
    gt = _strip_gt(dict(mask=a, label=3), dict(mask=b, label=3), dict(mask=c, label=5))
    gt['annotations'][1]['difficult'] = True
    # class 3: the detection on the difficult b ranks first and is ignored;
    # class 5 (c) is not detected: AP 0; class 7 has no ground truth: no AP
    results = encode_instances(
        1,
        [_inst(b, 3, 0.9), _inst(a, 3, 0.8), _inst(_strip((85, 95)), 7, 0.99)],
    )
    voc = voc_instance_metrics(gt, results)
    assert voc['voc_AP50'] == pytest.approx((100 + 0) / 2)
    # ABO over a and c (b is difficult): 1 and 0; any class counts
    assert voc['ABO'] == pytest.approx(50)
    # TP a; FP the class-7 detection; b's ignored
    assert voc['precision50'] == pytest.approx(50)
    assert voc['recall50'] == pytest.approx(50)
    gt['annotations'][1]['difficult'] = False
    voc = voc_instance_metrics(gt, results)
    assert voc['voc_AP50'] == pytest.approx(50)  # class 3 now 1.0, class 5 0
    assert voc_instance_metrics(gt, [])['voc_AP50'] == 0
    with pytest.raises(ValueError, match='image ids'):
        voc_instance_metrics(gt, encode_instances(7, [_inst(a, 3)]))


def test_abo_is_the_mean_best_overlap():
    a, b = _strip((0, 20)), _strip((40, 60))
    gt = _strip_gt(dict(mask=a, label=3), dict(mask=b, label=3))
    half = _strip((0, 10))  # IoU 0.5 with a
    wide = _strip((0, 30))  # IoU 2/3 with a
    results = encode_instances(1, [_inst(half, 4, 0.9), _inst(wide, 3, 0.1)])
    assert voc_instance_metrics(gt, results)['ABO'] == pytest.approx(100 / 3)


def test_peak_diagnostics():
    a, b = _strip((0, 20)), _strip((40, 60))
    gt = _strip_gt(dict(mask=a, label=3), dict(mask=b, label=4))
    peaks = {1: [(3, 0, 5, 0.9), (3, 0, 15, 0.8), (4, 0, 10, 0.7), (4, 0, 90, 0.1)]}
    out = peak_diagnostics(peaks, gt)
    # 4 peaks on 2 objects; a holds two of its class, b none of its class (the
    # class-4 peak at 10 lies on a); 2 of the 4 peaks lie on their class
    assert out == dict(
        peaks_per_object=2.0,
        objects_hit=50.0,
        peaks_on_objects=50.0,
        peaks_per_hit_object=2.0,
    )


def test_coco_ap_agrees_with_mmdet_coco_metric(tmp_path):
    """The project's COCO-style AP and mmdet's CocoMetric on the same masks."""
    from mmdet.evaluation import CocoMetric

    rng = np.random.default_rng(0)
    classes = ('background', 'c1', 'c2', 'c3')
    records, results, samples = [], [], []
    for image_id in (1, 2, 3, 4):
        gts = []
        for _ in range(rng.integers(1, 4)):
            y, x = rng.integers(0, 20, size=2)
            h, w = rng.integers(4, 12, size=2)
            mask = np.zeros((32, 32), bool)
            mask[y : y + h, x : x + w] = True
            gts.append(dict(mask=mask, label=int(rng.integers(1, 4))))
        records.append(
            dict(
                image_id=image_id,
                file_name=f'{image_id}.jpg',
                height=32,
                width=32,
                instances=gts,
            )
        )
        preds = []
        for g in gts:  # each object found, shifted by up to 2 px, some twice
            for _ in range(rng.integers(1, 3)):
                dy, dx = rng.integers(-2, 3, size=2)
                mask = np.roll(g['mask'], (dy, dx), axis=(0, 1))
                label = g['label'] if rng.random() < 0.8 else int(rng.integers(1, 4))
                preds.append(_inst(mask, label, float(rng.random())))
        mask = np.zeros((32, 32), bool)
        mask[rng.integers(0, 24) :][:6, :6] = True  # a false positive
        preds.append(_inst(mask, 1, float(rng.random())))
        results.extend(encode_instances(image_id, preds))
        masks = np.stack([p['mask'] for p in preds])
        boxes = []
        for m in masks:
            ys, xs = np.nonzero(m)
            boxes.append([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1])
        samples.append(
            dict(
                img_id=image_id,
                ori_shape=(32, 32),
                pred_instances=dict(
                    bboxes=torch.tensor(boxes, dtype=torch.float32),
                    scores=torch.tensor([p['score'] for p in preds]),
                    labels=torch.tensor([p['label'] - 1 for p in preds]),
                    masks=torch.from_numpy(masks),
                ),
            )
        )
    gt = masks_to_coco_gt(records, classes)
    ann_file = tmp_path / 'gt.json'
    ann_file.write_text(json.dumps(gt))
    metric = CocoMetric(ann_file=str(ann_file), metric='segm')
    metric.dataset_meta = dict(classes=classes[1:])
    metric.process({}, samples)
    theirs = metric.evaluate(len(samples))
    ours = instance_ap(gt, results)
    assert 0 < ours['AP'] < 100
    for key, name in (('AP', 'mAP'), ('AP50', 'mAP_50'), ('AP75', 'mAP_75')):
        assert ours[key] / 100 == pytest.approx(theirs[f'coco/segm_{name}'], abs=1e-3)


def test_voc_mask_ap_metric_on_mmdet_predictions(tmp_path):
    """mmdet's predictions (labels index the dataset classes) against the
    COCO json, VOC-style, from an mmdet config's scope."""
    g1, g2 = _strip((0, 20)), _strip((20, 40))
    gt = _strip_gt(dict(mask=g1, label=3), dict(mask=g2, label=3))
    other = dict(gt, images=[dict(gt['images'][0], id=2, file_name='b.jpg')])
    gt['images'] += other['images']  # an image not evaluated: left out
    gt['annotations'].append(dict(gt['annotations'][0], id=3, image_id=2))
    ann_file = tmp_path / 'gt.json'
    ann_file.write_text(json.dumps(gt))
    with DefaultScope.overwrite_default_scope('mmdet'):
        metric = METRICS.build(
            dict(type='VOCMaskAPMetric', _scope_='mmwsss', ann_file=str(ann_file))
        )
    metric.dataset_meta = dict(classes=CLASSES[1:])  # label 2 is category 3
    metric.process(
        {},
        [
            dict(
                img_id=1,
                pred_instances=dict(
                    masks=torch.from_numpy(np.stack([g1, _strip((0, 40))])),
                    labels=torch.tensor([2, 2]),
                    scores=torch.tensor([0.9, 0.8]),
                ),
            )
        ],
    )
    out = metric.evaluate(1)
    # as test_voc_matching_takes_the_best_overlap_once: TP, then FP
    assert out['voc/AP50'] == pytest.approx(50) and out['voc/AP25'] == 50
    assert out['voc/recall50'] == 50 and out['voc/ABO'] == pytest.approx(75)
    metric.dataset_meta = dict(classes=('nope',))
    metric.process(
        {},
        [
            dict(
                img_id=1,
                pred_instances=dict(masks=np.zeros((0, 1, 100)), labels=[], scores=[]),
            )
        ],
    )
    with pytest.raises(KeyError, match='categories'):
        metric.evaluate(1)
