"""CAM heatmaps and label overlays for chosen images, as one PNG grid.

Examples::

    # CAMs of the first 4 train images, and two label folders beside them
    python tools/visualize.py --data-root data/fashionpaste_demo \\
        --cam-dir work_dirs/pipeline_demo/cam/cams \\
        --labels ir=work_dirs/pipeline_demo/ir_labels/labels \\
                 irn=work_dirs/pipeline_demo/irn/pseudo_labels \\
        --out vis.png
    # chosen images
    python tools/visualize.py --data-root DATA --ids 2007_000032 2007_000039 ...

Each row is an image: the photo, its ground truth (when present), one heatmap
per class map of its CAM file (class name below it) and one overlay per label
folder (255 = unsure in the VOC ignore colour).
"""

from __future__ import annotations

import argparse
import os.path as osp

import numpy as np
from mmengine.config import DictAction
from PIL import Image

from mmwsss.datasets import dataset_classes, split_ids
from mmwsss.utils.map_file import load_map_file
from mmwsss.visualization import cam_heatmap, overlay_labels, save_grid


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Parse the command line.

    Args:
        argv (list[str], optional): Arguments without the program name. Default:
            None, meaning ``sys.argv[1:]``.

    Returns:
        argparse.Namespace: ``data_root``, ``ids``, ``split``, ``num``,
        ``cam_dir``, ``labels``, ``max_cams`` and ``out``.
    """
    parser = argparse.ArgumentParser(description='CAM heatmaps and label overlays')
    parser.add_argument('--data-root', required=True, help='VOC-layout dataset root')
    parser.add_argument('--ids', nargs='+', help='image ids; default: --num of --split')
    parser.add_argument('--split', default='train', help='split file of the ids')
    parser.add_argument('--num', type=int, default=4, help='how many images')
    parser.add_argument('--cam-dir', help='folder of {id}.npz CAM files')
    parser.add_argument(
        '--labels',
        nargs='+',
        action=DictAction,
        default={},
        help='label folders as NAME=DIR (column title = NAME)',
    )
    parser.add_argument(
        '--max-cams', type=int, default=3, help='class maps shown per image'
    )
    parser.add_argument('--out', default='vis.png', help='output PNG')
    return parser.parse_args(argv)


def image_ids(args: argparse.Namespace) -> list[str]:
    if args.ids:
        return list(args.ids)
    return split_ids(args.data_root, args.split)[: args.num]


def _cam_cells(path: str, image: np.ndarray, names: list[str], max_cams: int):
    keys, maps = load_map_file(path, ('high_res',))
    cams = maps['high_res']
    if cams.shape[1:] != image.shape[:2]:
        raise ValueError(
            f'{path}: CAM size {cams.shape[1:]} differs from the image size '
            f'{image.shape[:2]}'
        )
    cells = [(cam_heatmap(image, cam), names[int(k)]) for cam, k in zip(cams, keys)]
    cells = cells[:max_cams]
    return cells + [None] * (max_cams - len(cells))


def main(argv: list[str] | None = None) -> str:
    """Write the grid and return its path."""
    args = parse_args(argv)
    names = dataset_classes(args.data_root)
    rows = []
    for image_id in image_ids(args):
        img_path = osp.join(args.data_root, 'JPEGImages', image_id + '.jpg')
        if not osp.isfile(img_path):
            raise FileNotFoundError(f'{img_path} not found (image id {image_id!r})')
        image = np.asarray(Image.open(img_path).convert('RGB'))
        row = [image]
        gt_path = osp.join(args.data_root, 'SegmentationClass', image_id + '.png')
        row.append(
            overlay_labels(image, np.asarray(Image.open(gt_path)))
            if osp.exists(gt_path)
            else None
        )
        if args.cam_dir:
            cam_path = osp.join(args.cam_dir, image_id + '.npz')
            if not osp.isfile(cam_path):
                raise FileNotFoundError(f'{cam_path} not found')
            row += _cam_cells(cam_path, image, names, args.max_cams)
        for folder in args.labels.values():
            label_path = osp.join(folder, image_id + '.png')
            if not osp.isfile(label_path):
                raise FileNotFoundError(f'{label_path} not found')
            row.append(overlay_labels(image, np.asarray(Image.open(label_path))))
        rows.append(row)
    titles = ['image', 'ground truth']
    if args.cam_dir:
        titles += [f'CAM {i + 1}' for i in range(args.max_cams)]
    titles += list(args.labels)
    save_grid(rows, args.out, col_titles=titles, row_titles=image_ids(args))
    print(f'wrote {args.out}')
    return args.out


if __name__ == '__main__':
    main()
