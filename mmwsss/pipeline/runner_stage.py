"""One config as one call: train a model, then run its export test loop.

The work dir's ``provenance.json`` records what the run is (by default the
digest of the config's content, of the files and folders it reads and of
mmwsss's code; a pipeline stage passes its own stage record instead): a run of
the same record resumes (training from its last checkpoint, the export from the
files already written), a work dir of another record is moved aside
(``{work_dir}.old-{time}``) and training starts from scratch. With
``manifest=NAME`` a finished run of the same record is returned from that
manifest without running again.

With ``launcher`` 'pytorch' or 'slurm' (inside a process group, e.g. made by
``tools/run_pipeline.py --launcher pytorch``), every rank calls these functions:
the Runner trains with DDP and its test loop exports each rank's share of the
images; rank 0 alone moves work dirs aside and writes the manifests. The
launcher is no part of the config digest, so a stage interrupted on one number
of processes resumes on another.
"""

from __future__ import annotations

import copy
import json
import logging
import os
import os.path as osp
import time

from mmengine.config import Config
from mmengine.dist import barrier, get_world_size, is_distributed, is_main_process
from mmengine.logging import print_log
from mmengine.runner import Runner

from ..utils.checkpoint import safe_checkpoint_loader
from ..utils.distributed import broadcast_from_main, setup_cpu_distributed
from ..utils.entrypoint import use_tta
from ..utils.provenance import (
    check_or_reset,
    code_digest,
    config_digest,
    config_input_digests,
    path_digest,
    record_digest,
)
from .context import write_json
from .iteration_time import message_hub_loss, message_hub_times

MMDET_SCOPE = 'mmdet'


def is_mmdet_config(cfg: Config) -> bool:
    """Whether ``cfg`` is an mmdet config (its default scope is mmdet's)."""
    return cfg.get('default_scope') == MMDET_SCOPE


def _set_dataset_root(dataset: dict, data_root: str) -> None:
    """Set ``data_root`` of a dataset config, inside dataset wrappers too."""
    if 'dataset' in dataset:  # PseudoLabelDataset, RepeatDataset, ...
        _set_dataset_root(dataset['dataset'], data_root)
    elif 'datasets' in dataset:  # ConcatDataset
        for child in dataset['datasets']:
            _set_dataset_root(child, data_root)
    else:
        dataset['data_root'] = data_root


def set_data_root(cfg: Config, data_root: str) -> None:
    """Point the train, val and test datasets of ``cfg`` at ``data_root``
    (the wrapped datasets of wrappers such as ``PseudoLabelDataset``)."""
    for name in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        if cfg.get(name) is not None:
            _set_dataset_root(cfg[name].dataset, data_root)


def set_transform_args(cfg: Config, transform: str, **kwargs) -> int:
    """Set arguments of every ``transform`` in the dataloader pipelines of ``cfg``.

    Config variables such as ``cam_dir`` are substituted when the file is
    parsed, so overriding them later does not reach the pipelines; this edits
    the transforms themselves.

    Args:
        cfg (Config): The config, edited in place.
        transform (str): Transform type name, e.g. 'LoadCAMs'.
        **kwargs: Arguments to set.

    Returns:
        int: How many transforms were changed.
    """
    changed = 0
    for name in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        loader = cfg.get(name)
        if loader is None:
            continue
        for step in loader.dataset.get('pipeline', []):
            if step.get('type') == transform:
                step.update(kwargs)
                changed += 1
    return changed


TRAIN_TIME = 'train_time.json'


def _previous_train_s(work_dir: str) -> float:
    path = osp.join(work_dir, TRAIN_TIME)
    if not osp.exists(path):
        return 0.0
    with open(path) as f:
        return float(json.load(f).get('train_s', 0.0))


def _prepare_config(
    config: str | Config,
    work_dir: str,
    data_root: str | None,
    cfg_options: dict | None,
    transform_args: dict | None,
) -> Config:
    """``config`` (a file, or a parsed config left unchanged) with the options,
    data root, transform arguments and work dir."""
    cfg = (
        copy.deepcopy(config) if isinstance(config, Config) else Config.fromfile(config)
    )
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    if data_root is not None:
        set_data_root(cfg, data_root)
    for transform, kwargs in (transform_args or {}).items():
        if not set_transform_args(cfg, transform, **kwargs):
            raise ValueError(
                f'{cfg.filename} has no {transform} in its dataloader pipelines'
            )
    cfg.work_dir = work_dir
    return cfg


def _run_record(kind: str, cfg: Config, **extra) -> dict:
    """The default provenance record of a run: the config's content, the
    content of the local files and folders it reads
    (:func:`~mmwsss.utils.provenance.config_input_digests`) and mmwsss's code."""
    return dict(
        kind=kind,
        config=config_digest(cfg),
        inputs=config_input_digests(cfg),
        code=code_digest(),
        **extra,
    )


def _finished_manifest(path: str | None, digest: str) -> dict | None:
    """The finished manifest at ``path`` of record digest ``digest`` (marked
    ``skipped``), else None."""
    if path is None or not osp.exists(path):
        return None
    with open(path) as f:
        done = json.load(f)
    if done.get('finished') and done.get('config_digest') == digest:
        done['skipped'] = True
        return done
    return None


def _own_visualizer(cfg: Config) -> Config:
    """Give the runner a visualizer of its own.

    mmengine keeps one visualizer per name for the whole process, and the
    runtime configs name theirs 'visualizer': every later runner of a process
    that runs several stages would log into the first one's folder, which
    fails once that folder has been moved aside. Called after the config
    digest is taken (the name is no setting)."""
    if cfg.get('visualizer') is not None:
        base = cfg.visualizer.get('name') or 'visualizer'
        cfg.visualizer['name'] = f'{base}-{time.time_ns()}'
    return cfg


def _distribute(cfg: Config, launcher: str) -> Config:
    """Set the runner's launcher (on CPU machines with a device-less DDP
    wrapper, see :func:`~mmwsss.utils.setup_cpu_distributed`). Called after
    the config digest is taken (the number of processes is no setting).

    Raises:
        ValueError: If a process group exists but ``launcher`` is 'none' (each
            rank would train alone into the same work dir).
    """
    if launcher == 'none' and is_distributed():
        raise ValueError(
            "a process group exists, but launcher='none': pass the launcher the "
            "run was started with (e.g. launcher='pytorch')"
        )
    cfg.launcher = launcher
    setup_cpu_distributed(cfg)
    return cfg


def _test_result(runner: Runner, seconds: float) -> dict:
    """Metrics, speed and output folder of a finished ``runner.test()``."""
    exporter = getattr(runner.test_loop, 'exporter', None)
    num_images = len(runner.test_dataloader.dataset)
    return dict(
        export_s=round(seconds, 1),
        num_images=num_images,
        export_images_per_s=round(num_images / seconds, 2),
        # an export loop's exporter folder, or a loop's own (PrototypeLoop's)
        out_dir=getattr(exporter or runner.test_loop, 'out_dir', None),
    )


@safe_checkpoint_loader()  # the Runner checkpoints it loads (torch >= 2.6)
def run_test_stage(
    config: str | Config,
    checkpoint: str,
    work_dir: str,
    data_root: str | None = None,
    cfg_options: dict | None = None,
    manifest: str | None = 'stage.json',
    transform_args: dict | None = None,
    launcher: str = 'none',
    tta: bool = False,
    record: dict | None = None,
) -> dict:
    """Run the test (export) loop of ``config`` with ``checkpoint``, no training.

    E.g. IRN's walk run again on other maps with the trained IRN. Exports follow
    the export loop's provenance rule (same config and weights: files reused;
    otherwise the folder is moved aside and written afresh); a finished
    manifest of the same record (config content, checkpoint content, inputs'
    content, code) is returned as is.

    Args:
        config (str | Config): Config file, or a parsed config (not changed).
        checkpoint (str): Weights to test.
        work_dir (str): Work dir of the stage.
        data_root (str, optional): Dataset root of all dataloaders.
            Default: None (the config's).
        cfg_options (dict, optional): Config overrides. Default: None.
        manifest (str, optional): Manifest file name in ``work_dir``; None
            writes none (a pipeline stage's runner keeps the manifest).
            Default: 'stage.json'.
        transform_args (dict, optional): See :func:`run_train_test_stage`.
        launcher (str): See :func:`run_train_test_stage`. Default: 'none'.
        tta (bool): Test with the config's ``tta_pipeline`` and ``tta_model``
            (as ``tools/test.py --tta``; e.g. DeepLab's multi-scale + flip +
            dense CRF). Default: False.
        record (dict, optional): What identifies the run (a pipeline stage's
            record); default: :func:`_run_record` and the checkpoint's
            content.

    Returns:
        dict: ``test`` metrics, ``export_s``, ``export_images_per_s``,
        ``num_images``, ``out_dir``, ``checkpoint``, ``finished`` and ``skipped``.

    Raises:
        FileNotFoundError: If ``checkpoint`` does not exist.
    """
    if not osp.isfile(checkpoint):
        raise FileNotFoundError(f'checkpoint {checkpoint} not found')
    cfg = _prepare_config(config, work_dir, data_root, cfg_options, transform_args)
    cfg.load_from = checkpoint
    cfg.resume = False
    if tta:
        use_tta(cfg)
    if record is None:
        record = _run_record('test', cfg, weights=path_digest(checkpoint))
    digest = record_digest(record)
    manifest_path = osp.join(work_dir, manifest) if manifest else None
    done = broadcast_from_main(_finished_manifest(manifest_path, digest))
    if done is not None:
        return done
    os.makedirs(work_dir, exist_ok=True)
    runner = Runner.from_cfg(_distribute(_own_visualizer(cfg), launcher))
    start = time.perf_counter()
    metrics = runner.test()
    result = dict(
        config=cfg.filename,
        config_digest=digest,
        data_root=data_root,
        checkpoint=osp.abspath(checkpoint),
        test={k: float(v) for k, v in metrics.items()},
        train_s=0.0,
        **_test_result(runner, time.perf_counter() - start),
        finished=True,
    )
    if manifest_path and is_main_process():
        write_json(manifest_path, result)
    result['skipped'] = False
    return result


@safe_checkpoint_loader()  # the Runner checkpoints it loads (torch >= 2.6)
def run_train_test_stage(
    config: str | Config,
    work_dir: str,
    data_root: str | None = None,
    cfg_options: dict | None = None,
    manifest: str | None = 'stage.json',
    validate: bool = False,
    transform_args: dict | None = None,
    val_interval: int | None = None,
    launcher: str = 'none',
    record: dict | None = None,
) -> dict:
    """Train the model of ``config``, optionally validate, then test (export).

    The run's record (by default :func:`_run_record`: the config's content
    after ``cfg_options``, ``data_root`` and ``transform_args``, the content of
    the files and folders it reads, mmwsss's code) decides what is reused: a
    finished manifest of the same record is returned as is; a work dir
    recorded (``provenance.json``) under the same record resumes training from
    its last checkpoint and the export from its files; a work dir with
    checkpoints or a manifest of another or no record is moved aside to
    ``{work_dir}.old-{time}`` first.

    Args:
        config (str | Config): Config file, or a parsed config (not changed).
        work_dir (str): Work dir of the stage.
        data_root (str, optional): Dataset root of all dataloaders.
            Default: None (the config's).
        cfg_options (dict, optional): Config overrides. Default: None.
        manifest (str, optional): Manifest file name in ``work_dir``; None
            writes none (a pipeline stage's runner keeps the manifest).
            Default: 'stage.json'.
        validate (bool): Run the val loop once after training. Default: False.
        transform_args (dict, optional): ``{transform type: {arg: value}}`` set
            on the dataloader pipelines (see :func:`set_transform_args`), e.g.
            ``{'LoadCAMs': {'cam_dir': ...}}``. Default: None.
        val_interval (int, optional): Validate every this many epochs /
            iterations during training and keep the results as ``val_curve``
            (``ValCurveHook``). Default: None (no validation while training).
        launcher (str): 'none' (one process), or 'pytorch' / 'slurm' when every
            rank of an existing process group calls this function: DDP
            training, each rank exporting its share. Default: 'none'.
        record (dict, optional): What identifies the run (a pipeline stage's
            record). Default: None (:func:`_run_record`).

    Returns:
        dict: ``test`` (and ``val``) metrics, ``train_s``, ``export_s``,
        ``export_images_per_s``, ``num_images``, ``out_dir`` (the exporter's
        folder), ``finished``, ``skipped`` (True when reused from the
        manifest), ``iterations`` (the training iterations' ``count``,
        ``sum_s`` and ``median_s`` over every part of a resumed run: see
        :mod:`~mmwsss.pipeline.iteration_time`), ``loss`` (its ``first``
        and ``last`` iterations' median loss, ``max`` and ``diverged``, with
        a warning in the log where it diverged) and, run on several
        processes, ``world_size``.
    """
    cfg = _prepare_config(config, work_dir, data_root, cfg_options, transform_args)
    train_cfg = cfg.get('train_cfg') or {}
    train_len = train_cfg.get('max_epochs') or train_cfg.get('max_iters')
    if val_interval:
        cfg.train_cfg.val_interval = val_interval
        cfg.train_cfg.val_begin = 1
        curve_hook = dict(type='ValCurveHook', _scope_='mmwsss')  # mmdet configs too
        cfg.custom_hooks = [*cfg.get('custom_hooks', []), curve_hook]
    elif train_len:
        # no validation inside the training loop (mmengine's loops also validate
        # after the last epoch / iteration whatever val_interval says); the
        # stage validates once afterwards when asked to (validate=True)
        cfg.train_cfg.val_begin = train_len + 1
    # the content after every edit above (options, data root, transform args)
    if record is None:
        record = _run_record('train_test', cfg)
    digest = record_digest(record)
    manifest_path = osp.join(work_dir, manifest) if manifest else None
    done = broadcast_from_main(_finished_manifest(manifest_path, digest))
    if done is not None:
        return done

    # checkpoints, manifest or training time of another (or an unrecorded)
    # config: move the work dir aside, so that training starts from scratch
    # instead of resuming an unrelated checkpoint; the record is written
    # before training, so an interrupted run of this config resumes
    if is_main_process():
        check_or_reset(
            work_dir,
            dict(record, info=dict(config=cfg.filename)),
            outputs=('*.pth', 'last_checkpoint', manifest or TRAIN_TIME, TRAIN_TIME),
        )
    barrier()
    own_checkpoint = osp.exists(osp.join(work_dir, 'last_checkpoint'))
    if own_checkpoint:
        # an interrupted training continues from its own last checkpoint (not
        # from load_from, which mmengine would otherwise resume from)
        cfg.resume, cfg.load_from = True, None
    else:
        # a fresh run: load_from, if set, gives its starting weights only
        cfg.resume = False
    # train_time.json sums finished runs only: a killed run's time is lost
    resumed = own_checkpoint and not osp.exists(osp.join(work_dir, TRAIN_TIME))
    runner = Runner.from_cfg(_distribute(_own_visualizer(cfg), launcher))
    start = time.perf_counter()
    runner.train()
    # summed over resumed runs (a run that finds training finished adds ~1 s)
    train_s = time.perf_counter() - start + _previous_train_s(work_dir)
    # every iteration's time over all parts (the message hub is resumed too)
    iterations = message_hub_times(runner.message_hub)
    if is_main_process():
        write_json(osp.join(work_dir, TRAIN_TIME), dict(train_s=train_s))
    result = dict(config=cfg.filename, config_digest=digest, data_root=data_root)
    if resumed:
        result['resumed'] = True
    if iterations:
        result['iterations'] = iterations
    loss = message_hub_loss(runner.message_hub)
    if loss:
        result['loss'] = loss
        if loss['diverged']:
            print_log(
                f'WARNING: {work_dir}: the training loss ended at '
                f"{loss['last']:.4g} (median of the last iterations), over twice "
                f"its start {loss['first']:.4g} (max {loss['max']:.4g}), or was not "
                'finite: the training diverged; lower the learning rate, or check '
                'the recipe against its reference',
                'current',
                logging.WARNING,
            )
    if get_world_size() > 1:
        result['world_size'] = get_world_size()
    if validate:
        result['val'] = {k: float(v) for k, v in runner.val().items()}
    if val_interval:
        from ..engine.hooks import ValCurveHook

        result['val_curve'] = ValCurveHook.read(osp.join(work_dir, 'val_curve.json'))
    start = time.perf_counter()
    test_metrics = runner.test()
    result.update(
        test={k: float(v) for k, v in test_metrics.items()},
        train_s=round(train_s, 1),
        **_test_result(runner, time.perf_counter() - start),
        finished=True,
    )
    if manifest_path and is_main_process():
        write_json(manifest_path, result)
    result['skipped'] = False
    return result
