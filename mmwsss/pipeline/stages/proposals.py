"""``Proposals``: class-agnostic proposals of a split's images (WISE's)."""

from __future__ import annotations

import os.path as osp
import time

import numpy as np
from mmengine.dist import is_main_process

from ...datasets import split_ids
from ...evaluation.instance_ap import best_overlaps, load_voc_instances
from ...registry import STAGES
from ...utils.provenance import input_digest
from ..wise import load_proposals, make_proposal_dir
from .base import BaseStage


def proposal_metrics(
    data_root: str,
    ids: list[str],
    proposal_dir: str,
    object_dir: str = 'SegmentationObject',
    class_dir: str = 'SegmentationClass',
) -> dict[str, float]:
    """How well the proposals of ``ids`` cover the ground-truth instances of
    the images that have them (``{object_dir}/{id}.png``; none: empty dict).

    Returns:
        dict: ``proposals/ABO`` (percent: the mean over instances of the best
        IoU of any proposal, the ceiling of any retrieval), ``proposals/
        recall50`` (percent of the instances with a proposal at IoU >= 0.5),
        ``proposals/per_image`` (mean proposals per scored image) and
        ``proposals/scored_images``.
    """
    from tqdm import tqdm

    overlaps, counts = [], []
    for image_id in tqdm(ids, desc='proposal recall', mininterval=5):
        object_png = osp.join(data_root, object_dir, image_id + '.png')
        if not osp.isfile(object_png):
            continue
        gt = load_voc_instances(
            object_png, osp.join(data_root, class_dir, image_id + '.png')
        )
        masks, _ = load_proposals(osp.join(proposal_dir, image_id + '.json'))
        counts.append(len(masks))
        if gt:
            overlaps.extend(best_overlaps(np.stack([g['mask'] for g in gt]), masks))
    if not counts:
        return {}
    overlaps = np.asarray(overlaps)
    return {
        'proposals/ABO': round(100 * float(overlaps.mean()), 2)
        if len(overlaps)
        else float('nan'),
        'proposals/recall50': round(100 * float((overlaps >= 0.5).mean()), 2)
        if len(overlaps)
        else float('nan'),
        'proposals/per_image': round(float(np.mean(counts)), 1),
        'proposals/scored_images': len(counts),
    }


@STAGES.register_module()
class Proposals(BaseStage):
    """Selective-search proposals of a split's images
    (:func:`~mmwsss.pipeline.wise.make_proposal_dir`, ``proposal_options``
    passed on); ``source``: a folder of precomputed proposal files instead
    (MCG, COB, ...: checked and used as they are; its content is in the
    stage's digest). On the images with ground-truth instances, the metrics
    of :func:`proposal_metrics` (``proposals/ABO``: the retrieval ceiling,
    ``proposals/recall50``, ``proposals/per_image``)."""

    on_all_ranks = True

    def config_digests(self, root_as: str | None = None) -> dict[str, str]:
        source = self.settings.get('source')
        return {'source': input_digest(source)} if source else {}

    def run(
        self,
        ctx,
        split: str = 'train',
        workers: int = 2,
        source: str | None = None,
        proposal_options: dict | None = None,
    ) -> dict:
        ids = split_ids(ctx.data_root, split)
        start = time.perf_counter()
        if source is not None:
            for image_id in ids:
                load_proposals(osp.join(source, image_id + '.json'))  # checks
            out_dir, counts = osp.abspath(source), dict(written=0, reused=len(ids))
        else:
            out_dir = osp.abspath(osp.join(ctx.stage_dir(self.name), 'proposals'))
            counts = make_proposal_dir(
                osp.join(ctx.data_root, 'JPEGImages'),
                ids,
                out_dir,
                workers=workers,
                **dict(proposal_options or {}),
            )
        seconds = time.perf_counter() - start
        metrics = (
            proposal_metrics(ctx.data_root, ids, out_dir) if is_main_process() else {}
        )
        return dict(
            kind='proposals',
            metrics=metrics,
            out_dir=out_dir,
            outputs=dict(proposals=out_dir),
            scored_on=split,
            seconds=round(seconds, 1),
            images_per_s=round(counts['written'] / seconds, 2)
            if counts['written'] == len(ids) and seconds > 0
            else None,
            **counts,
        )
