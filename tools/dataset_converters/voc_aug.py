"""Build PASCAL VOC 2012 ``train_aug`` from VOC 2012 and SBD.

Writes, under ``--out`` (default: the VOC root):

- ``SegmentationClassAug/{id}.png``: palette PNGs of class indices for every
  SBD image (from ``cls/{id}.mat``) and every VOC image with a
  ``SegmentationClass`` mask; where both exist, VOC's own mask wins.
- ``ImageSets/Segmentation/train_aug.txt``: SBD train + SBD val + VOC train,
  minus VOC val, sorted and unique (10582 ids for the real data sets).
- ``ImageSets/Segmentation/aug.txt``: the SBD images that are in neither VOC
  train nor VOC val, sorted (9118 ids): MMSegmentation's VOC ``train_aug``
  configs (``pascal_voc12_aug.py``, e.g. ``configs/pseudo_label/``) read VOC
  train from ``SegmentationClass`` plus this list from ``SegmentationClassAug``.
- ``cls_labels.json``: ``{id: [foreground class indices]}`` for train_aug and
  VOC val, read from the masks above.

Example::

    python tools/dataset_converters/voc_aug.py \
        --voc-root data/VOCdevkit/VOC2012 --sbd-root data/benchmark_RELEASE
"""

import argparse
import json
import os
import os.path as osp
import shutil

import numpy as np
from PIL import Image
from scipy.io import loadmat
from tqdm import tqdm

from mmwsss.datasets.palette import voc_palette
from mmwsss.datasets.voc import VOC_CLASSES, labels_from_mask

PALETTE = np.asarray(voc_palette(256), dtype=np.uint8).ravel().tolist()


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Parse the command line.

    Args:
        argv (list[str], optional): Arguments; None reads ``sys.argv``.
            Default: None.

    Returns:
        argparse.Namespace: ``voc_root``, ``sbd_root`` and ``out``.
    """
    parser = argparse.ArgumentParser(
        description='Build VOC 2012 train_aug (SegmentationClassAug, '
        'train_aug.txt, aug.txt, cls_labels.json) from VOC 2012 and SBD.'
    )
    parser.add_argument(
        '--voc-root', required=True, help='VOC2012 folder (JPEGImages, ImageSets, ...)'
    )
    parser.add_argument(
        '--sbd-root',
        required=True,
        help='SBD folder holding cls/, train.txt and val.txt '
        '(benchmark_RELEASE or benchmark_RELEASE/dataset)',
    )
    parser.add_argument(
        '--out', default=None, help='output folder (default: --voc-root)'
    )
    return parser.parse_args(argv)


def read_ids(path: str) -> list[str]:
    """Read one image id per line, skipping blank lines.

    Args:
        path (str): Split file.

    Returns:
        list[str]: The ids.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'split file not found: {path}')
    with open(path) as f:
        return [line.strip() for line in f if line.strip()]


def resolve_sbd_root(sbd_root: str) -> str:
    """Return the SBD folder that holds ``cls/`` (accepts its parent too).

    Args:
        sbd_root (str): ``benchmark_RELEASE`` or ``benchmark_RELEASE/dataset``.

    Returns:
        str: The folder with ``cls/``, ``train.txt`` and ``val.txt``.
    """
    for candidate in (sbd_root, osp.join(sbd_root, 'dataset')):
        if osp.isdir(osp.join(candidate, 'cls')):
            return candidate
    raise FileNotFoundError(f'no cls/ folder in {sbd_root} or {sbd_root}/dataset')


def load_sbd_mask(path: str) -> np.ndarray:
    """Read the class mask of an SBD ``cls/*.mat`` file.

    Args:
        path (str): The ``.mat`` file (struct ``GTcls`` with ``Segmentation``).

    Returns:
        np.ndarray: ``(H, W)`` uint8 class indices.
    """
    mat = loadmat(path, squeeze_me=True, struct_as_record=False)
    if 'GTcls' not in mat or not hasattr(mat['GTcls'], 'Segmentation'):
        raise KeyError(f'{path}: expected a struct GTcls with a field Segmentation')
    mask = np.asarray(mat['GTcls'].Segmentation)
    if mask.ndim != 2:
        raise ValueError(f'{path}: Segmentation has shape {mask.shape}, expected 2-D')
    if mask.min() < 0 or mask.max() > 255:
        raise ValueError(
            f'{path}: Segmentation values {mask.min()}..{mask.max()} do not fit uint8'
        )
    return mask.astype(np.uint8)


def save_palette_png(mask: np.ndarray, path: str) -> None:
    """Write a class-index mask as a VOC palette PNG (atomically).

    Args:
        mask (np.ndarray): ``(H, W)`` uint8 class indices.
        path (str): Destination file.
    """
    img = Image.fromarray(mask, mode='P')
    img.putpalette(PALETTE)
    tmp = path + '.tmp'
    img.save(tmp, format='PNG')
    os.replace(tmp, path)


def write_text(path: str, text: str) -> None:
    """Write a text file atomically.

    Args:
        path (str): Destination file.
        text (str): Content.
    """
    tmp = path + '.tmp'
    with open(tmp, 'w') as f:
        f.write(text)
    os.replace(tmp, path)


def main(argv: list[str] | None = None) -> None:
    """Run the conversion.

    Args:
        argv (list[str], optional): Command line; None reads ``sys.argv``.
            Default: None.
    """
    args = parse_args(argv)
    voc_root = args.voc_root
    out = args.out or voc_root
    sbd_root = resolve_sbd_root(args.sbd_root)
    num_classes = len(VOC_CLASSES)

    voc_split_dir = osp.join(voc_root, 'ImageSets', 'Segmentation')
    voc_train = read_ids(osp.join(voc_split_dir, 'train.txt'))
    voc_val = read_ids(osp.join(voc_split_dir, 'val.txt'))
    sbd_ids = read_ids(osp.join(sbd_root, 'train.txt')) + read_ids(
        osp.join(sbd_root, 'val.txt')
    )
    train_aug = sorted((set(sbd_ids) | set(voc_train)) - set(voc_val))

    missing_img = [
        i
        for i in train_aug
        if not osp.isfile(osp.join(voc_root, 'JPEGImages', i + '.jpg'))
    ]
    if missing_img:
        raise FileNotFoundError(
            f'{len(missing_img)} train_aug ids have no image in '
            f'{voc_root}/JPEGImages, e.g. ' + ', '.join(missing_img[:5])
        )

    voc_seg_dir = osp.join(voc_root, 'SegmentationClass')
    voc_masks = {
        name[: -len('.png')]
        for name in os.listdir(voc_seg_dir)
        if name.endswith('.png')
    }
    aug_dir = osp.join(out, 'SegmentationClassAug')
    os.makedirs(aug_dir, exist_ok=True)
    labels: dict[str, list[int]] = {}

    # SBD masks first; an id that VOC annotates keeps VOC's mask below.
    sbd_only = sorted(set(sbd_ids) - voc_masks)
    for img_id in tqdm(sbd_only, desc='SBD .mat -> png', unit='img'):
        mat_path = osp.join(sbd_root, 'cls', img_id + '.mat')
        if not osp.isfile(mat_path):
            raise FileNotFoundError(f'SBD mask not found: {mat_path}')
        mask = load_sbd_mask(mat_path)
        labels[img_id] = labels_from_mask(mask, num_classes, mat_path)
        save_palette_png(mask, osp.join(aug_dir, img_id + '.png'))

    for img_id in tqdm(sorted(voc_masks), desc='VOC masks', unit='img'):
        src = osp.join(voc_seg_dir, img_id + '.png')
        mask = np.asarray(Image.open(src))
        labels[img_id] = labels_from_mask(mask, num_classes, src)
        dst = osp.join(aug_dir, img_id + '.png')
        if osp.abspath(src) != osp.abspath(dst):
            shutil.copyfile(src, dst + '.tmp')
            os.replace(dst + '.tmp', dst)

    no_mask = [i for i in train_aug + voc_val if i not in labels]
    if no_mask:
        raise FileNotFoundError(
            f'{len(no_mask)} train_aug/val ids have neither an SBD nor a VOC mask, '
            'e.g. ' + ', '.join(no_mask[:5])
        )

    out_split_dir = osp.join(out, 'ImageSets', 'Segmentation')
    os.makedirs(out_split_dir, exist_ok=True)
    write_text(
        osp.join(out_split_dir, 'train_aug.txt'), ''.join(i + '\n' for i in train_aug)
    )
    # mmseg's split: train_aug is VOC train + aug
    aug = sorted(set(sbd_ids) - set(voc_train) - set(voc_val))
    write_text(osp.join(out_split_dir, 'aug.txt'), ''.join(i + '\n' for i in aug))
    cls_labels = {i: labels[i] for i in sorted(set(train_aug) | set(voc_val))}
    write_text(osp.join(out, 'cls_labels.json'), json.dumps(cls_labels) + '\n')
    print(
        f'train_aug: {len(train_aug)} ids (aug.txt: {len(aug)}); '
        f'{len(labels)} masks in {aug_dir}; '
        f'labels for {len(cls_labels)} ids in {osp.join(out, "cls_labels.json")}'
    )


if __name__ == '__main__':
    main()
