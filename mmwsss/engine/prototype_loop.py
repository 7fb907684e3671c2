"""PtReCl's prototype stage as a test loop: features in, prototypes out."""

from __future__ import annotations

import json
import os
import os.path as osp
import time
from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from mmengine.dist import all_gather_object, barrier, get_rank, is_main_process
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper
from mmengine.runner import BaseLoop
from mmengine.utils import ProgressBar

from ..ops.prototypes import GRID_RULES, PrototypeBank, mask_to_grid, pixel_features
from ..registry import LOOPS
from ..utils.distributed import broadcast_from_main
from ..utils.memory import peak_rss_mb, reset_peak_rss, rss_mb
from ..utils.provenance import (
    check_or_reset,
    config_digest,
    input_digest,
    read_provenance,
    state_dict_digest,
)
from .loops import _base_dataset, _tested_checkpoint

PROTOTYPE_FILE = 'prototypes.pth'
STATS_FILE = 'prototype_stats.json'
#: What a prototype file holds (see :func:`load_prototypes`).
PROTOTYPE_KEYS = ('fg', 'bg', 'fg_counts', 'bg_counts', 'fg_sizes', 'bg_sizes')


def load_prototypes(path: str) -> dict:
    """The prototype file a :class:`PrototypeLoop` wrote (a folder or the file).

    Returns:
        dict: ``fg`` / ``bg`` ``(C, K, D)`` float tensors, ``fg_sizes`` /
        ``bg_sizes`` ``(C, K)`` cluster sizes, ``fg_counts`` / ``bg_counts``
        ``(C,)`` long tensors and ``meta``.
    """
    if osp.isdir(path):
        path = osp.join(path, PROTOTYPE_FILE)
    if not osp.isfile(path):
        raise FileNotFoundError(
            f'no prototype file {path}: run the prototype stage first '
            '(a config whose test_cfg is PrototypeLoop)'
        )
    content = torch.load(path, map_location='cpu', weights_only=True)
    missing = set(PROTOTYPE_KEYS) - set(content)
    if missing:
        raise KeyError(
            f'{path} is no prototype file of this version: it lacks '
            f'{sorted(missing)}; rerun the prototype stage (PrototypeLoop)'
        )
    return content


def _pseudo_dir(dataset) -> str | None:
    """The pseudo-mask folder of a ``PseudoLabelDataset`` (among wrappers)."""
    while dataset is not None:
        if hasattr(dataset, 'pseudo_dir'):
            return dataset.pseudo_dir
        dataset = getattr(dataset, 'dataset', None)
    return None


@LOOPS.register_module()
class PrototypeLoop(BaseLoop):
    """Foreground / background prototypes of every class (PtReCl, step 4).

    Runs the model's backbone (``extract_feat``; by default the decode head's
    input, see ``in_index``) over the dataloader's images once and, per image
    and class it contains (``gt_img_labels``), samples the features of the
    grid cells its mask (``gt_sem_seg``: the pseudo masks, e.g. the recovery
    net's through ``PseudoLabelDataset``) gives the class (foreground) and of
    its other labelled cells (background) into bounded reservoirs
    (:class:`~mmwsss.ops.prototypes.PrototypeBank`: memory independent of the
    number of images). A cell takes the label covering most of its pixels
    (:func:`~mmwsss.ops.prototypes.mask_to_grid`, ``grid_labels``). Under DDP
    each rank samples its shard and rank 0 merges the reservoirs into one
    uniform sample. Cosine K-means then gives ``num_prototypes`` foreground
    and background prototypes per class and their cluster sizes, saved to
    ``{out_dir}/prototypes.pth`` (see :func:`load_prototypes`), with
    ``prototype_stats.json`` (pixels seen and kept per class, cells left out,
    time, memory).

    The folder records its provenance (config, weights, dataset, pseudo masks);
    a finished file of the same provenance is reused, another is moved aside.

    Args:
        runner (Runner): The runner.
        dataloader (DataLoader | dict): Images with masks and image labels.
        evaluator: Unused (the Runner passes the test evaluator).
        out_dir (str): Output folder; ``{work_dir}`` is replaced.
        num_prototypes (int): K, prototypes per class and side. Default: 20
            (PtReCl's).
        capacity (int): Features kept per class and side. Default: 4096.
        seed (int): Sampling and clustering seed. Default: 0.
        in_index (int | Sequence[int], optional): Which backbone output, or
            several stacked as SIPE stacks its stages
            (:func:`~mmwsss.ops.prototypes.pixel_features`); default: the
            decode head's ``in_index``.
        grid_labels (str): How a grid cell is labelled: 'majority' (the label
            of more than half of its pixels, else left out) or 'nearest' (one
            pixel, for comparison). Default: 'majority'.
        ignore_index (int): Mask value of unlabelled pixels. Default: 255.
    """

    def __init__(
        self,
        runner,
        dataloader,
        evaluator=None,
        out_dir: str = '{work_dir}/prototypes',
        num_prototypes: int = 20,
        capacity: int = 4096,
        seed: int = 0,
        in_index: int | Sequence[int] | None = None,
        grid_labels: str = 'majority',
        ignore_index: int = 255,
    ) -> None:
        super().__init__(runner, dataloader)
        if num_prototypes < 1 or capacity < num_prototypes:
            raise ValueError(
                f'need 1 <= num_prototypes <= capacity, got {num_prototypes} and '
                f'{capacity}'
            )
        self.out_dir = out_dir.format(work_dir=runner.work_dir)
        self.num_prototypes = int(num_prototypes)
        self.capacity = int(capacity)
        self.seed = int(seed)
        if grid_labels not in GRID_RULES:
            raise ValueError(
                f'grid_labels must be one of {GRID_RULES}, got {grid_labels!r}'
            )
        if in_index is not None and not isinstance(in_index, int):
            in_index = tuple(int(i) for i in in_index)
        self.in_index = in_index
        self.grid_labels = grid_labels
        self.ignore_index = ignore_index
        # grid cells holding labelled pixels, and those the grid rule labels
        self._cells = np.zeros(2, np.int64)

    def _model(self):
        model = self.runner.model
        return model.module if is_model_wrapper(model) else model

    def provenance(self) -> dict:
        runner = self.runner
        dataset = _base_dataset(self.dataloader.dataset)
        pseudo_dir = _pseudo_dir(self.dataloader.dataset)
        return dict(
            kind='prototypes',
            config=config_digest(runner.cfg),
            weights=state_dict_digest(runner.model),
            settings=dict(
                num_prototypes=self.num_prototypes,
                capacity=self.capacity,
                seed=self.seed,
                in_index=self.in_index,
                grid_labels=self.grid_labels,
                # cluster sizes and spherical K-means (files without them differ)
                file_format=2,
            ),
            inputs=dict(pseudo_dir=input_digest(pseudo_dir) if pseudo_dir else None),
            data=dict(
                data_root=getattr(dataset, 'data_root', None),
                ann_file=getattr(dataset, 'ann_file', None),
                num_images=len(self.dataloader.dataset),
            ),
            info=dict(checkpoint=_tested_checkpoint(runner)),
        )

    def run(self) -> dict:
        runner = self.runner
        runner.call_hook('before_test')
        runner.call_hook('before_test_epoch')
        done = None
        if is_main_process():
            check = check_or_reset(self.out_dir, self.provenance())
            stats_path = osp.join(self.out_dir, STATS_FILE)
            if check['status'] == 'match' and osp.isfile(stats_path):
                with open(stats_path) as f:
                    done = json.load(f)
        done = broadcast_from_main(done)
        if done is not None:
            print_log(
                f'prototypes in {self.out_dir}: same provenance, reused', 'current'
            )
            metrics = self._metrics(done)
        else:
            metrics = self._metrics(self._compute())
        runner.call_hook('after_test_epoch', metrics=metrics)
        runner.call_hook('after_test')
        return metrics

    @staticmethod
    def _metrics(stats: dict) -> dict:
        """The stats as metrics (NaN for a memory figure this OS lacks)."""
        nan = float('nan')
        stats = {k: nan if v is None else v for k, v in stats.items()}
        return {
            'prototypes/seconds': stats['seconds'],
            'prototypes/peak_rss_mb': stats['peak_rss_mb'],
            'prototypes/peak_above_start_mb': stats['peak_above_start_mb'],
            'prototypes/bank_mb': stats['bank_mb'],
            'prototypes/images': stats['num_images'],
            'prototypes/classes': stats['classes_with_prototypes'],
            # share of exact zeros among the features streamed (older stats
            # files lack it)
            'prototypes/feature_zero_fraction': stats.get('feature_zero_fraction', nan),
            # share of the grid cells holding labelled pixels that the grid
            # rule left out (mixed cells, on outlines)
            'prototypes/cells_left_out': stats.get('cells_left_out', nan),
        }

    @torch.no_grad()
    def _compute(self) -> dict:
        model = self._model()
        model.eval()
        head = getattr(model, 'decode_head', None)
        in_index = self.in_index
        if in_index is None:
            in_index = getattr(head, 'in_index', -1) if head is not None else -1
        num_classes = getattr(head, 'num_classes', None) or len(
            self.dataloader.dataset.metainfo['classes']
        )
        base_rss = rss_mb()
        reset = reset_peak_rss()
        start = time.perf_counter()
        bank = PrototypeBank(num_classes, self.capacity, seed=self.seed + get_rank())
        progress = ProgressBar(len(self.dataloader)) if is_main_process() else None
        zeros = values = 0  # how sparse the features are (e.g. after a ReLU)
        for idx, data_batch in enumerate(self.dataloader):
            self.runner.call_hook(
                'before_test_iter', batch_idx=idx, data_batch=data_batch
            )
            data = model.data_preprocessor(data_batch, False)
            features = pixel_features(model.extract_feat(data['inputs']), in_index)
            zeros += int((features == 0).sum())
            values += features.numel()
            pad_shape = tuple(data['inputs'].shape[-2:])
            for feat, sample in zip(features, data['data_samples']):
                self._add_sample(bank, feat, sample, pad_shape)
            self.runner.call_hook(
                'after_test_iter', batch_idx=idx, data_batch=data_batch, outputs=None
            )
            if progress is not None:
                progress.update()
        states = all_gather_object(bank.state())
        counts = all_gather_object((zeros, values))
        cells = all_gather_object(self._cells.tolist())
        stats = None
        if is_main_process():
            merged = PrototypeBank.merge(states, num_classes, self.capacity, self.seed)
            prototypes = merged.prototypes(self.num_prototypes)
            stats = self._save(prototypes, merged, start, base_rss, reset)
            total = sum(v for _, v in counts)
            stats['feature_zero_fraction'] = (
                round(sum(z for z, _ in counts) / total, 4) if total else None
            )
            seen, kept = np.sum(cells, axis=0)
            stats['cells_left_out'] = round(1 - kept / seen, 4) if seen else None
            self._write_stats(stats)
        barrier()
        return broadcast_from_main(stats)

    def _add_sample(
        self, bank: PrototypeBank, feat: torch.Tensor, sample, pad_shape
    ) -> None:
        """Sample ``feat`` (the features of the padded input of ``pad_shape``)
        by the sample's mask, padded alike (bottom and right, unlabelled)."""
        if 'gt_img_labels' not in sample:
            raise KeyError(
                f'{sample.metainfo.get("img_path", "a sample")} has no image '
                "labels: add dict(type='LoadImageLevelLabels') and "
                "dict(type='PackWSSSInputs') to the prototype pipeline"
            )
        if 'gt_sem_seg' not in sample:
            raise KeyError(
                f'{sample.metainfo.get("img_path", "a sample")} has no mask: the '
                'prototype dataloader must load the pseudo masks '
                '(PseudoLabelDataset and LoadAnnotations)'
            )
        mask = sample.gt_sem_seg.data[0]  # [H, W]
        pad_h, pad_w = pad_shape[0] - mask.shape[0], pad_shape[1] - mask.shape[1]
        if pad_h < 0 or pad_w < 0:
            raise ValueError(
                f'the mask of {sample.metainfo.get("img_path", "a sample")} '
                f'({tuple(mask.shape)}) is larger than its input {pad_shape}: '
                'the prototype pipeline must not resize the image alone'
            )
        mask = F.pad(mask, (0, pad_w, 0, pad_h), value=self.ignore_index)
        grid = mask_to_grid(
            mask, feat.shape[-2:], self.grid_labels, self.ignore_index
        )  # [h, w]
        # cells holding any labelled pixel, and those the rule labels
        holding = F.adaptive_max_pool2d(
            (mask != self.ignore_index).float()[None, None], tuple(grid.shape)
        )
        self._cells += (int(holding.sum()), int((grid != self.ignore_index).sum()))
        bank.add_image(
            feat.cpu().numpy(),
            grid.cpu().numpy(),
            sample.gt_img_labels.tolist(),
            self.ignore_index,
        )

    def _save(self, prototypes, bank, start, base_rss, reset) -> dict:
        os.makedirs(self.out_dir, exist_ok=True)
        content = {
            key: torch.from_numpy(np.ascontiguousarray(value))
            for key, value in prototypes.items()
        }
        content['meta'] = dict(
            num_prototypes=self.num_prototypes,
            capacity=self.capacity,
            seed=self.seed,
            classes=list(self.dataloader.dataset.metainfo.get('classes', [])),
            provenance=(read_provenance(self.out_dir) or {}).get('digest'),
        )
        tmp = osp.join(self.out_dir, PROTOTYPE_FILE + '.part')
        torch.save(content, tmp)
        os.replace(tmp, osp.join(self.out_dir, PROTOTYPE_FILE))
        stats = dict(
            seconds=round(time.perf_counter() - start, 1),
            peak_rss_mb=round(peak_rss_mb(), 1) if reset else None,
            peak_above_start_mb=round(peak_rss_mb() - base_rss, 1) if reset else None,
            bank_mb=round(bank.nbytes / 2**20, 1),
            num_images=len(self.dataloader.dataset),
            classes_with_prototypes=int((prototypes['fg_counts'] > 0).sum()),
            fg_pixels=prototypes['fg_pixels'].tolist(),
            bg_pixels=prototypes['bg_pixels'].tolist(),
            fg_counts=prototypes['fg_counts'].tolist(),
            bg_counts=prototypes['bg_counts'].tolist(),
        )
        print_log(
            f'prototypes of {stats["classes_with_prototypes"]} classes written to '
            f'{self.out_dir} in {stats["seconds"]} s (bank {stats["bank_mb"]} MB)',
            'current',
        )
        return stats

    def _write_stats(self, stats: dict) -> None:
        tmp = osp.join(self.out_dir, STATS_FILE + '.part')
        with open(tmp, 'w') as f:
            json.dump(stats, f, indent=1)
        os.replace(tmp, osp.join(self.out_dir, STATS_FILE))
