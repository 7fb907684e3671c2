"""``Labels``: CRF / IR / PSA / plain label PNGs from a stage's maps."""

from __future__ import annotations

import os.path as osp
import time

from ...datasets import split_ids
from ...registry import STAGES
from ..context import AUTO, Input, ThresholdsInput
from ..refine_labels import THRESHOLD_RULE, make_label_dir, score_dir_thresholds
from .base import BaseStage, score_label_stage


@STAGES.register_module()
class Labels(BaseStage):
    """Label PNGs (:func:`~mmwsss.pipeline.refine_labels.make_label_dir`, label
    ``kind`` 'ir', 'psa', 'crf' or 'cam') from a stage's CAMs or walked scores,
    scored against ``{data_root}/{gt_dir}`` (None: not scored). The images
    (for the CRF kinds) are ``{data_root}/{img_dir}/{id}.jpg``: VOC's
    ``JPEGImages`` by default, e.g. ``train2014`` for COCO.

    ``'auto:KEY'`` values of ``label_options`` are read from the
    ``thresholds`` stage, or, without one, computed from the input maps
    themselves (the ground-truth-free rule of :mod:`mmwsss.ops.thresholds`).

    ``workers`` (worker processes per rank) defaults to None: every CPU
    available to the rank (:func:`~mmwsss.pipeline.per_image.cpus_per_rank`);
    set it to leave cores to other work. The labels do not depend on it.
    """

    inputs = dict(cams=Input('CAMs'), thresholds=ThresholdsInput())
    on_all_ranks = True

    def run(
        self,
        ctx,
        kind: str,
        cams: str,
        split: str = 'train',
        label_options: dict | None = None,
        thresholds: dict | None = None,
        workers: int | None = None,
        gt_dir: str | None = 'SegmentationClass',
        img_dir: str = 'JPEGImages',
    ) -> dict:
        out_dir = osp.abspath(osp.join(ctx.stage_dir(self.name), 'labels'))
        ids = split_ids(ctx.data_root, split)
        start = time.perf_counter()
        options = dict(label_options or {})
        found = thresholds
        if found is None and any(
            isinstance(v, str) and v.startswith(AUTO) for v in options.values()
        ):
            found, _ = score_dir_thresholds(cams, ids)
        options = ctx.resolve(self.name, options, found)
        counts = make_label_dir(
            kind,
            cams,
            osp.join(ctx.data_root, img_dir),
            ids,
            out_dir,
            workers=workers,
            **options,
        )
        result = dict(
            kind=f'{kind} labels',
            out_dir=out_dir,
            outputs=dict(labels=out_dir),
            scored_on=split,
            label_options=options,
            **counts,
        )
        if found is not None:
            result.update(thresholds=found, rule=THRESHOLD_RULE)
        result['seconds'] = round(time.perf_counter() - start, 1)
        result['images_per_s'] = (
            round(counts['written'] / result['seconds'], 2)
            if counts['written'] == len(ids) and result['seconds'] > 0
            else None
        )
        if gt_dir is not None:  # each rank scores its share of the PNGs
            result.update(score_label_stage(ctx, out_dir, ids, gt_dir, shard=True))
        return result
