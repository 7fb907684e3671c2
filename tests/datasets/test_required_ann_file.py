"""RequiredAnnFile: a dataset whose annotation file a pipeline stage makes."""

import json
import os.path as osp

import pytest
from mmengine.config import Config
from mmengine.registry import DATASETS, DefaultScope

import mmwsss  # noqa: F401

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
WISE = osp.join(
    ROOT, 'configs/wise/mask-rcnn_effl0_fpn_1xb8-1000it_fashionpaste-160_wise.py'
)


def _train_dataset(ann_file):
    cfg = Config.fromfile(WISE)
    cfg.merge_from_dict({'train_dataloader.dataset.ann_file': ann_file})
    return cfg.train_dataloader.dataset


def test_missing_pseudo_labels_say_how_to_make_and_pass_them(tmp_path):
    dataset = _train_dataset(str(tmp_path / 'nope.json'))
    with DefaultScope.overwrite_default_scope('mmdet'):
        with pytest.raises(FileNotFoundError) as error:
            DATASETS.build(dataset)
    message = str(error.value)
    assert str(tmp_path / 'nope.json') in message
    assert '--until wise' in message
    assert '--cfg-options train_dataloader.dataset.ann_file=' in message


def test_existing_pseudo_labels_build_the_coco_dataset(tmp_path):
    from mmdet.datasets import CocoDataset

    classes = Config.fromfile(WISE).train_dataloader.dataset.dataset.metainfo
    coco = dict(
        images=[dict(id=1, file_name='a.jpg', height=40, width=40)],
        annotations=[
            dict(
                id=1,
                image_id=1,
                category_id=2,
                bbox=[0.0, 0.0, 40.0, 40.0],
                area=1600.0,
                iscrowd=0,
                segmentation=[[0, 0, 40, 0, 40, 40, 0, 40]],
            )
        ],
        categories=[dict(id=i + 1, name=n) for i, n in enumerate(classes['classes'])],
    )
    ann_file = tmp_path / 'pseudo.json'
    ann_file.write_text(json.dumps(coco))
    with DefaultScope.overwrite_default_scope('mmdet'):
        dataset = DATASETS.build(_train_dataset(str(ann_file)))
    assert isinstance(dataset, CocoDataset)
    assert dataset.ann_file == str(ann_file) and len(dataset) == 1
    # its pipeline is mmdet's (built in mmdet's scope, not mmwsss's)
    assert type(dataset.pipeline.transforms[1]).__module__.startswith('mmdet')
