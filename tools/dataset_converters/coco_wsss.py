"""Turn a COCO 2014 instances json into semantic masks and image-level labels.

Writes, under ``--out`` (default: ``{coco-root}/wsss/{split}``):

- ``SegmentationClass/{file stem}.png``: palette PNGs of class indices. The
  80 categories, sorted by id, become 1..80 and 0 is background. Crowd
  regions are 255 (ignore) except where a non-crowd instance covers them;
  instances are drawn in order of decreasing area, so small objects stay on
  top of the large ones they overlap.
- ``cls_labels.json``: ``{file stem: [indices of the categories with at least
  one non-crowd instance]}``, for every image of the json.

and ``--split-list`` (default: ``{coco-root}/ImageSets/Segmentation/{split}.txt``):
the file stems of the images with at least one non-crowd instance, by image
id, the images ``WSSSCOCODataset(filter_empty=True)`` keeps. The pipeline's
label stages read their image ids from this list
(:func:`mmwsss.datasets.split_ids`).

Example::

    python tools/dataset_converters/coco_wsss.py --coco-root data/coco \
        --split train2014
"""

import argparse
import json
import os
import os.path as osp
from collections import defaultdict

import numpy as np
from PIL import Image
from pycocotools import mask as mask_utils
from tqdm import tqdm

from mmwsss.datasets.coco import COCO_CLASSES, coco_category_map
from mmwsss.datasets.palette import voc_palette

PALETTE = np.asarray(voc_palette(256), dtype=np.uint8).ravel().tolist()
IGNORE_INDEX = 255


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Parse the command line.

    Args:
        argv (list[str], optional): Arguments; None reads ``sys.argv``.
            Default: None.

    Returns:
        argparse.Namespace: ``coco_root``, ``split``, ``ann_file``, ``out`` and
        ``split_list``.
    """
    parser = argparse.ArgumentParser(
        description='COCO instances json -> semantic PNG masks + cls_labels.json'
    )
    parser.add_argument('--coco-root', required=True, help='COCO folder')
    parser.add_argument('--split', default='train2014', help='e.g. train2014, val2014')
    parser.add_argument(
        '--ann-file',
        default=None,
        help='instances json (default: {coco-root}/annotations/instances_{split}.json)',
    )
    parser.add_argument(
        '--out', default=None, help='output folder (default: {coco-root}/wsss/{split})'
    )
    parser.add_argument(
        '--split-list',
        default=None,
        help='list of the images with an object (default: '
        '{coco-root}/ImageSets/Segmentation/{split}.txt)',
    )
    return parser.parse_args(argv)


def instance_mask(segmentation: list | dict, height: int, width: int) -> np.ndarray:
    """Decode one COCO segmentation (polygons, RLE or compressed RLE).

    Args:
        segmentation (list | dict): The ``segmentation`` of an annotation.
        height (int): Image height.
        width (int): Image width.

    Returns:
        np.ndarray: ``(height, width)`` bool mask.
    """
    if isinstance(segmentation, list):  # polygons
        rle = mask_utils.merge(mask_utils.frPyObjects(segmentation, height, width))
    elif isinstance(segmentation.get('counts'), list):  # uncompressed RLE
        rle = mask_utils.frPyObjects(segmentation, height, width)
    else:  # compressed RLE
        rle = dict(segmentation)
        if isinstance(rle['counts'], str):
            rle['counts'] = rle['counts'].encode('ascii')
    mask = mask_utils.decode(rle)
    if mask.shape[:2] != (height, width):
        raise ValueError(
            f'segmentation decodes to {mask.shape[:2]}, image is {(height, width)}'
        )
    return mask.astype(bool)


def semantic_mask(
    annotations: list[dict], height: int, width: int, cat_to_index: dict[int, int]
) -> tuple[np.ndarray, list[int]]:
    """Paint the instances of one image into a class-index mask.

    Args:
        annotations (list[dict]): The image's COCO annotations.
        height (int): Image height.
        width (int): Image width.
        cat_to_index (dict[int, int]): Category id -> class index.

    Returns:
        tuple[np.ndarray, list[int]]: ``(H, W)`` uint8 mask and the sorted
        class indices of the non-crowd instances.
    """
    semantic = np.zeros((height, width), dtype=np.uint8)
    instances = []
    for ann in annotations:
        if ann['category_id'] not in cat_to_index:
            raise KeyError(
                f'annotation {ann.get("id")} has unknown category id '
                f'{ann["category_id"]}'
            )
        mask = instance_mask(ann['segmentation'], height, width)
        if ann.get('iscrowd', 0):
            semantic[mask] = IGNORE_INDEX
        else:
            instances.append((int(mask.sum()), cat_to_index[ann['category_id']], mask))
    # Largest first, so smaller instances are painted over the larger ones.
    instances.sort(key=lambda item: -item[0])
    for _, index, mask in instances:
        semantic[mask] = index
    return semantic, sorted({index for _, index, _ in instances})


def save_palette_png(mask: np.ndarray, path: str) -> None:
    """Write a class-index mask as a palette PNG (atomically).

    Args:
        mask (np.ndarray): ``(H, W)`` uint8 class indices.
        path (str): Destination file.
    """
    img = Image.fromarray(mask, mode='P')
    img.putpalette(PALETTE)
    tmp = path + '.tmp'
    img.save(tmp, format='PNG')
    os.replace(tmp, path)


def write_atomic(text: str, path: str) -> None:
    """Write ``text`` to ``path`` through a temporary file (no half-written
    file is left behind by an interrupted run)."""
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    with open(path + '.tmp', 'w') as f:
        f.write(text)
    os.replace(path + '.tmp', path)


def main(argv: list[str] | None = None) -> None:
    """Run the conversion.

    Args:
        argv (list[str], optional): Command line; None reads ``sys.argv``.
            Default: None.
    """
    args = parse_args(argv)
    ann_file = args.ann_file or osp.join(
        args.coco_root, 'annotations', f'instances_{args.split}.json'
    )
    out = args.out or osp.join(args.coco_root, 'wsss', args.split)
    with open(ann_file) as f:
        coco = json.load(f)
    cat_to_index = coco_category_map(coco['categories'], COCO_CLASSES[1:])

    by_image = defaultdict(list)
    for ann in coco['annotations']:
        by_image[ann['image_id']].append(ann)
    unknown = set(by_image) - {img['id'] for img in coco['images']}
    if unknown:
        raise KeyError(
            f'{ann_file}: annotations refer to {len(unknown)} unknown image ids, '
            f'e.g. {sorted(unknown)[:5]}'
        )

    seg_dir = osp.join(out, 'SegmentationClass')
    os.makedirs(seg_dir, exist_ok=True)
    labels = {}
    for img in tqdm(
        sorted(coco['images'], key=lambda img: img['id']), desc='masks', unit='img'
    ):
        stem = osp.splitext(img['file_name'])[0]
        try:
            semantic, img_labels = semantic_mask(
                by_image[img['id']], img['height'], img['width'], cat_to_index
            )
        except (KeyError, ValueError) as error:
            raise ValueError(
                f'{ann_file}, image {img["file_name"]}: {error}'
            ) from error
        save_palette_png(semantic, osp.join(seg_dir, stem + '.png'))
        labels[stem] = img_labels

    label_path = osp.join(out, 'cls_labels.json')
    write_atomic(json.dumps(dict(sorted(labels.items()))) + '\n', label_path)
    # labels holds the images in id order
    listed = [stem for stem, img_labels in labels.items() if img_labels]
    split_list = args.split_list or osp.join(
        args.coco_root, 'ImageSets', 'Segmentation', f'{args.split}.txt'
    )
    write_atomic(''.join(f'{stem}\n' for stem in listed), split_list)
    print(
        f'{len(labels)} masks in {seg_dir}; labels in {label_path}; the '
        f'{len(listed)} images with an object listed in {split_list}'
    )


if __name__ == '__main__':
    main()
