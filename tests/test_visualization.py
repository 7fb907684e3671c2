"""mmwsss.visualization: overlays, heatmaps and grids; tools/visualize.py."""

import os
import os.path as osp

import numpy as np
import pytest
from PIL import Image

from mmwsss.datasets.palette import voc_palette
from mmwsss.visualization import (
    cam_heatmap,
    instance_colours,
    overlay_instances,
    overlay_labels,
    save_bar_chart,
    save_grid,
)


def test_overlay_labels_hand_case():
    image = np.zeros((2, 3, 3), np.uint8)
    image[..., 0] = 90  # grey value 30 everywhere
    labels = np.array([[0, 1, 255], [2, 0, 0]])
    out = overlay_labels(image, labels, alpha=0.5)
    assert out.dtype == np.uint8 and out.shape == (2, 3, 3)
    assert (out[0, 0] == 30).all()  # background: the greyed image
    for (y, x), label in (((0, 1), 1), ((0, 2), 255), ((1, 0), 2)):
        expected = np.round(0.5 * 30 + 0.5 * np.array(voc_palette()[label]))
        assert (out[y, x] == expected).all(), (label, out[y, x])
    with pytest.raises(ValueError, match='label size'):
        overlay_labels(image, labels[:, :2])
    # VOC's grey class 7 gets a colour that differs from the greyed image
    grey = overlay_labels(image, np.full((2, 3), 7), alpha=0.5)
    assert len(set(grey[0, 0].tolist())) > 1


def test_overlay_instances_hand_case():
    """Two instances of one 5x5 image: distinct colours, blended inside,
    opaque on their borders, the later one on top where they overlap."""
    image = np.full((5, 5, 3), 40, np.uint8)
    masks = np.zeros((2, 5, 5), bool)
    masks[0, 0:3, 0:3] = True  # border: all but (1, 1)
    masks[1, 2:5, 2:5] = True  # border: all but (3, 3); covers (2, 2)
    first, second = instance_colours(2).astype(float)
    assert not np.array_equal(first, second)
    # 18 colours, none grey (a grey overlay vanishes on the greyed image)
    cycle = instance_colours(18).astype(int)
    assert len({tuple(c) for c in cycle}) == 18
    assert (cycle.max(1) - cycle.min(1) > 30).all()
    out = overlay_instances(image, masks, alpha=0.5)
    assert out.dtype == np.uint8 and out.shape == (5, 5, 3)
    assert (out[0, 4] == 40).all() and (out[4, 0] == 40).all()  # no instance
    assert (out[1, 1] == np.round(0.5 * 40 + 0.5 * first)).all()  # interior
    assert (out[3, 3] == np.round(0.5 * 40 + 0.5 * second)).all()
    assert (out[0, 0] == first).all() and (out[4, 4] == second).all()  # borders
    assert (out[2, 2] == second).all()  # the later instance on top
    plain = overlay_instances(image, masks, alpha=0.5, outline=False)
    assert (plain[0, 0] == np.round(0.5 * 40 + 0.5 * first)).all()
    assert (overlay_instances(image, np.zeros((0, 5, 5), bool)) == 40).all()
    with pytest.raises(ValueError, match='masks must be'):
        overlay_instances(image, masks[:, :4])


def test_cam_heatmap_shows_the_activation():
    image = np.full((4, 4, 3), 128, np.uint8)
    cam = np.zeros((4, 4), np.float32)
    cam[:2] = 1.0
    heat = cam_heatmap(image, cam)
    # jet: low activation is blue, high is red
    assert heat[0, 0, 0] > heat[0, 0, 2] and heat[3, 3, 2] > heat[3, 3, 0]
    with pytest.raises(ValueError, match='CAM size'):
        cam_heatmap(image, cam[:3])


def test_grid_and_chart_files(tmp_path):
    cell = np.zeros((8, 8, 3), np.uint8)
    path = str(tmp_path / 'grid.png')
    save_grid([[cell, (cell, 'titled'), None]] * 2, path, col_titles=['a', 'b', 'c'])
    width, height = Image.open(path).size
    assert width > 1.3 * height  # 3 columns, 2 rows
    with pytest.raises(ValueError, match='same number'):
        save_grid([[cell, cell], [cell]], path)
    chart = str(tmp_path / 'chart.png')
    save_bar_chart(['cam', 'irn'], [30.0, 45.5], chart)
    assert osp.getsize(chart) > 1000


def test_visualize_tool(tiny_fashionpaste, tmp_path, import_tool):
    data_root = tiny_fashionpaste
    ids = open(osp.join(data_root, 'ImageSets/Segmentation/train.txt')).read().split()
    cam_dir, label_dir = tmp_path / 'cams', tmp_path / 'labels'
    os.makedirs(cam_dir)
    os.makedirs(label_dir)
    for image_id in ids[:2]:
        gt = np.array(
            Image.open(osp.join(data_root, 'SegmentationClass', f'{image_id}.png'))
        )
        keys = np.unique(gt[(gt > 0) & (gt < 255)])
        cams = np.stack([(gt == k).astype(np.float32) for k in keys])
        np.savez(cam_dir / f'{image_id}.npz', keys=keys, high_res=cams, cam=cams)
        Image.fromarray(gt).save(label_dir / f'{image_id}.png')
    out = str(tmp_path / 'vis.png')
    tool = import_tool('visualize')
    tool.main(
        [
            '--data-root',
            data_root,
            '--num',
            '2',
            '--cam-dir',
            str(cam_dir),
            '--labels',
            f'pseudo={label_dir}',
            '--out',
            out,
        ]
    )
    width, height = Image.open(out).size
    assert width > 2.5 * height  # image, GT, 3 CAMs, 1 label folder; 2 rows
    with pytest.raises(FileNotFoundError, match=ids[2]):
        tool.main(
            ['--data-root', data_root, '--ids', ids[2], '--cam-dir', str(cam_dir)]
        )
