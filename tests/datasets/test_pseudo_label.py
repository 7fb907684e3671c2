"""PseudoLabelDataset: re-pointed masks, mixing with ground truth, bad input."""

import os
import os.path as osp

import numpy as np
import pytest
from mmengine.dataset import ConcatDataset, RepeatDataset
from mmengine.registry import init_default_scope
from PIL import Image

import mmwsss  # noqa: F401
from mmwsss.datasets import FashionPasteDataset, PseudoLabelDataset
from mmwsss.datasets.pseudo_label import GT, PSEUDO
from mmwsss.registry import DATASETS

PIPELINE = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs'),
]


@pytest.fixture(scope='module')
def data(tiny_fashionpaste, tmp_path_factory):
    """The session's tiny benchmark and pseudo masks that differ from its ground
    truth: each image's pseudo mask is filled with its index (a label not in GT)."""
    root = tmp_path_factory.mktemp('pseudo')
    data_root = tiny_fashionpaste
    ids = open(osp.join(data_root, 'ImageSets/Segmentation/train.txt')).read().split()
    pseudo_dir = str(root / 'pseudo')
    os.makedirs(pseudo_dir)
    for i, image_id in enumerate(ids):
        mask = np.full((64, 64), 100 + i, dtype=np.uint8)
        Image.fromarray(mask, mode='L').save(osp.join(pseudo_dir, image_id + '.png'))
    return data_root, pseudo_dir, ids


def _inner(data_root, **kwargs):
    init_default_scope('mmwsss')
    cfg = dict(
        type='FashionPasteDataset',
        data_root=data_root,
        ann_file='ImageSets/Segmentation/train.txt',
        label_file='cls_labels.json',
        pipeline=PIPELINE,
    )
    cfg.update(kwargs)
    return cfg


def _loaded_mask(dataset, idx):
    return dataset[idx]['data_samples'].gt_sem_seg.data.numpy()[0]


def test_every_mask_comes_from_the_pseudo_folder(data):
    data_root, pseudo_dir, ids = data
    dataset = PseudoLabelDataset(dataset=_inner(data_root), pseudo_dir=pseudo_dir)
    assert len(dataset) == len(ids)
    assert dataset.metainfo['classes'] == FashionPasteDataset.METAINFO['classes']
    for idx, image_id in enumerate(ids):
        info = dataset.get_data_info(idx)
        assert info['seg_map_path'] == osp.join(pseudo_dir, image_id + '.png')
        assert info['label_source'] == PSEUDO
        sample = dataset[idx]['data_samples']
        assert sample.metainfo['label_source'] == PSEUDO
        assert (_loaded_mask(dataset, idx) == 100 + idx).all()


def test_mixing_gt_ids_and_fraction(data):
    data_root, pseudo_dir, ids = data
    gt_file = osp.join(pseudo_dir, '..', 'gt_ids.txt')
    with open(gt_file, 'w') as f:
        f.write(f'{ids[1]}\n\n{ids[4]}\n')
    for gt_ids in ([ids[1], ids[4]], gt_file):
        dataset = PseudoLabelDataset(
            dataset=_inner(data_root), pseudo_dir=pseudo_dir, gt_ids=gt_ids
        )
        sources = [dataset.label_source(i) for i in range(len(ids))]
        assert [i for i, s in enumerate(sources) if s == GT] == [1, 4]
        gt_mask = np.array(
            Image.open(osp.join(data_root, 'SegmentationClass', ids[1] + '.png'))
        )
        assert (_loaded_mask(dataset, 1) == gt_mask).all()
        assert dataset[1]['data_samples'].metainfo['label_source'] == GT
        assert (_loaded_mask(dataset, 0) == 100).all()

    half = PseudoLabelDataset(
        dataset=_inner(data_root), pseudo_dir=pseudo_dir, gt_fraction=0.5, seed=3
    )
    chosen = {ids[i] for i in range(len(ids)) if half.label_source(i) == GT}
    assert len(chosen) == len(ids) // 2
    # the draw depends on the image set, not on the order of the split file
    reordered = osp.join(pseudo_dir, '..', 'train_reversed.txt')
    with open(reordered, 'w') as f:
        f.write('\n'.join(reversed(ids)))
    flipped = PseudoLabelDataset(
        dataset=_inner(data_root, ann_file=reordered),
        pseudo_dir=pseudo_dir,
        gt_fraction=0.5,
        seed=3,
    )
    rev_ids = list(reversed(ids))
    assert {rev_ids[i] for i in range(len(ids)) if flipped.label_source(i) == GT} == (
        chosen
    )
    everything = PseudoLabelDataset(
        dataset=_inner(data_root), pseudo_dir='/nonexistent', gt_fraction=1.0
    )
    assert all(everything.label_source(i) == GT for i in range(len(ids)))


def test_concat_and_repeat_wrappers(data):
    data_root, pseudo_dir, ids = data
    val_ids = open(osp.join(data_root, 'ImageSets/Segmentation/val.txt')).read().split()
    for image_id in val_ids:
        Image.fromarray(np.zeros((64, 64), np.uint8), mode='L').save(
            osp.join(pseudo_dir, image_id + '.png')
        )
    val_split = 'ImageSets/Segmentation/val.txt'
    try:
        concat = ConcatDataset(
            [
                DATASETS.build(_inner(data_root)),
                DATASETS.build(_inner(data_root, ann_file=val_split)),
            ]
        )
        dataset = PseudoLabelDataset(dataset=concat, pseudo_dir=pseudo_dir)
        assert len(dataset) == len(ids) + len(val_ids)
        last = dataset.get_data_info(len(dataset) - 1)
        assert last['seg_map_path'] == osp.join(pseudo_dir, val_ids[-1] + '.png')
        repeated = PseudoLabelDataset(
            dataset=RepeatDataset(DATASETS.build(_inner(data_root)), times=2),
            pseudo_dir=pseudo_dir,
            gt_ids=[ids[0]],
        )
        assert len(repeated) == 2 * len(ids)
        assert repeated.label_source(0) == GT == repeated.label_source(len(ids))
        assert repeated.label_source(1) == PSEUDO
    finally:
        for image_id in val_ids:
            os.remove(osp.join(pseudo_dir, image_id + '.png'))


def test_bad_input_names_the_problem(data, tmp_path):
    data_root, pseudo_dir, ids = data
    partial = str(tmp_path / 'partial')
    os.makedirs(partial)
    Image.fromarray(np.zeros((64, 64), np.uint8), mode='L').save(
        osp.join(partial, ids[0] + '.png')
    )
    with pytest.raises(
        FileNotFoundError,
        match=f'{len(ids) - 1} of {len(ids)} .* from {partial}, first ids: {ids[1]}',
    ):
        PseudoLabelDataset(dataset=_inner(data_root), pseudo_dir=partial)
    with pytest.raises(FileNotFoundError, match='pseudo_dir /nonexistent does not'):
        PseudoLabelDataset(dataset=_inner(data_root), pseudo_dir='/nonexistent')
    # the check covers only the images that train on pseudo masks
    assert (
        PseudoLabelDataset(
            dataset=_inner(data_root), pseudo_dir=partial, gt_ids=ids[1:]
        ).label_source(0)
        == PSEUDO
    )
    with pytest.raises(KeyError, match='not-an-image'):
        PseudoLabelDataset(
            dataset=_inner(data_root), pseudo_dir=pseudo_dir, gt_ids=['not-an-image']
        )
    with pytest.raises(FileNotFoundError, match='no mask'):
        PseudoLabelDataset(
            dataset=_inner(data_root, data_prefix=dict(img_path='JPEGImages')),
            pseudo_dir=pseudo_dir,
            gt_fraction=1.0,
        )
    with pytest.raises(ValueError, match='test_mode'):
        PseudoLabelDataset(
            dataset=_inner(data_root, test_mode=True), pseudo_dir=pseudo_dir
        )
    with pytest.raises(ValueError, match='gt_fraction'):
        PseudoLabelDataset(
            dataset=_inner(data_root), pseudo_dir=pseudo_dir, gt_fraction=1.5
        )


def test_bad_pseudo_masks_are_named_when_loaded(data, tmp_path):
    data_root, pseudo_dir, ids = data
    checked = [
        dict(type='LoadImageFromFileChecked'),
        dict(type='LoadAnnotationsChecked', num_classes=11),
        dict(type='PackSegInputs'),
    ]
    # the fixture's masks hold 100 + index: no FashionPaste class
    dataset = PseudoLabelDataset(
        dataset=_inner(data_root, pipeline=checked), pseudo_dir=pseudo_dir
    )
    with pytest.raises(ValueError, match=f'{ids[0]}.png: mask value 100 .* 0..10'):
        dataset[0]
    small_dir = str(tmp_path / 'small')
    os.makedirs(small_dir)
    for image_id in ids:
        Image.fromarray(np.zeros((32, 64), np.uint8), mode='L').save(
            osp.join(small_dir, image_id + '.png')
        )
    dataset = PseudoLabelDataset(
        dataset=_inner(data_root, pipeline=checked), pseudo_dir=small_dir
    )
    with pytest.raises(ValueError, match=rf'{ids[0]}.png: size \(32, 64\)'):
        dataset[0]
