"""``Proposals``: class-agnostic proposals of a split's images (WISE's)."""

from __future__ import annotations

import os.path as osp
import time

from ...datasets import split_ids
from ...registry import STAGES
from ...utils.provenance import input_digest
from ..wise import load_proposals, make_proposal_dir
from .base import BaseStage


@STAGES.register_module()
class Proposals(BaseStage):
    """Selective-search proposals of a split's images
    (:func:`~mmwsss.pipeline.wise.make_proposal_dir`, ``proposal_options``
    passed on); ``source``: a folder of precomputed proposal files instead
    (MCG, COB, ...: checked and used as they are; its content is in the
    stage's digest)."""

    on_all_ranks = True

    def config_digests(self) -> dict[str, str]:
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
        return dict(
            kind='proposals',
            out_dir=out_dir,
            outputs=dict(proposals=out_dir),
            scored_on=split,
            seconds=round(seconds, 1),
            images_per_s=round(counts['written'] / seconds, 2)
            if counts['written'] == len(ids) and seconds > 0
            else None,
            **counts,
        )
