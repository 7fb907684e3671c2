"""The report at the end of a pipeline run: table, charts and sample overlays.

``{work_dir}/report/`` receives ``report.md`` (per stage: its own main
metrics, i.e. mIoU of pseudo masks and segmentors, mask AP of instance pseudo
labels, box and mask AP of mmdet detectors, and its time),
``miou_per_stage.png`` and ``mask_ap50_per_stage.png`` (bar charts), the
background-sweep curves the stages saved (``{stage}_sweep.png``) and
``samples.png``: for a few training images, the image, its ground truth and
every stage's output for it (CAM seeds, label PNGs, the final network's
prediction) as overlays; where stages write instances (IRN's and WISE's
pseudo instances, a detector's prediction), the ground-truth instances and
theirs, each instance in its own colour.
"""

from __future__ import annotations

import glob
import os
import os.path as osp
import shutil

import numpy as np
import torch
from mmengine.config import Config
from PIL import Image

from ..datasets import split_ids
from ..engine.instance_exporter import load_instance_json
from ..evaluation.instance_ap import load_voc_instances
from ..evaluation.multilabel_map import LEARNED_WARNING
from ..ops.cam import cams_to_labels
from ..utils.checkpoint import safe_checkpoint_loader
from ..utils.map_file import load_map_file
from ..visualization import (
    overlay_instances,
    overlay_labels,
    save_bar_chart,
    save_grid,
)
from .runner_stage import is_mmdet_config

#: Score a detector's instance must reach to be drawn in the samples.
DRAW_SCORE = 0.3


def stage_miou(result: dict) -> tuple[float | None, str]:
    """The headline mIoU of a stage's result and a note on how it was read.

    Headlines use settings a user can choose without ground truth (the fixed
    or ground-truth-free background score); the best point of a background
    sweep against ground truth is an oracle and only appears in the note."""
    metrics = result.get('metrics') or {}
    if 'seed/mIoU' in metrics:
        return metrics['seed/mIoU'], (
            f"at bg {metrics.get('seed/bg_score', 0.15):.2f}; oracle (GT sweep) "
            f"{metrics['seed/mIoU_best']:.1f} at bg {metrics['seed/best_bg_score']:.2f}"
        )
    if 'mIoU' in metrics:
        notes = []
        if 'bg_score' in (result.get('label_options') or {}):
            rule = 'ground-truth-free' if 'thresholds' in result else 'set'
            notes.append(f"bg {result['label_options']['bg_score']:.2f} ({rule})")
        if 'walk/mIoU_best' in metrics:
            notes.append(
                f"oracle (GT sweep) {metrics['walk/mIoU_best']:.1f} at bg "
                f"{metrics['walk/best_bg_score']:.2f}"
            )
        return float(metrics['mIoU']), '; '.join(notes)
    if 'all_background_mIoU' in metrics:
        return metrics['all_background_mIoU'], 'all-background floor'
    return None, ''


#: Instance metrics of a stage's manifest: (box or mask, metric key of AP, of
#: AP50, scale to percent). mmdet's CocoMetric reports fractions (-1: no
#: ground truth in range); mmwsss's InstanceAPMetric (IRN) percent.
AP_METRICS = (
    ('box', 'coco/bbox_mAP', 'coco/bbox_mAP_50', 100.0),
    ('mask', 'coco/segm_mAP', 'coco/segm_mAP_50', 100.0),
    ('mask', 'instance/AP', 'instance/AP50', 1.0),
)


def stage_ap(result: dict) -> dict[str, tuple[float, float]]:
    """A stage's COCO AP and AP50 in percent, by ``'box'`` / ``'mask'``: mmdet
    detectors' box and mask AP, instance pseudo labels' mask AP."""
    metrics = result.get('metrics') or {}
    found = {}
    for kind, ap, ap50, scale in AP_METRICS:
        if kind not in found and ap in metrics and ap50 in metrics:
            values = (metrics[ap] * scale, metrics[ap50] * scale)
            if all(v >= 0 for v in values):  # COCO's -1: nothing to score
                found[kind] = values
    return found


def _ap_note(result: dict) -> str:
    """Where a detector's AP comes from and what it trained on."""
    if 'coco/bbox_mAP' not in (result.get('metrics') or {}):
        return ''
    note = "mmdet CocoMetric (COCO AP x100) on the split's ground-truth json"
    train = result.get('train_annotations')
    if train:
        source = (result.get('inputs') or {}).get('train_instances', train['file'])
        note += f"; trained on {train['instances']} instances of {source}"
    return note


def stage_table(results: dict[str, dict]) -> list[str]:
    """Markdown rows: each stage's kind, scored split, its own main metrics
    (mIoU, box / mask AP and AP50 in percent), notes and time."""
    rows = [
        '| stage | what | scored on | mIoU | box AP / AP50 | mask AP / AP50 | '
        'notes | time (s) |',
        '|---|---|---|---|---|---|---|---|',
    ]
    for name, result in results.items():
        if not result:
            rows.append(f'| {name} | not run | - | - | - | - | - | - |')
            continue
        miou, note = stage_miou(result)
        miou_text = '-' if miou is None else f'{miou:.1f}'
        ap = stage_ap(result)
        ap_text = [
            f'{ap[kind][0]:.1f} / {ap[kind][1]:.1f}' if kind in ap else '-'
            for kind in ('box', 'mask')
        ]
        notes = '; '.join(n for n in (note, _ap_note(result)) if n)
        rows.append(
            f"| {name} | {result.get('kind', result.get('type', '-'))} | "
            f"{result.get('scored_on', '-')} | {miou_text} | {ap_text[0]} | "
            f"{ap_text[1]} | {notes or '-'} | {result.get('seconds', 0):.0f} |"
        )
    return rows


def _read_rgb(path: str) -> np.ndarray:
    return np.asarray(Image.open(path).convert('RGB'))


def _weights_from_checkpoint(cfg: Config) -> Config:
    """Switch off a backbone's own pretrained weights (the stage's checkpoint
    has them) before a predictor loads that checkpoint."""
    if 'pretrained' in cfg.model.backbone:
        cfg.model.backbone.pretrained = False
    return cfg


def _predictor(result: dict, stage_dir: str):
    """``predict(img_path) -> labels`` of a stage's final checkpoint, or None."""
    pointer = osp.join(stage_dir, 'last_checkpoint')
    config = result.get('config')
    if not config or not osp.exists(pointer):
        return None
    cfg = Config.fromfile(config)
    if 'decode_head' not in cfg.model:
        return None  # not a pixel segmentor
    from mmseg.apis import inference_model, init_model

    with open(pointer) as f:
        checkpoint = f.read().strip()
    model = init_model(_weights_from_checkpoint(cfg), checkpoint, device='cpu')

    def predict(img_path: str) -> np.ndarray:
        sample = inference_model(model, img_path)
        return sample.pred_sem_seg.data[0].cpu().numpy()

    return predict


def _detector(result: dict, stage_dir: str):
    """``predict(img_path) -> (N, H, W) masks`` of an mmdet stage's final
    checkpoint (instances scoring at least :data:`DRAW_SCORE`), or None."""
    config, checkpoint = result.get('config'), result.get('checkpoint')
    if not config or not checkpoint or not osp.isfile(checkpoint):
        return None
    cfg = Config.fromfile(config)
    if not is_mmdet_config(cfg):
        return None
    cfg.merge_from_dict(result.get('options') or {})  # e.g. the test scale
    from mmdet.apis import inference_detector, init_detector

    model = init_detector(_weights_from_checkpoint(cfg), checkpoint, device='cpu')

    def predict(img_path: str) -> np.ndarray:
        instances = inference_detector(model, img_path).pred_instances
        keep = instances.scores >= DRAW_SCORE
        return instances.masks[keep].cpu().numpy().astype(bool)

    return predict


def _seed_bg_score(results: dict[str, dict], cam_stage: str) -> float:
    """The ground-truth-free background score of a Thresholds stage on
    ``cam_stage``'s CAMs, else the fixed score the seed metric reported."""
    for result in results.values():
        if result.get('kind') == 'thresholds' and result.get('inputs', {}).get(
            'cams'
        ) in (cam_stage, f'{cam_stage}.cams'):
            return float(result['thresholds']['bg_score'])
    metrics = results[cam_stage].get('metrics') or {}
    return float(metrics.get('seed/bg_score', 0.15))


def _instance_columns(results: dict[str, dict], work_dir: str) -> list[tuple]:
    """(title, function(image id, img_path) -> (N, H, W) masks) per stage that
    wrote per-image instance files (an output named ``*instances``) or trained
    a detector."""
    columns = []
    for name, result in results.items():
        for key, folder in (result.get('outputs') or {}).items():
            if not (key.endswith('instances') and osp.isdir(str(folder))):
                continue

            def instances(image_id, img_path, folder=folder):
                path = osp.join(folder, image_id + '.json')
                if not osp.exists(path):
                    return None
                return load_instance_json(path)[0]

            columns.append((f'{name} instances', instances))
        predict = _detector(result, osp.join(work_dir, name))
        if predict is not None:
            columns.append((f'{name} prediction', lambda i, path, p=predict: p(path)))
    return columns


def _sample_columns(results: dict[str, dict], work_dir: str) -> list[tuple]:
    """(title, function(image id, img_path) -> label map) per stage output."""
    columns = []
    for name, result in results.items():
        folder = (result.get('out_dir') or '').split(', ')[0]
        if not folder or not osp.isdir(folder):
            continue
        if glob.glob(osp.join(folder, '*.npz')) and 'seed/mIoU' in (
            result.get('metrics') or {}
        ):
            bg = _seed_bg_score(results, name)

            def seeds(image_id, img_path, folder=folder, bg=bg):
                path = osp.join(folder, image_id + '.npz')
                keys, maps = load_map_file(path, ('high_res',))
                cams = torch.from_numpy(maps['high_res'])
                return cams_to_labels(cams, torch.from_numpy(keys), bg).numpy()

            columns.append((f'{name} seeds (bg {bg:.2f})', seeds))
        elif glob.glob(osp.join(folder, '*.png')):

            def labels(image_id, img_path, folder=folder):
                return np.asarray(Image.open(osp.join(folder, image_id + '.png')))

            columns.append((name, labels))
        else:
            predict = _predictor(result, osp.join(work_dir, name))
            if predict is not None:
                columns.append(
                    (f'{name} prediction', lambda i, path, p=predict: p(path))
                )
    return columns


@safe_checkpoint_loader()  # the predictors load Runner checkpoints
def write_sample_grid(
    results: dict[str, dict],
    data_root: str,
    work_dir: str,
    ids: list[str],
    path: str,
    labels: bool = True,
) -> None:
    """Overlays of every stage's output on the images ``ids`` (one row each):
    label maps (seeds, pseudo masks, a segmentor's prediction; not with
    ``labels=False``) and instances."""
    columns = _sample_columns(results, work_dir) if labels else []
    instance_columns = _instance_columns(results, work_dir)
    rows = []
    for image_id in ids:
        img_path = osp.join(data_root, 'JPEGImages', image_id + '.jpg')
        image = _read_rgb(img_path)
        row = [image]
        gt_path = osp.join(data_root, 'SegmentationClass', image_id + '.png')
        row.append(
            overlay_labels(image, np.asarray(Image.open(gt_path)))
            if osp.exists(gt_path)
            else None
        )
        for _, labels_of in columns:
            row.append(overlay_labels(image, labels_of(image_id, img_path)))
        if instance_columns:
            object_path = osp.join(data_root, 'SegmentationObject', image_id + '.png')
            gt = None
            if osp.exists(object_path) and osp.exists(gt_path):
                found = load_voc_instances(object_path, gt_path)
                masks = np.array([inst['mask'] for inst in found], dtype=bool)
                gt = overlay_instances(image, masks.reshape(-1, *image.shape[:2]))
            row.append(gt)
        for _, masks_of in instance_columns:
            masks = masks_of(image_id, img_path)
            row.append(None if masks is None else overlay_instances(image, masks))
        rows.append(row)
    titles = ['image', 'ground truth', *[title for title, _ in columns]]
    if instance_columns:
        titles += ['ground-truth instances', *[title for title, _ in instance_columns]]
    save_grid(rows, path, col_titles=titles, row_titles=ids)


def learned_warnings(results: dict[str, dict]) -> list[str]:
    """A warning line (and a blank one) per classifier stage that barely left
    chance (its ``learned`` under
    :data:`~mmwsss.evaluation.multilabel_map.LEARNED_WARNING`)."""
    lines = []
    for name, result in results.items():
        learned = (result or {}).get('learned')
        if learned is None or learned >= LEARNED_WARNING:
            continue
        val = result.get('val', {})
        lines += [
            f"**Warning: stage `{name}`'s classifier barely learned**: val mAP "
            f"{val.get('cls/mAP', float('nan')):.1f} against "
            f"{val.get('cls/mAP_chance', float('nan')):.1f} for a ranking that "
            f'ignores the image ({100 * learned:.0f}% of the way from chance to '
            '100): its maps are near the label prior, and so is every stage built '
            'on them.',
            '',
        ]
    return lines


def diverged_warnings(results: dict[str, dict]) -> list[str]:
    """A warning line (and a blank one) per stage whose training loss ended
    above twice where it started, or was not finite (its ``loss``, recorded by
    :func:`~mmwsss.pipeline.runner_stage.run_train_test_stage`)."""
    lines = []
    for name, result in results.items():
        loss = (result or {}).get('loss') or {}
        if not loss.get('diverged'):
            continue
        lines += [
            f"**Warning: stage `{name}`'s training diverged**: its loss went from "
            f"{loss['first']:.4g} (median of its first iterations) to "
            f"{loss['last']:.4g} (of its last; max {loss['max']:.4g}): every "
            'stage built on it reads a broken model.',
            '',
        ]
    return lines


def write_report(cfg: Config, results: dict[str, dict]) -> str:
    """Write ``{work_dir}/report`` for a pipeline run and return report.md's path."""
    out_dir = osp.join(cfg.work_dir, 'report')
    os.makedirs(out_dir, exist_ok=True)
    options = dict(num_samples=4, split='train')
    options.update(cfg.get('report', {}))
    lines = ['# Pipeline report', '', f'Config work dir: `{cfg.work_dir}`', '']
    lines += learned_warnings(results) + diverged_warnings(results)
    lines += [*stage_table(results), '']

    named = [(n, stage_miou(r)[0]) for n, r in results.items() if r]
    named = [(n, m) for n, m in named if m is not None]
    if named:
        save_bar_chart(
            [n for n, _ in named],
            [m for _, m in named],
            osp.join(out_dir, 'miou_per_stage.png'),
        )
        lines += ['![mIoU per stage](miou_per_stage.png)', '']
    masks = [(n, stage_ap(r).get('mask')) for n, r in results.items() if r]
    masks = [(n, ap[1]) for n, ap in masks if ap is not None]
    if masks:
        save_bar_chart(
            [n for n, _ in masks],
            [v for _, v in masks],
            osp.join(out_dir, 'mask_ap50_per_stage.png'),
            ylabel='mask AP50 (%)',
        )
        lines += ['![mask AP50 per stage](mask_ap50_per_stage.png)', '']
    for name in results:
        for curve in sorted(
            glob.glob(osp.join(cfg.work_dir, name, '*', 'seed_sweep.png'))
        ):
            target = f'{name}_{osp.basename(osp.dirname(curve))}_sweep.png'
            shutil.copyfile(curve, osp.join(out_dir, target))
            lines += [f'![{name} background sweep]({target})', '']

    if options['num_samples'] > 0:
        ids = split_ids(cfg.data_root, options['split'])[: options['num_samples']]
        write_sample_grid(
            results, cfg.data_root, cfg.work_dir, ids, osp.join(out_dir, 'samples.png')
        )
        lines += [
            f"![samples]({'samples.png'})",
            '',
            f"Sample {options['split']} images: ground truth and each stage's "
            'output (seeds, pseudo masks, final prediction).',
            '',
        ]
    path = osp.join(out_dir, 'report.md')
    with open(path, 'w') as f:
        f.write('\n'.join(lines))
    return path
