"""``WISE``: one pseudo instance per peak of the class maps, from proposals."""

from __future__ import annotations

import os.path as osp
import time

from mmengine.dist import is_main_process

from ...datasets import dataset_classes, split_ids
from ...datasets.coco_gt import voc_instances_to_coco
from ...engine.instance_exporter import merge_instance_jsons
from ...evaluation.instance_ap import instance_ap
from ...registry import STAGES
from ..context import Input, ThresholdsInput
from ..wise import make_wise_dir
from .base import BaseStage


@STAGES.register_module()
class WISE(BaseStage):
    """WISE pseudo instances (:func:`~mmwsss.pipeline.wise.make_wise_dir`) from
    a stage's class maps (``cams``) and a ``Proposals`` stage, merged into a
    COCO dataset (output ``pseudo_instances_coco``) and, with
    ``gt_instances``, scored (mask AP, AP50) against the split's ground-truth
    instances. ``min_score='auto:bg_score'`` reads the maps' ground-truth-free
    background score from a ``thresholds`` stage."""

    inputs = dict(
        cams=Input('class maps'),
        proposals=Input('proposals'),
        thresholds=ThresholdsInput(),
    )
    on_all_ranks = True

    def run(
        self,
        ctx,
        cams: str,
        proposals: str,
        split: str = 'train',
        thresholds: dict | None = None,
        min_score=0.0,
        nms_iou: float = 0.3,
        workers: int = 2,
        gt_instances: bool = True,
    ) -> dict:
        min_score = float(ctx.resolve(self.name, min_score, thresholds))
        ids = split_ids(ctx.data_root, split)
        stage_dir = ctx.stage_dir(self.name)
        out_dir = osp.abspath(osp.join(stage_dir, 'pseudo_instances'))
        start = time.perf_counter()
        counts = make_wise_dir(
            cams,
            proposals,
            ctx.data_root,
            ids,
            out_dir,
            min_score=min_score,
            nms_iou=nms_iou,
            workers=workers,
        )
        coco = osp.abspath(osp.join(stage_dir, 'pseudo_instances_coco.json'))
        image_ids = {stem: i + 1 for i, stem in enumerate(ids)}
        classes = dataset_classes(ctx.data_root)
        if is_main_process():  # every rank's files are written (counts summed)
            merge_instance_jsons(
                out_dir, image_ids, coco, as_annotations=True, classes=classes
            )
        result = dict(
            kind='wise',
            out_dir=out_dir,
            outputs=dict(pseudo_instances=out_dir, pseudo_instances_coco=coco),
            scored_on=split,
            options=dict(min_score=min_score, nms_iou=nms_iou),
            seconds=round(time.perf_counter() - start, 1),
            **counts,
        )
        if thresholds is not None:
            result['thresholds'] = thresholds
        if gt_instances and is_main_process():
            gt = voc_instances_to_coco(ctx.data_root, split, classes=classes)
            results = merge_instance_jsons(
                out_dir, image_ids, osp.join(stage_dir, 'results.json')
            )
            scores = instance_ap(gt, results)
            result['metrics'] = {
                'instance/AP50': scores['AP50'],
                'instance/AP': scores['AP'],
            }
        return result
