"""OAA: accumulate each image's class attention while the classifier trains."""

from __future__ import annotations

import os.path as osp

import numpy as np
import torch
import torch.nn.functional as F
from mmengine.dist import all_gather_object, barrier, get_world_size, is_main_process
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper

from ...datasets.pseudo_label import image_stem
from ...evaluation.instance_ap import atomic_save_json
from ...ops.oaa import (
    AttentionAccumulator,
    attention_to_image,
    check_whole_image,
    min_max_normalize,
    storage_size,
)
from ...registry import HOOKS
from ...utils.provenance import check_or_reset, config_digest
from ..exporters import save_cam_file

UNSEEN_FILE = 'unseen_images.json'


@HOOKS.register_module()
class OAAHook(Hook):
    """Online attention accumulation (Jiang et al., ICCV 2019) as a hook.

    OAA trains the classifier on whole images (resized, randomly flipped, not
    cropped: a cropped training input is an error naming the fix) and
    accumulates in the same forward passes. From epoch ``start_epoch`` on
    (OAA skips the first), after every training iteration, for each image of
    the batch and each of its classes whose score is among its top-k (k = its
    number of labels), the attention of the class (the training CAM, ReLU,
    min-max normalised over the image) is flipped back when the image was
    flipped, resized onto the original image's grid at ``stride``
    (:func:`mmwsss.ops.oaa.attention_to_image`) and fused into the image's
    map of that class by element-wise maximum, keyed by the image's file stem
    (so shuffling does not matter). In the last epoch a class of an image
    that has no map yet takes that epoch's attention whatever its score (the
    reference's fallback; also what a run shorter than ``start_epoch + 1``
    epochs writes). The accumulation is part of the checkpoints (a resumed
    training continues it); under DDP each rank keeps its images' maps,
    merged by maximum at the end of each epoch (so the checkpoint, saved by
    rank 0 after the epoch, holds all; checkpoints saved within an epoch hold
    rank 0's maps of that epoch). When training ends rank 0 writes
    ``{out_dir}/{id}.npz`` in the CAM seed format (``keys``: the image's
    labels; ``cam``: the maps at ``stride``, each min-max normalised as the
    reference exports them; ``high_res``: those at the image size) and names
    the training images the accumulation never saw in
    ``{out_dir}/unseen_images.json`` (no file is written for them: a later
    stage fails on them by name).

    Args:
        out_dir (str): Output folder; ``{work_dir}`` is replaced.
            Default: '{work_dir}/oaa_maps'.
        start_epoch (int): First (0-based) epoch to accumulate. Default: 1
            (OAA's: the first epoch's attention is not accumulated).
        stride (int): Stride of the stored maps. Default: 4 (IRN's input).
    """

    # LOW: after_train_epoch merges the ranks' maps before the CheckpointHook
    # (VERY_LOW) saves them; after_train_iter reads the maps of the iteration's
    # forward pass (before its optimizer step), as the reference accumulates
    priority = 'LOW'

    def __init__(
        self,
        out_dir: str = '{work_dir}/oaa_maps',
        start_epoch: int = 1,
        stride: int = 4,
    ) -> None:
        if start_epoch < 0:
            raise ValueError(f'start_epoch must be >= 0, got {start_epoch}')
        if stride < 1:
            raise ValueError(f'stride must be >= 1, got {stride}')
        self.out_dir = out_dir
        self.start_epoch = start_epoch
        self.stride = stride
        self.accumulator = AttentionAccumulator()

    @staticmethod
    def _model(runner):
        model = runner.model
        return model.module if is_model_wrapper(model) else model

    def before_train(self, runner) -> None:
        self._model(runner).keep_train_maps = True

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        samples = data_batch['data_samples']
        for sample in samples:
            check_whole_image(sample.metainfo, 'OAAHook')
        last = runner.epoch == runner.max_epochs - 1
        if runner.epoch < self.start_epoch and not last:
            return
        stash = getattr(self._model(runner), 'last_train_maps', None)
        if stash is None:
            raise RuntimeError(
                'OAAHook needs a classifier that keeps its training maps when '
                'keep_train_maps is set (CAMClassifier.loss does; a subclass that '
                'overrides loss, e.g. SEAMClassifier or IntegralAttentionModel, '
                'does not)'
            )
        cams = F.interpolate(
            stash['cams'].float(),
            size=stash['input_size'],
            mode='bilinear',
            align_corners=False,
        )
        fill_only = runner.epoch < self.start_epoch
        for cam, logits, sample in zip(cams, stash['logits'], samples):
            self.accumulate(cam, logits, sample, last=last, fill_only=fill_only)

    def accumulate(
        self, cam, logits, sample, last: bool = False, fill_only: bool = False
    ) -> None:
        """Fuse one image's attention into its maps.

        Args:
            cam (Tensor): ``(C, H_in, W_in)`` CAM logits at the padded input
                size.
            logits (Tensor): ``(C,)`` image scores.
            sample (SegDataSample): The image's sample (labels, metainfo).
            last (bool): The last epoch: a class without a map takes this
                attention whatever its score. Default: False.
            fill_only (bool): Only fill in classes without a map (a last
                epoch before ``start_epoch``). Default: False.
        """
        meta = sample.metainfo
        stem = image_stem(meta)
        labels = sample.gt_img_labels.tolist()
        self.accumulator.mark_seen(stem)
        if not labels:
            return
        top = set((torch.topk(logits, len(labels)).indices + 1).tolist())
        h, w = meta['img_shape'][:2]
        for c in labels:
            missing = not self.accumulator.has(stem, c)
            if fill_only and not missing:
                continue
            if c not in top and not (last and missing):
                continue
            attention = min_max_normalize(F.relu(cam[c - 1, :h, :w]))
            stored = attention_to_image(
                attention,
                meta['ori_shape'],
                flip=meta.get('flip', False),
                flip_direction=meta.get('flip_direction'),
                stride=self.stride,
            )
            self.accumulator.update(stem, c, stored)

    def _merged(self) -> AttentionAccumulator:
        return AttentionAccumulator.merge(all_gather_object(self.accumulator.state()))

    def after_train_epoch(self, runner) -> None:
        # every rank passes here (rank 0 alone saves checkpoints): merge the
        # ranks' maps now, so that the checkpoint saved after this hook (the
        # CheckpointHook runs later, priority VERY_LOW) holds all of them
        if get_world_size() > 1:
            self.accumulator = self._merged()

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        checkpoint['oaa'] = self.accumulator.state()

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        if 'oaa' in checkpoint:
            self.accumulator.load_state(checkpoint['oaa'])

    def after_train(self, runner) -> None:
        merged = self._merged()
        if is_main_process():
            self._write(runner, merged)
        barrier()

    def _write(self, runner, merged: AttentionAccumulator) -> None:
        out_dir = self.out_dir.format(work_dir=runner.work_dir)
        record = dict(
            kind='oaa maps',
            config=config_digest(runner.cfg),
            settings=dict(
                start_epoch=self.start_epoch,
                stride=self.stride,
                normalize='min-max',
                last_epoch_fill=True,
            ),
            iteration=runner.iter,
        )
        check_or_reset(out_dir, record)
        dataset = runner.train_dataloader.dataset
        unseen, unattended, written = [], 0, 0
        for index in range(len(dataset)):
            info = dataset.get_data_info(index)
            stem = image_stem(info)
            labels = sorted(int(c) for c in info.get('img_labels', []))
            if not merged.seen(stem):
                unseen.append(stem)
                continue
            maps = merged.maps[stem]
            height, width = _image_size(info)
            shape = storage_size((height, width), self.stride)
            strided = np.zeros((len(labels), *shape), np.float32)
            for i, c in enumerate(labels):
                if c in maps:
                    m = torch.from_numpy(maps[c].astype(np.float32))
                    strided[i] = min_max_normalize(m).numpy()
                else:
                    unattended += 1
            high = np.zeros((len(labels), height, width), np.float32)
            if labels:  # (an image without a class has no map to resize)
                high = F.interpolate(
                    torch.from_numpy(strided)[None],
                    size=(height, width),
                    mode='bilinear',
                    align_corners=False,
                )[0].numpy()
            save_cam_file(osp.join(out_dir, stem + '.npz'), labels, strided, high)
            written += 1
        atomic_save_json(
            osp.join(out_dir, UNSEEN_FILE),
            dict(unseen=unseen, classes_never_attended=unattended, written=written),
        )
        if unseen:
            print_log(
                f'OAA: {len(unseen)} training image(s) were never accumulated (e.g. '
                f'{unseen[0]}), no maps written for them; see '
                f'{osp.join(out_dir, UNSEEN_FILE)}',
                logger='current',
                level=30,
            )
        print_log(f'OAA: maps of {written} images written to {out_dir}', 'current')


def _image_size(info: dict) -> tuple[int, int]:
    """The image's (H, W): from the data info, else its file."""
    if 'height' in info and 'width' in info:
        return int(info['height']), int(info['width'])
    from PIL import Image

    with Image.open(info['img_path']) as image:
        return image.height, image.width
