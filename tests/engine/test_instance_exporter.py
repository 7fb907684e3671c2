import json
import os

import numpy as np
import pytest
import torch
from mmseg.structures import SegDataSample

from mmwsss.engine import InstanceExporter, merge_instance_jsons
from mmwsss.evaluation import decode_mask, instance_ap, masks_to_coco_gt
from mmwsss.registry import EXPORTERS


def _masks():
    a = np.zeros((6, 8), dtype=bool)
    a[1:3, 1:4] = True
    b = np.zeros((6, 8), dtype=bool)
    b[4:6, 5:8] = True
    return a, b


def _sample(stem, instances=None):
    sample = SegDataSample(
        metainfo=dict(img_path=f'/data/JPEGImages/{stem}.jpg', ori_shape=(6, 8))
    )
    if instances is not None:
        sample.set_field(instances, 'pred_instances')
    return sample


def _instances(scores=(0.9, 0.0)):
    a, b = _masks()
    return [
        dict(mask=a, label=15, score=scores[0]),
        dict(mask=b, label=3, score=scores[1]),
    ]


def test_save_exists_load_round_trip(tmp_path):
    exporter = EXPORTERS.build(
        dict(type='InstanceExporter', out_dir='{work_dir}/instances')
    )
    assert isinstance(exporter, InstanceExporter)
    os.makedirs(tmp_path / 'instances')
    stale = tmp_path / 'instances' / 'x.json.part'
    stale.write_text('{"half": ')
    exporter.prepare(str(tmp_path))
    assert not stale.exists()

    sample = _sample('2007_000032', _instances())
    assert not exporter.exists(sample.metainfo)
    exporter.save(sample)
    assert exporter.exists(sample.metainfo)
    assert sorted(os.listdir(tmp_path / 'instances')) == ['2007_000032.json']
    with open(tmp_path / 'instances' / '2007_000032.json') as f:
        record = json.load(f)
    assert record['file_name'] == '2007_000032.jpg'
    assert (record['height'], record['width']) == (6, 8)
    assert [i['category_id'] for i in record['instances']] == [15, 3]

    loaded = exporter.load(_sample('2007_000032')).pred_instances
    a, b = _masks()
    assert torch.equal(loaded.masks, torch.from_numpy(np.stack([a, b])))
    assert loaded.labels.tolist() == [15, 3]
    assert loaded.scores.tolist() == pytest.approx([0.9, 0.0])

    # an InstanceData prediction (what load restores) saves the same file
    again = _sample('2007_000032', loaded)
    exporter.save(again)
    with open(tmp_path / 'instances' / '2007_000032.json') as f:
        resaved = json.load(f)
    scores = [i.pop('score') for i in resaved['instances']]
    assert scores == pytest.approx([0.9, 0.0])  # float32 in InstanceData
    for inst in record['instances']:
        inst.pop('score')
    assert resaved == record


def test_empty_prediction_round_trip(tmp_path):
    exporter = InstanceExporter(out_dir=str(tmp_path))
    exporter.prepare(str(tmp_path))
    exporter.save(_sample('empty', []))
    loaded = exporter.load(_sample('empty')).pred_instances
    assert len(loaded) == 0 and loaded.masks.shape == (0, 6, 8)


def test_merge_instance_jsons(tmp_path):
    exporter = InstanceExporter(out_dir=str(tmp_path / 'inst'))
    exporter.prepare(str(tmp_path))
    exporter.save(_sample('a', _instances()))
    exporter.save(_sample('b', _instances((0.5, 0.7))))
    a, b = _masks()
    records = [
        dict(
            image_id=i,
            file_name=f'{stem}.jpg',
            height=6,
            width=8,
            instances=[dict(mask=a, label=15), dict(mask=b, label=3)],
        )
        for i, stem in ((4, 'a'), (9, 'b'))
    ]
    gt = masks_to_coco_gt(records)

    results = merge_instance_jsons(str(tmp_path / 'inst'), gt, str(tmp_path / 'r.json'))
    with open(tmp_path / 'r.json') as f:
        assert json.load(f) == results
    assert [(r['image_id'], r['category_id']) for r in results] == [
        (4, 15),
        (4, 3),
        (9, 15),
        (9, 3),
    ]
    assert instance_ap(gt, results)['AP50'] == pytest.approx(100)

    # annotations drop the zero-score fragment of image a, as IRN does
    train = merge_instance_jsons(
        str(tmp_path / 'inst'), {'a': 1, 'b': 2}, str(tmp_path / 't.json'), True
    )
    assert [i['id'] for i in train['images']] == [1, 2]
    assert [(x['id'], x['image_id']) for x in train['annotations']] == [
        (1, 1),
        (2, 2),
        (3, 2),
    ]
    assert train['annotations'][0]['bbox'] == [1.0, 1.0, 3.0, 2.0]
    assert np.array_equal(decode_mask(train['annotations'][0]['segmentation']), a)
    assert [c['id'] for c in train['categories']] == [3, 15]

    with pytest.raises(FileNotFoundError, match='missing.json'):
        merge_instance_jsons(str(tmp_path / 'inst'), {'missing': 3}, 'x.json')
