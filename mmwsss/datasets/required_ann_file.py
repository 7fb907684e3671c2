"""A dataset whose annotation file an earlier step makes: checked at build.

A config that trains on pseudo labels written by a pipeline stage (e.g.
WISE's instance json for Mask R-CNN) names the file that the stage writes; run
before the stage, the toolbox's dataset would fail on a bare missing path.
:func:`RequiredAnnFile` builds the dataset once the file exists and otherwise
says how to make the file and how to point the config at another one::

    train_dataloader = dict(dataset=dict(
        _delete_=True, type='RequiredAnnFile', _scope_='mmwsss',
        ann_file=pseudo_ann_file, hint='make it with ...',
        dataset=dict(type='CocoDataset', data_root=..., ...)))

The file is the wrapper's ``ann_file`` (for a train set,
``train_dataloader.dataset.ann_file``: what ``--cfg-options`` and the
pipeline's ``DetTrainTest`` stage set).
"""

from __future__ import annotations

import os.path as osp

from mmengine.registry import DATASETS as ROOT_DATASETS

from ..registry import DATASETS


@DATASETS.register_module()
def RequiredAnnFile(ann_file: str, dataset: dict, hint: str = '', scope: str = 'mmdet'):
    """Build ``dataset`` with ``ann_file`` if that file exists.

    Args:
        ann_file (str): The annotation file (joined to the dataset's
            ``data_root`` when relative, as the toolboxes' datasets do).
        dataset (dict): The dataset config (its own ``ann_file`` is replaced).
        hint (str): How the file is made and how a config run points at
            another one, for the error. Default: ''.
        scope (str): Registry scope the dataset and its pipeline build in
            (the config's own). Default: 'mmdet'.

    Returns:
        The dataset.

    Raises:
        FileNotFoundError: If the file does not exist; the message names it
            and ``hint``.
    """
    path = ann_file
    if not osp.isabs(path) and dataset.get('data_root'):
        path = osp.join(dataset['data_root'], path)
    if not osp.isfile(path):
        raise FileNotFoundError(f'annotation file {path} not found. {hint}'.strip())
    cfg = dict(dataset, ann_file=ann_file)
    cfg.setdefault('_scope_', scope)
    return ROOT_DATASETS.build(cfg)
