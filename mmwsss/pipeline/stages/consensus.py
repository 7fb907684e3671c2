"""The ``Consensus`` stage kind: pseudo masks where several label folders agree.

A pixel keeps its label where every input folder gives it the same class and
becomes 255 (ignored by the final net's loss) elsewhere
(:func:`mmwsss.ops.seed_labels.consensus_labels`). No ground truth enters the
rule; the folder is scored like a ``Labels`` stage's (its ``coverage`` says how
many pixels kept a label, ``precision`` how many of those are right).

    dict(name='irn_crf_consensus', type='Consensus',
         labels=['irn_labels', 'crf_labels'])
"""

from __future__ import annotations

import os
import os.path as osp
import time

from mmengine.dist import is_main_process

from ...datasets import split_ids
from ...engine.exporters import atomic_save_label_png
from ...evaluation import read_label_png
from ...ops.seed_labels import consensus_labels
from ...registry import STAGES
from ..context import Input
from .base import BaseStage, score_label_stage


@STAGES.register_module()
class Consensus(BaseStage):
    """Write ``{stage_dir}/labels/{id}.png``: where the folders ``labels`` agree.

    Args of :meth:`run`:
        labels (list[str]): Two or more references of label folders
            (``'stage'`` or ``'stage.output'``).
        split (str): Split whose ids are combined. Default: 'train'.
        gt_dir (str | None): Ground-truth folder under the data root to score
            the result against (None: not scored). Default: 'SegmentationClass'.

    The result: ``outputs['labels']``, ``written``, the ``metrics`` of the
    folder when scored.
    """

    inputs = dict(labels=Input('label maps', many=True))

    def __init__(self, name: str, **settings) -> None:
        super().__init__(name, **settings)
        labels = settings.get('labels')
        if isinstance(labels, str) or not labels or len(labels) < 2:
            raise ValueError(
                f'stage {name!r}: labels must list two or more stage references, '
                f'got {labels!r}'
            )

    def run(
        self,
        ctx,
        labels: list[str],
        split: str = 'train',
        gt_dir: str | None = 'SegmentationClass',
    ) -> dict:
        refs = self.settings['labels']
        ids = split_ids(ctx.data_root, split)
        out_dir = osp.abspath(osp.join(ctx.stage_dir(self.name), 'labels'))
        start = time.perf_counter()
        result = dict(kind='consensus labels', out_dir=out_dir)
        if is_main_process():
            os.makedirs(out_dir, exist_ok=True)
            for image_id in ids:
                maps = [read_label_png(osp.join(d, image_id + '.png')) for d in labels]
                try:
                    agreed = consensus_labels(maps)
                except ValueError as error:
                    raise ValueError(f'image {image_id} of {refs}: {error}') from error
                atomic_save_label_png(osp.join(out_dir, image_id + '.png'), agreed)
            result.update(written=len(ids), scored_on=split)
            if gt_dir is not None:
                result.update(score_label_stage(ctx, out_dir, ids, gt_dir))
        result.update(
            outputs=dict(labels=out_dir), seconds=round(time.perf_counter() - start, 1)
        )
        return result
