"""A stage's instance pseudo labels as one COCO dataset json.

:class:`~mmwsss.engine.InstanceExporter` writes one json per image; an mmdet
detector trains on one COCO dataset. After a stage whose test loop exports
instances (IRN with ``instance=True``), :func:`merge_stage_instances` merges
each such folder ``{stage}/{folder}`` into ``{stage}/{folder}_coco.json``,
a named output ``'{stage}.{folder}_coco'`` of the stage. The merge is the
exporter's own (:func:`~mmwsss.engine.instance_exporter.merge_instance_jsons`
with ``as_annotations=True``): image ids 1..N in the order of the scored
split's id list, as the ground-truth json of the same split has them
(:mod:`mmwsss.datasets.coco_gt`), categories by the dataset's class names with
ids 1..C (the class index), zero-score fragments left out.
"""

from __future__ import annotations

import os.path as osp

from mmengine.config import Config

from ..datasets import dataset_classes, split_ids
from ..engine.instance_exporter import merge_instance_jsons

#: Suffix of the merged json's output name (and file stem) after the folder's.
COCO_SUFFIX = '_coco'


def instance_exporter_folders(exporter: dict | None) -> list[str]:
    """Folder names (``out_dir`` basenames) of the ``InstanceExporter`` s in an
    exporter config, those inside a ``CompositeExporter`` too."""
    if not exporter:
        return []
    if 'exporters' in exporter:
        return [f for e in exporter['exporters'] for f in instance_exporter_folders(e)]
    if exporter.get('type') == 'InstanceExporter':
        return [osp.basename(exporter['out_dir'].rstrip('/'))]
    return []


def merge_stage_instances(cfg: Config, result: dict, data_root: str) -> dict[str, str]:
    """Merge a finished stage's instance folders into COCO dataset jsons.

    Args:
        cfg (Config): The stage's config (its ``test_cfg.exporter`` names the
            instance folders).
        result (dict): The stage's result: ``outputs`` (folder name -> path)
            and ``scored_on`` (the split its test loop exported).
        data_root (str): Dataset root (split ids and class names).

    Returns:
        dict[str, str]: ``{'{folder}_coco': json path}`` per instance folder;
        empty for a stage that exports no instances.
    """
    folders = instance_exporter_folders((cfg.get('test_cfg') or {}).get('exporter'))
    outputs = result.get('outputs') or {}
    merged = {}
    for folder in folders:
        if folder not in outputs:
            continue
        ids = split_ids(data_root, result['scored_on'])
        dst = osp.join(osp.dirname(outputs[folder]), folder + COCO_SUFFIX + '.json')
        merge_instance_jsons(
            outputs[folder],
            {stem: i + 1 for i, stem in enumerate(ids)},
            dst,
            as_annotations=True,
            classes=dataset_classes(data_root),
        )
        merged[folder + COCO_SUFFIX] = dst
    return merged
