"""OAA: accumulate each image's class attention while the classifier trains."""

from __future__ import annotations

import logging
import os.path as osp

import numpy as np
import torch
import torch.nn.functional as F
from mmengine.dist import all_gather_object, barrier, get_dist_info, is_main_process
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper

from ...datasets.pseudo_label import image_stem
from ...evaluation.instance_ap import atomic_save_json
from ...ops.oaa import (
    attention_to_image,
    check_whole_image,
    fuse_attention,
    min_max_normalize,
    storage_size,
)
from ...registry import HOOKS
from ...utils.provenance import check_or_reset, config_digest
from ..attention_store import AttentionStore
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
    epochs writes).

    The maps live in per-image files under ``store_dir``
    (:class:`~mmwsss.engine.attention_store.AttentionStore`), not in memory:
    each rank reads and writes the files of the images it trains on, and the
    ranks' files are merged by maximum at the start of the next epoch, so the
    hook's memory does not grow with the dataset. A checkpoint records where
    the store is, its run and merged epochs, not the maps; a resumed training
    continues the store (the files of an epoch the checkpoint did not finish
    are dropped, as the resumed loop runs it again) or fails naming the fix.
    When training ends the ranks write ``{out_dir}/{id}.npz`` in the CAM seed
    format (``keys``: the image's labels; ``cam``: the maps at ``stride``,
    each min-max normalised as the reference exports them; ``high_res``:
    those at the image size; :func:`~mmwsss.engine.exporters.save_cam_file`),
    each its share of the images, and rank 0 names the training images the
    accumulation never saw in ``{out_dir}/unseen_images.json`` (no file is
    written for them: a later stage fails on them by name).

    Args:
        out_dir (str): Output folder; ``{work_dir}`` is replaced.
            Default: '{work_dir}/oaa_maps'.
        start_epoch (int): First (0-based) epoch to accumulate. Default: 1
            (OAA's: the first epoch's attention is not accumulated).
        stride (int): Stride of the stored maps. Default: 4 (IRN's input).
        store_dir (str): Folder of the accumulated maps during training
            (float16 at ``stride``: about 35 KB per VOC image, 115 KB per COCO
            image); ``{work_dir}`` is replaced. Default:
            '{work_dir}/oaa_accumulation'.
    """

    # LOW: after_train_epoch closes the epoch's files before the CheckpointHook
    # (VERY_LOW) records the store; after_train_iter reads the maps of the
    # iteration's forward pass (before its optimizer step), as the reference
    # accumulates
    priority = 'LOW'

    def __init__(
        self,
        out_dir: str = '{work_dir}/oaa_maps',
        start_epoch: int = 1,
        stride: int = 4,
        store_dir: str = '{work_dir}/oaa_accumulation',
    ) -> None:
        if start_epoch < 0:
            raise ValueError(f'start_epoch must be >= 0, got {start_epoch}')
        if stride < 1:
            raise ValueError(f'stride must be >= 1, got {stride}')
        self.out_dir = out_dir
        self.start_epoch = start_epoch
        self.stride = stride
        self.store_dir = store_dir
        self.store: AttentionStore | None = None
        self._loaded: dict | None = None

    @staticmethod
    def _model(runner):
        model = runner.model
        return model.module if is_model_wrapper(model) else model

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        # kept until before_train, which knows whether this is a resume
        self._loaded = dict(
            store=checkpoint.get('oaa_store'),
            legacy=checkpoint.get('oaa'),
            epoch=(checkpoint.get('meta') or {}).get('epoch', 0),
        )

    def before_train(self, runner) -> None:
        self._model(runner).keep_train_maps = True
        self.store = AttentionStore(self.store_dir.format(work_dir=runner.work_dir))
        loaded, self._loaded = self._loaded, None
        # mmengine sets the iteration only when it resumes (load_from trains
        # from iteration 0: a fresh accumulation)
        resumed = loaded if runner.iter else None
        if resumed and resumed['store'] is not None:
            self.store.restore(resumed['store'])
        elif resumed and resumed['legacy'] is not None:
            # a checkpoint of the earlier format, with every image's maps
            self.store.load_legacy(resumed['legacy'], merged=resumed['epoch'])
        else:
            if runner.iter:
                print_log(
                    'OAAHook: the resumed checkpoint holds no accumulation; OAA '
                    'accumulates from this epoch on',
                    logger='current',
                    level=logging.WARNING,
                )
            self.store.reset()

    def before_train_epoch(self, runner) -> None:
        self.store.commit()

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
        """Fuse one image's attention into its maps (in the store).

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
        maps = self.store.read(stem)
        changed = maps is None  # a first sight is recorded, with or without maps
        maps = maps or {}
        top = set((torch.topk(logits, len(labels)).indices + 1).tolist())
        h, w = meta['img_shape'][:2]
        for c in labels:
            missing = c not in maps
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
            try:
                maps[c] = fuse_attention(maps.get(c), stored)
            except ValueError as error:
                raise ValueError(f'{stem} class {c}: {error}') from None
            changed = True
        if changed:
            self.store.write(stem, maps)

    def after_train_epoch(self, runner) -> None:
        # every rank passes here (rank 0 alone saves checkpoints): the epoch's
        # files are complete, so that the checkpoint saved after this hook
        # (the CheckpointHook runs later, priority VERY_LOW) records them
        self.store.close_epoch(runner.epoch)

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        if self.store is not None and self.store.state is not None:
            checkpoint['oaa_store'] = self.store.record()

    def after_train(self, runner) -> None:
        self.store.commit()
        out_dir = self.out_dir.format(work_dir=runner.work_dir)
        if is_main_process():
            check_or_reset(out_dir, self._record(runner))
        barrier()
        rank, world_size = get_dist_info()
        dataset = runner.train_dataloader.dataset
        shard = range(rank, len(dataset), world_size)
        unseen, unattended = self._write(dataset, shard, out_dir)
        counts = all_gather_object(
            dict(unseen=unseen, unattended=unattended, written=len(shard) - len(unseen))
        )
        if is_main_process():
            unseen = sorted(s for c in counts for s in c['unseen'])
            written = sum(c['written'] for c in counts)
            atomic_save_json(
                osp.join(out_dir, UNSEEN_FILE),
                dict(
                    unseen=unseen,
                    classes_never_attended=sum(c['unattended'] for c in counts),
                    written=written,
                ),
            )
            if unseen:
                print_log(
                    f'OAA: {len(unseen)} training image(s) were never accumulated '
                    f'(e.g. {unseen[0]}), no maps written for them; see '
                    f'{osp.join(out_dir, UNSEEN_FILE)}',
                    logger='current',
                    level=logging.WARNING,
                )
            print_log(f'OAA: maps of {written} images written to {out_dir}', 'current')
        barrier()

    def _record(self, runner) -> dict:
        return dict(
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

    def _write(self, dataset, indices, out_dir: str) -> tuple[list[str], int]:
        """Export the images ``indices`` of ``dataset``; returns the stems
        never accumulated and the number of classes never attended."""
        unseen, unattended = [], 0
        for index in indices:
            info = dataset.get_data_info(index)
            stem = image_stem(info)
            labels = sorted(int(c) for c in info.get('img_labels', []))
            maps = self.store.merged_maps(stem)
            if maps is None:
                unseen.append(stem)
                continue
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
        return unseen, unattended


def _image_size(info: dict) -> tuple[int, int]:
    """The image's (H, W): from the data info, else its file."""
    if 'height' in info and 'width' in info:
        return int(info['height']), int(info['width'])
    from PIL import Image

    with Image.open(info['img_path']) as image:
        return image.height, image.width
