"""Write a VOC-layout split's ground-truth instances as a COCO json.

Reads ``SegmentationObject`` and ``SegmentationClass`` PNGs (VOC 2012,
FashionPaste) and writes a COCO dataset that mmdet's ``CocoDataset`` and
``CocoMetric`` read (RLE masks, categories by the dataset's class names with
ids 1..C in class order; see :mod:`mmwsss.datasets.coco_gt`).

Example::

    python tools/dataset_converters/gt_instances_to_coco.py \
        data/fashionpaste_demo val data/fashionpaste_demo/gt_instances_val.json
"""

from __future__ import annotations

import argparse

from mmwsss.datasets.coco_gt import write_coco_gt


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Parse the command line.

    Args:
        argv (list[str], optional): Arguments without the program name.
            Default: None, meaning ``sys.argv[1:]``.
    """
    parser = argparse.ArgumentParser(
        description="Write a VOC-layout split's ground-truth instances as COCO json."
    )
    parser.add_argument('data_root', help='dataset root (VOC layout)')
    parser.add_argument('split', help='split name, e.g. val')
    parser.add_argument('out', help='the COCO json to write')
    parser.add_argument(
        '--object-dir', default='SegmentationObject', help='instance-id PNG folder'
    )
    parser.add_argument(
        '--class-dir', default='SegmentationClass', help='class PNG folder'
    )
    parser.add_argument(
        '--img-suffix', default='.jpg', help="suffix of the images' file names"
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    """Write the json and print its size."""
    args = parse_args(argv)
    coco = write_coco_gt(
        args.data_root,
        args.split,
        args.out,
        object_dir=args.object_dir,
        class_dir=args.class_dir,
        img_suffix=args.img_suffix,
    )
    print(
        f"{args.out}: {len(coco['images'])} images, {len(coco['annotations'])} "
        f"instances, {len(coco['categories'])} categories"
    )


if __name__ == '__main__':
    main()
