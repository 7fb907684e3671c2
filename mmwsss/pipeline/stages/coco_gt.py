"""``CocoGT``: a split's ground-truth instances as a COCO json."""

from __future__ import annotations

import os.path as osp
import time

from ...datasets.coco_gt import write_coco_gt
from ...registry import STAGES
from .base import BaseStage


@STAGES.register_module()
class CocoGT(BaseStage):
    """Write a split's ground-truth instances (``SegmentationObject`` +
    ``SegmentationClass`` PNGs) as a COCO json, output ``coco_json``
    (:func:`mmwsss.datasets.coco_gt.write_coco_gt`)."""

    def run(
        self,
        ctx,
        split: str = 'val',
        object_dir: str = 'SegmentationObject',
        class_dir: str = 'SegmentationClass',
    ) -> dict:
        start = time.perf_counter()
        out_dir = osp.abspath(ctx.stage_dir(self.name))
        path = osp.join(out_dir, f'instances_{split}.json')
        coco = write_coco_gt(
            ctx.data_root, split, path, object_dir=object_dir, class_dir=class_dir
        )
        return dict(
            kind='coco ground truth',
            out_dir=out_dir,
            outputs=dict(coco_json=path),
            scored_on=split,
            counts=dict(images=len(coco['images']), instances=len(coco['annotations'])),
            categories=[c['name'] for c in coco['categories']],
            seconds=round(time.perf_counter() - start, 1),
        )
