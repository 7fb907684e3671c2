"""The report's stage table: each stage's own main metrics."""

import pytest

from mmwsss.pipeline.report import stage_ap, stage_table

RESULTS = {
    'data': dict(kind='dataset', metrics={'all_background_mIoU': 6.7}, seconds=1),
    'deeplabv2': dict(kind='deeplabv2', scored_on='val', metrics={'mIoU': 33.04}),
    'irn': dict(
        kind='irn',
        scored_on='train',
        metrics={'mIoU': 48.5, 'instance/AP50': 21.25, 'instance/AP': 9.5},
    ),
    'maskrcnn': dict(
        kind='mask_rcnn',
        scored_on='val',
        metrics={
            'coco/bbox_mAP': 0.123,
            'coco/bbox_mAP_50': 0.3,
            'coco/bbox_mAP_l': -1.0,
            'coco/segm_mAP': 0.101,
            'coco/segm_mAP_50': 0.25,
        },
        inputs=dict(train_instances='irn.pseudo_instances'),
        train_annotations=dict(file='x.json', images=8, instances=7),
        seconds=17.3,
    ),
    'later': {},
}


def _cells(rows, name):
    row = next(r for r in rows if r.startswith(f'| {name} |'))
    return [c.strip() for c in row.strip('|').split('|')]


def test_ap_in_percent_from_mmdet_and_instance_metrics():
    assert stage_ap(RESULTS['maskrcnn']) == dict(
        box=pytest.approx((12.3, 30.0)), mask=pytest.approx((10.1, 25.0))
    )
    assert stage_ap(RESULTS['irn']) == dict(mask=(9.5, 21.25))
    assert stage_ap(RESULTS['deeplabv2']) == {}
    # COCO's -1 (no ground truth to score) is no AP
    assert stage_ap(dict(metrics={'coco/bbox_mAP': -1, 'coco/bbox_mAP_50': -1})) == {}


def test_table_shows_each_stages_own_metrics():
    rows = stage_table(RESULTS)
    assert rows[0].split('|')[4:7] == [' mIoU ', ' box AP / AP50 ', ' mask AP / AP50 ']
    assert len({r.count('|') for r in rows}) == 1
    assert _cells(rows, 'deeplabv2')[2:6] == ['val', '33.0', '-', '-']
    assert _cells(rows, 'irn')[3:6] == ['48.5', '-', '9.5 / 21.2']
    det = _cells(rows, 'maskrcnn')
    assert det[3:6] == ['-', '12.3 / 30.0', '10.1 / 25.0']
    assert (
        'mmdet CocoMetric' in det[6] and '7 instances of irn.pseudo_instances' in det[6]
    )
    assert det[7] == '17'
    assert _cells(rows, 'later')[1] == 'not run'
