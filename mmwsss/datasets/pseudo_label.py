"""Train any mmseg dataset on pseudo masks, optionally mixed with ground truth."""

from __future__ import annotations

import copy
import os.path as osp
from collections.abc import Sequence

import mmengine
import numpy as np
from mmengine.dataset import BaseDataset, ConcatDataset, RepeatDataset
from mmengine.logging import print_log

from ..registry import DATASETS

#: ``label_source`` of a sample trained on its ground-truth mask.
GT = 'gt'
#: ``label_source`` of a sample trained on a pseudo mask.
PSEUDO = 'pseudo'
_SHOW = 5


def _flat_index(dataset) -> list[tuple[BaseDataset, int]]:
    """(dataset with a data list, index in it) of every sample, through
    mmengine's ``ConcatDataset`` and ``RepeatDataset`` wrappers."""
    if isinstance(dataset, ConcatDataset):
        return [entry for d in dataset.datasets for entry in _flat_index(d)]
    if isinstance(dataset, RepeatDataset):
        return _flat_index(dataset.dataset) * dataset.times
    if not isinstance(dataset, BaseDataset):
        raise TypeError(
            'PseudoLabelDataset wraps mmengine BaseDataset, ConcatDataset or '
            f'RepeatDataset, got {type(dataset).__name__}'
        )
    dataset.full_init()
    return [(dataset, i) for i in range(len(dataset))]


def image_stem(data_info: dict) -> str:
    """Image id of a data info: its image file name without the extension.

    Pseudo-mask exporters (:class:`mmwsss.engine.LabelPNGExporter`) name their
    files by the same stem.
    """
    return osp.splitext(osp.basename(data_info['img_path']))[0]


@DATASETS.register_module()
class PseudoLabelDataset:
    """Point a segmentation dataset's masks at a folder of pseudo masks.

    Every image of ``dataset`` is trained on ``{pseudo_dir}/{image stem}.png``
    (any mmseg label PNG: class index per pixel, 255 = ignore) except a chosen
    ground-truth subset, which keeps the dataset's own ``seg_map_path``. Each
    sample's source is recorded as ``label_source`` ('gt' or 'pseudo') in its
    data info and in the metainfo of its packed data sample. Missing pseudo
    masks are an error that names them, checked once at construction; a
    mask's size and values are checked when it is read, by
    :class:`LoadAnnotationsChecked` in the wrapped dataset's pipeline.

    Wrap only training sets: validation and testing stay on ground truth
    (a ``test_mode`` dataset is refused).

    Example, in a config that inherits a stock mmseg one::

        train_dataloader = dict(dataset=dict(
            _delete_=True,
            type='PseudoLabelDataset',
            dataset={{_base_.train_dataloader.dataset}},
            pseudo_dir='work_dirs/irn/pseudo_labels'))

    Args:
        dataset (dict | BaseDataset): The dataset whose images are trained on
            (also an mmengine ``ConcatDataset`` or ``RepeatDataset`` of them).
        pseudo_dir (str): Folder of the pseudo-mask PNGs.
        gt_ids (str | Sequence[str], optional): Image stems that keep their
            ground truth, or a text file listing them (one per line). Default:
            None.
        gt_fraction (float): Share of the images, drawn at random with ``seed``,
            that keep their ground truth (in addition to ``gt_ids``). The draw
            depends on the set of image stems only, not on their order.
            Default: 0.0.
        seed (int): Seed of the ``gt_fraction`` draw. Default: 0.
        seg_map_suffix (str): Suffix of the pseudo-mask files. Default: '.png'.
        lazy_init (bool): Assign the sources and check the files at the first
            access. Default: False.
    """

    def __init__(
        self,
        dataset: dict | BaseDataset,
        pseudo_dir: str,
        gt_ids: str | Sequence[str] | None = None,
        gt_fraction: float = 0.0,
        seed: int = 0,
        seg_map_suffix: str = '.png',
        lazy_init: bool = False,
    ) -> None:
        if not 0.0 <= gt_fraction <= 1.0:
            raise ValueError(f'gt_fraction must lie in [0, 1], got {gt_fraction}')
        self.dataset = DATASETS.build(dataset) if isinstance(dataset, dict) else dataset
        self.pseudo_dir = pseudo_dir
        self.gt_ids = gt_ids
        self.gt_fraction = float(gt_fraction)
        self.seed = seed
        self.seg_map_suffix = seg_map_suffix
        self._fully_initialized = False
        if not lazy_init:
            self.full_init()

    @property
    def metainfo(self) -> dict:
        return copy.deepcopy(self.dataset.metainfo)

    def _read_gt_ids(self) -> set[str]:
        if self.gt_ids is None:
            return set()
        if isinstance(self.gt_ids, str):
            lines = mmengine.list_from_file(self.gt_ids)
            return {line.strip() for line in lines if line.strip()}
        return {str(i) for i in self.gt_ids}

    def full_init(self) -> None:
        """Assign every image its label source and check the pseudo masks."""
        if self._fully_initialized:
            return
        self._index = _flat_index(self.dataset)  # (leaf dataset, index) per sample
        if any(leaf.test_mode for leaf, _ in self._index):
            raise ValueError(
                'PseudoLabelDataset is for training sets; validate and test on '
                'ground truth (the wrapped dataset has test_mode=True)'
            )
        stems = [image_stem(leaf.get_data_info(i)) for leaf, i in self._index]
        gt = self._read_gt_ids()
        unknown = sorted(gt - set(stems))
        if unknown:
            raise KeyError(
                f'{len(unknown)} gt_ids are not images of the dataset, e.g. '
                + ', '.join(unknown[:_SHOW])
            )
        unique = sorted(set(stems))
        rng = np.random.default_rng(self.seed)
        num_drawn = int(round(self.gt_fraction * len(unique)))
        gt |= {unique[i] for i in rng.permutation(len(unique))[:num_drawn]}
        self._sources = [GT if s in gt else PSEUDO for s in stems]
        self._pseudo_paths = [
            osp.join(self.pseudo_dir, s + self.seg_map_suffix) for s in stems
        ]
        self._check_files(stems)
        self._fully_initialized = True
        num_gt = self._sources.count(GT)
        print_log(
            f'PseudoLabelDataset: {len(stems)} images, {len(stems) - num_gt} on '
            f'pseudo masks from {self.pseudo_dir}, {num_gt} on ground truth',
            logger='current',
        )

    def _check_files(self, stems: list[str]) -> None:
        """Raise if an image trained on a pseudo mask has no mask file, or an
        image trained on ground truth has no ground-truth mask."""
        missing, no_gt = [], []
        for (leaf, i), source, path, stem in zip(
            self._index, self._sources, self._pseudo_paths, stems
        ):
            if source == PSEUDO and not osp.isfile(path):
                missing.append(stem)
            elif source == GT and not leaf.get_data_info(i).get('seg_map_path'):
                no_gt.append(stem)
        if missing:
            # unique ids: a RepeatDataset lists its images several times
            missing = list(dict.fromkeys(missing))
            num_pseudo = len({s for s, c in zip(stems, self._sources) if c == PSEUDO})
            where = (
                f'from {self.pseudo_dir}'
                if osp.isdir(self.pseudo_dir)
                else f'(pseudo_dir {self.pseudo_dir} does not exist)'
            )
            raise FileNotFoundError(
                f'{len(missing)} of {num_pseudo} pseudo masks are missing {where}, '
                f'first ids: {", ".join(missing[:_SHOW])} (files {{id}}'
                f'{self.seg_map_suffix}); run the stage that writes them, point '
                'pseudo_dir at its output, or keep those images on ground truth '
                '(gt_ids)'
            )
        if no_gt:
            raise FileNotFoundError(
                f'{len(no_gt)} images chosen for ground truth have no mask in the '
                'wrapped dataset, e.g. ' + ', '.join(no_gt[:_SHOW])
            )

    def __len__(self) -> int:
        self.full_init()
        return len(self._index)

    def label_source(self, idx: int) -> str:
        """'gt' or 'pseudo': where sample ``idx`` takes its mask from."""
        self.full_init()
        return self._sources[idx]

    def get_data_info(self, idx: int) -> dict:
        """The wrapped data info with ``seg_map_path`` and ``label_source`` set."""
        self.full_init()
        leaf, i = self._index[idx]
        info = leaf.get_data_info(i)
        info['label_source'] = self._sources[idx]
        if self._sources[idx] == PSEUDO:
            info['seg_map_path'] = self._pseudo_paths[idx]
        return info

    def get_cat_ids(self, idx: int) -> list[int]:
        self.full_init()
        leaf, i = self._index[idx]
        return leaf.get_cat_ids(i)

    def _prepare(self, idx: int):
        leaf = self._index[idx][0]
        results = leaf.pipeline(self.get_data_info(idx))
        if results is not None and 'data_samples' in results:
            results['data_samples'].set_metainfo(dict(label_source=self._sources[idx]))
        return results

    def __getitem__(self, idx: int):
        """Run the wrapped dataset's pipeline on the re-pointed data info.

        Like :class:`mmengine.dataset.BaseDataset`, a sample whose pipeline
        returns None is replaced by another, random one (at most
        ``max_refetch`` times of the wrapped dataset).
        """
        self.full_init()
        leaf = self._index[idx][0]
        rng = np.random.default_rng(idx)
        for _ in range(leaf.max_refetch + 1):
            results = self._prepare(idx)
            if results is not None:
                return results
            idx = int(rng.integers(len(self)))
        raise RuntimeError(
            f'cannot find a valid sample after {leaf.max_refetch} retries; check '
            'the pipeline of the wrapped dataset'
        )
