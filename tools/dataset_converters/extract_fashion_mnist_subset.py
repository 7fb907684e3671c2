"""Extract the small Fashion-MNIST subset that mmwsss ships.

The subset lets the FashionPaste benchmark run where Debian's
``dataset-fashion-mnist`` package is not installed. It holds the first
``--train-per-class`` items of every class from Fashion-MNIST's train split and
the first ``--test-per-class`` items of every class from its test split (first
in the original file order), so the extraction is deterministic and the output
file is byte-identical on every run.

Example::

    python tools/dataset_converters/extract_fashion_mnist_subset.py \\
        --src /usr/share/datasets/fashion-mnist \\
        --out mmwsss/datasets/data/fashion_mnist_subset.npz
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from mmwsss.datasets.fashionpaste import (
    DEBIAN_FASHION_MNIST_DIR,
    SUBSET_PATH,
    read_fashion_mnist_idx,
)


def parse_args() -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(
        description='Extract the Fashion-MNIST subset shipped with mmwsss.'
    )
    parser.add_argument(
        '--src',
        default=str(DEBIAN_FASHION_MNIST_DIR),
        help='folder with the four Fashion-MNIST *-ubyte.gz files',
    )
    parser.add_argument('--out', default=str(SUBSET_PATH), help='output .npz file')
    parser.add_argument('--train-per-class', type=int, default=300)
    parser.add_argument('--test-per-class', type=int, default=100)
    return parser.parse_args()


def first_per_class(
    labels: np.ndarray, per_class: int, num_classes: int = 10
) -> np.ndarray:
    """Indices of the first ``per_class`` items of every class, in file order.

    Args:
        labels (np.ndarray): Labels of the whole split, shape (N,).
        per_class (int): Items to keep per class.
        num_classes (int): Number of classes. Default: 10.

    Returns:
        np.ndarray: Sorted int64 indices into the split.
    """
    picked = []
    for cls in range(num_classes):
        idx = np.flatnonzero(labels == cls)
        if len(idx) < per_class:
            raise ValueError(
                f'class {cls} has only {len(idx)} items, {per_class} requested'
            )
        picked.append(idx[:per_class])
    return np.sort(np.concatenate(picked))


def main() -> None:
    """Read the full Fashion-MNIST files and write the subset."""
    args = parse_args()
    src = Path(args.src)
    arrays = {}
    for split, prefix, per_class in (
        ('train', 'train', args.train_per_class),
        ('test', 't10k', args.test_per_class),
    ):
        images = read_fashion_mnist_idx(src / f'{prefix}-images-idx3-ubyte.gz')
        labels = read_fashion_mnist_idx(src / f'{prefix}-labels-idx1-ubyte.gz')
        keep = first_per_class(labels, per_class)
        arrays[f'{split}_images'] = images[keep]
        arrays[f'{split}_labels'] = labels[keep]
        arrays[f'{split}_indices'] = keep.astype(np.int32)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    # numpy writes the zip members with a fixed timestamp, so the file is
    # byte-identical for identical arrays.
    np.savez_compressed(out, **arrays)
    sizes = {k: v.shape for k, v in arrays.items()}
    print(f'wrote {out} ({out.stat().st_size} bytes): {sizes}')


if __name__ == '__main__':
    main()
