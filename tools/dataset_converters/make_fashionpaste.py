"""Generate the FashionPaste benchmark (VOC layout) from real photographs.

Example::

    python tools/dataset_converters/make_fashionpaste.py \
        --out data/fashionpaste_demo --size demo --seed 0
"""

from __future__ import annotations

import argparse
import json

from mmwsss.datasets.fashionpaste import PRESETS, SOURCES, generate_fashionpaste


def parse_args() -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(
        description='Generate the FashionPaste benchmark in the VOC layout.'
    )
    parser.add_argument('--out', required=True, help='dataset folder to create')
    parser.add_argument(
        '--size',
        default='demo',
        choices=tuple(PRESETS),
        help='size preset (generator 1.0: tiny, demo, bench; 2.0: *-v2)',
    )
    parser.add_argument('--seed', type=int, default=0, help='random seed (>= 0)')
    parser.add_argument(
        '--source',
        default='auto',
        choices=SOURCES,
        help="Fashion-MNIST source: Debian's full set, the shipped subset, "
        "or auto (Debian's when installed)",
    )
    parser.add_argument(
        '--overwrite',
        action='store_true',
        help='replace other content found in --out',
    )
    parser.add_argument(
        '--no-progress', action='store_true', help='hide the progress bar'
    )
    return parser.parse_args()


def main() -> None:
    """Generate the dataset and print its manifest summary."""
    args = parse_args()
    manifest = generate_fashionpaste(
        args.out,
        size=args.size,
        seed=args.seed,
        source=args.source,
        progress=not args.no_progress,
        overwrite=args.overwrite,
    )
    summary = {
        k: manifest[k]
        for k in ('size', 'seed', 'source', 'image_size', 'counts', 'num_instances')
    }
    print(f'FashionPaste ready in {args.out}: {json.dumps(summary)}')


if __name__ == '__main__':
    main()
