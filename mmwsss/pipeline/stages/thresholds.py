"""``Thresholds``: ground-truth-free thresholds from a stage's maps."""

from __future__ import annotations

import os.path as osp
import time

from mmengine.dist import is_main_process

from ...datasets import split_ids
from ...registry import STAGES
from ..context import Input, write_json
from ..refine_labels import THRESHOLD_RULE, score_dir_thresholds
from .base import BaseStage


@STAGES.register_module()
class Thresholds(BaseStage):
    """:func:`mmwsss.ops.thresholds.thresholds_from_histogram` of the pooled
    per-pixel max class score of a split's CAMs (or walked scores): no ground
    truth. Writes ``thresholds.json``; every rank pools its share."""

    inputs = dict(cams=Input('CAMs'))
    on_all_ranks = True

    def run(self, ctx, cams: str, split: str = 'train') -> dict:
        start = time.perf_counter()
        thresholds, hist = score_dir_thresholds(cams, split_ids(ctx.data_root, split))
        out_dir = ctx.stage_dir(self.name)
        if is_main_process():  # every rank has the same histogram
            write_json(
                osp.join(out_dir, 'thresholds.json'),
                dict(
                    thresholds=thresholds, rule=THRESHOLD_RULE, histogram=hist.tolist()
                ),
            )
        return dict(
            kind='thresholds',
            out_dir=osp.abspath(out_dir),
            thresholds=thresholds,
            rule=THRESHOLD_RULE,
            seconds=round(time.perf_counter() - start, 1),
        )
