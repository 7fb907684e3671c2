"""``WISE``: one pseudo instance per class peak, retrieved from proposals."""

from __future__ import annotations

import json
import os.path as osp
import time

from mmengine.dist import is_main_process

from ...datasets import dataset_classes, split_ids
from ...datasets.coco_gt import voc_instances_to_coco
from ...engine.instance_exporter import merge_instance_jsons
from ...evaluation.instance_ap import (
    instance_ap,
    peak_diagnostics,
    voc_instance_metrics,
)
from ...ops.wise import PRM_RETRIEVAL
from ...registry import STAGES
from ...utils.provenance import digest_of, path_digest
from ..context import Input, ThresholdsInput
from ..wise import make_wise_dir
from .base import BaseStage

#: Output name of a PRM stage's peak response files (its
#: ``PeakResponseExporter`` folder).
PEAK_RESPONSES = 'peak_responses'


class ClassMapsInput(Input):
    """A stage's class maps (its main output, or the named one) and, where
    the same stage wrote them, its peak responses (output
    :data:`PEAK_RESPONSES`), as ``dict(maps=..., peak_responses=... or
    None)``."""

    def resolve(self, ctx, consumer: str, ref: str) -> dict:
        maps = ctx.output_of(consumer, ref, self.what)
        outputs = ctx.result_of(consumer, ref, self.what).get('outputs') or {}
        peaks = outputs.get(PEAK_RESPONSES)
        return dict(maps=maps, peak_responses=peaks if peaks != maps else None)

    def digest(self, value: dict) -> str:
        return 'cues:' + digest_of(
            {k: path_digest(v) for k, v in value.items() if v is not None}
        )


@STAGES.register_module()
class WISE(BaseStage):
    """WISE pseudo instances (:func:`~mmwsss.pipeline.wise.make_wise_dir`) from
    a stage's class maps and peak responses (``cams``: a PRM stage's, whose
    ``peak_responses`` output is read where it has one) and a ``Proposals``
    stage, merged into a COCO dataset (output ``pseudo_instances_coco``).
    ``min_score='auto:bg_score'`` reads the maps' ground-truth-free
    background score from a ``thresholds`` stage; ``alpha``, ``beta``,
    ``bg_factor``, ``contour_width``, ``candidates``, ``size_limits``,
    ``one_point`` and ``nms_iou`` are the retrieval's (PRM's by default:
    every proposal within PRM's size limits competes for each peak;
    ``candidates='holding', one_point=True`` is WISE's rule, see
    :mod:`mmwsss.ops.wise`); ``instance_cue=False`` scores each peak with
    its class map instead of its peak response map (PRM's retrieval without
    the instance-aware cue).

    With ``gt_instances``, the metrics against the split's ground-truth
    instances (percent): ``instance/AP50``, ``instance/AP75``, ``instance/AP``
    (COCO-style), ``instance/voc_AP25``, ``instance/voc_AP50``,
    ``instance/voc_AP75``, ``instance/ABO`` (VOC-style, PRM's and WISE's
    table), ``instance/precision50`` and ``instance/recall50`` (the pseudo
    instances matched at IoU 0.5), and the peaks' ``peaks/per_object``,
    ``peaks/objects_hit``, ``peaks/on_objects`` and ``peaks/per_hit_object``
    (:func:`~mmwsss.evaluation.instance_ap.peak_diagnostics`)."""

    inputs = dict(
        cams=ClassMapsInput('class maps'),
        proposals=Input('proposals'),
        thresholds=ThresholdsInput(),
    )
    on_all_ranks = True

    def run(
        self,
        ctx,
        cams: dict,
        proposals: str,
        split: str = 'train',
        thresholds: dict | None = None,
        min_score=0.0,
        nms_iou: float = 0.3,
        workers: int = 2,
        gt_instances: bool = True,
        alpha: float = PRM_RETRIEVAL['alpha'],
        beta: float = PRM_RETRIEVAL['beta'],
        bg_factor: float = PRM_RETRIEVAL['bg_factor'],
        contour_width: int = PRM_RETRIEVAL['contour_width'],
        one_point: bool = False,
        candidates: str = 'all',
        size_limits=PRM_RETRIEVAL['size_limits'],
        instance_cue: bool = True,
    ) -> dict:
        min_score = float(ctx.resolve(self.name, min_score, thresholds))
        ids = split_ids(ctx.data_root, split)
        stage_dir = ctx.stage_dir(self.name)
        out_dir = osp.abspath(osp.join(stage_dir, 'pseudo_instances'))
        options = dict(
            min_score=min_score,
            nms_iou=nms_iou,
            alpha=alpha,
            beta=beta,
            bg_factor=bg_factor,
            contour_width=contour_width,
            one_point=one_point,
            candidates=candidates,
            size_limits=None if size_limits is None else list(size_limits),
        )
        if not instance_cue:  # PRM's retrieval without its instance-aware cue
            options['instance_cue'] = False
        start = time.perf_counter()
        counts = make_wise_dir(
            cams['maps'],
            proposals,
            ctx.data_root,
            ids,
            out_dir,
            workers=workers,
            peak_dir=cams['peak_responses'],
            **options,
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
            cues='peak responses' if cams['peak_responses'] else 'class maps',
            options=options,
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
            result['metrics'] = instance_metrics(gt, results)
            peaks = {}
            for stem, image_id in image_ids.items():
                with open(osp.join(out_dir, stem + '.json')) as f:
                    peaks[image_id] = json.load(f).get('peaks', [])
            result['metrics'].update(
                {
                    f'peaks/{k.removeprefix("peaks_")}': round(v, 3)
                    for k, v in peak_diagnostics(peaks, gt).items()
                }
            )
        return result


def instance_metrics(gt: dict, results: list) -> dict[str, float]:
    """The instance table's metrics of COCO results against ground truth:
    COCO-style AP50 / AP75 / AP and VOC-style AP at 0.25 / 0.5 / 0.75, ABO,
    precision and recall at 0.5, as ``instance/...`` (percent, 2 decimals)."""
    coco = instance_ap(gt, results)
    voc = voc_instance_metrics(gt, results)
    return {f'instance/{k}': round(v, 2) for k, v in {**coco, **voc}.items()}
