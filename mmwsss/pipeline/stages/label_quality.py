"""The ``LabelQuality`` stage kind: score several label folders side by side.

Every ``Labels`` stage already scores its own folder; this stage scores the
label maps of several earlier stages (label stages, or the pseudo masks a
``TrainTest`` stage exported, e.g. AffinityNet's) with the same ground truth and
the same outline metrics, so that a table of region and boundary quality
(:mod:`mmwsss.evaluation.contour`) can compare them. It reads ground truth, so
it is an analysis stage: nothing downstream may take a setting from it.

    dict(name='label_quality', type='LabelQuality',
         labels=['cam_labels', 'crf_labels', 'irn_labels'])
"""

from __future__ import annotations

import time

from ...datasets import dataset_classes, split_ids
from ...evaluation import score_label_dir
from ...registry import STAGES
from ..context import Input
from .base import BaseStage


@STAGES.register_module()
class LabelQuality(BaseStage):
    """Score the label folders ``labels`` (references ``'stage'`` or
    ``'stage.output'``, scored in this order) of the ``split`` against
    ``{data_root}/{gt_dir}``.

    The result's ``scores`` maps each reference to its metrics
    (:func:`mmwsss.evaluation.score_label_dir`, contour metrics included). In a
    distributed pipeline each rank scores its share of the images.
    """

    inputs = dict(labels=Input('label maps', many=True))
    on_all_ranks = True

    def __init__(self, name: str, **settings) -> None:
        super().__init__(name, **settings)
        labels = settings.get('labels')
        if isinstance(labels, str) or not labels:
            raise ValueError(
                f'stage {name!r}: labels must be a non-empty list of stage '
                f'references, got {labels!r}'
            )

    def run(
        self,
        ctx,
        labels: list[str],
        split: str = 'train',
        gt_dir: str = 'SegmentationClass',
    ) -> dict:
        folders = dict(zip(self.settings['labels'], labels, strict=True))
        ids = split_ids(ctx.data_root, split)
        num_classes = len(dataset_classes(ctx.data_root))
        start = time.perf_counter()
        scores = {}
        for ref, folder in folders.items():
            found = score_label_dir(
                folder, f'{ctx.data_root}/{gt_dir}', ids, num_classes, shard=True
            )
            scores[ref] = {
                k: v for k, v in found.items() if not isinstance(v, list | dict)
            }
            scores[ref]['IoU'] = found['IoU']
            scores[ref]['contour_F_per_class'] = found['contour_F_per_class']
        return dict(
            kind='label quality',
            out_dir=ctx.stage_dir(self.name),
            scored_on=split,
            folders=folders,
            scores=scores,
            seconds=round(time.perf_counter() - start, 1),
        )
