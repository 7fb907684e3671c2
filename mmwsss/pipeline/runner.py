"""Run a whole WSSS pipeline from one config: stages, provenance, resumption.

A pipeline config lists its ``stages`` in order; each is a dict with a unique
``name``, a ``type`` registered in :data:`mmwsss.registry.STAGES` (one class
per file in :mod:`mmwsss.pipeline.stages`) and that kind's arguments. Stages
that train a model name an ordinary mmwsss / mmseg / mmdet config; the inputs
of a stage are named by the stage that makes them::

    data_root = 'data/fashionpaste_demo'
    work_dir = 'work_dirs/pipeline_demo'
    stages = [
        dict(name='data', type='FashionPaste', size='demo'),
        dict(name='cam', type='TrainTest', config='configs/cam/...', validate=True),
        dict(name='ir_labels', type='Labels', kind='ir', cams='cam'),
        dict(name='irn', type='TrainTest', config='configs/irn/...',
             cams='cam', train_labels='ir_labels'),
        dict(name='deeplabv2', type='TrainTest', config='configs/deeplabv2/...',
             train_labels='irn'),
    ]

Every stage writes ``{work_dir}/{name}/stage.json``: its ``provenance`` record
and that record's ``digest``, inputs, counts, metrics, ``finished``. The record
holds what the stage's result depends on, each part by content:

- ``settings``: the stage's arguments (a config file by name: its content is
  under ``configs``);
- ``configs``: the parsed content of the config file it runs (``_base_``
  files merged), not its path;
- ``code``: the digest of mmwsss's source (:func:`~mmwsss.utils.provenance.
  code_digest`; a commit touching only docs or tests changes nothing);
- ``data``: the dataset root's content (its generator manifest, else its
  files' names, sizes and times), taken after any stage that writes it;
- ``inputs``: for each input, the content of what its producer *wrote* (a
  checkpoint's bytes, a folder's provenance record or listing, a json's
  bytes, thresholds' values) and the values of ``'oracle:STAGE:METRIC'``
  references.

A finished stage whose record matches is skipped; one that changed reruns
afresh (its old folder kept under ``{name}.old-{time}``), and so does every
consumer whose input it changed, and only those: ``--only cam`` retrains the
CAM, and the next plain run reruns what read the old CAMs. An interrupted
stage of the same record resumes (training from its last checkpoint, exports
and label folders from their finished files). A stage whose record differs
from today's in ``code`` alone is kept when ``keep_code`` names it (or is
'all'): for code changes known not to affect it, so that multi-hour benches
stay resumable. A finished one is kept as it is; an interrupted one resumes
under the record it started with (:func:`~mmwsss.utils.provenance.
recorded_code`). The manifest records each such decision (``code_kept``).

Several processes (``tools/run_pipeline.py --launcher pytorch`` under
torchrun, ``--launcher slurm`` under srun) run one pipeline together: stage
kinds marked ``on_all_ranks`` run on every rank (DDP training, each rank's
share of an export or label folder, histograms pooled over the ranks), the
others on rank 0 while the other ranks wait; rank 0 alone moves folders aside
and writes manifests and the report, and every rank carries on with rank 0's
result of each stage.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable

from mmengine.config import Config
from mmengine.dist import barrier, is_main_process
from mmengine.logging import print_log

from ..registry import STAGES
from ..utils.checkpoint import safe_checkpoint_loader
from ..utils.distributed import broadcast_from_main, init_distributed
from ..utils.machine import machine_info
from ..utils.provenance import (
    code_digest,
    data_digest,
    digest_of,
    move_aside,
    record_digest,
    recorded_code,
)
from .context import MANIFEST, PipelineContext, producer_of, read_json, write_json
from .repeat import pipeline_stages
from .report import write_report
from .stages.base import BaseStage


def build_stages(stages: list[dict]) -> list[BaseStage]:
    """Build each stage dict into its kind's class, checking names, kinds,
    arguments and that every input names an earlier stage.

    Raises:
        ValueError: If a name is missing or repeated, or an input names no
            earlier stage.
        KeyError: If a ``type`` is not a registered stage kind.
        TypeError: If a stage's arguments are not its kind's.
    """
    built: list[BaseStage] = []
    for stage in stages:
        stage = dict(stage)
        name, kind = stage.get('name'), stage.get('type')
        if not name or name in [s.name for s in built]:
            raise ValueError(f'every stage needs a unique name; got {name!r} twice')
        if name == 'all':
            raise ValueError("no stage may be named 'all' (keep_code's word for all)")
        if STAGES.get(kind) is None:
            raise KeyError(
                f'stage {name!r}: unknown type {kind!r}; known: '
                f'{sorted(STAGES.module_dict)} (a kind defined elsewhere is '
                'registered with @mmwsss.registry.STAGES.register_module() in a '
                'module the pipeline config imports)'
            )
        built.append(STAGES.build(stage))
        earlier = [s.name for s in built[:-1]]
        for arg, ref in built[-1].input_refs():
            producer = producer_of(ref)
            if producer not in earlier:
                raise ValueError(
                    f'stage {name!r} takes {arg}={ref!r}, which is not an earlier '
                    'stage'
                )
    return built


def same_config_moved(stage: BaseStage, configs, roots=(None,)) -> bool:
    """Whether ``configs`` (a record's config digests written before they
    marked the project's folder) are ``stage``'s config today, parsed with
    the project at one of ``roots`` (None: where it is now)."""
    try:
        return any(configs == stage.config_digests(root_as=r) for r in roots)
    except TypeError:  # a kind of its own whose digests take no root_as
        return False


def _moved_record(
    stage: BaseStage, done: dict, record: dict, manifest_path: str, main: bool
) -> tuple[dict, dict]:
    """``done`` and its record, with the config digests of a record written
    before they marked the project's folder (the config text as parsed here,
    :func:`~mmwsss.utils.provenance.config_digest`) in today's form where
    they are the same content: the stage is then judged on the rest of its
    record, as before, instead of rerunning; written back by rank 0."""
    old = done['provenance']
    if not same_config_moved(stage, old.get('configs')):
        return done, old
    old = dict(old, configs=record['configs'])
    done = dict(done, provenance=old, digest=record_digest(old))
    if main:
        write_json(manifest_path, done)
    return done, old


def run_stage(ctx: PipelineContext, stage: dict | BaseStage) -> dict:
    """Run one stage now in ``ctx`` (its inputs read from ``ctx.results``),
    without a manifest and without skipping: e.g. a stage kind tried on
    folders made elsewhere.

    Args:
        ctx (PipelineContext): Data root, work dir and the results the
            stage's inputs name.
        stage (dict | BaseStage): A stage dict (``name``, ``type``, arguments)
            or a built stage.

    Returns:
        dict: The stage's result.
    """
    if isinstance(stage, dict):
        stage = STAGES.build(dict(stage))
    resolved, digests = stage.resolve_inputs(ctx)
    return stage.execute(ctx, resolved, digest_of(digests))


def _changes(old: dict | None, new: dict) -> str:
    """What differs between two stage records, for the log."""
    if not old:
        return 'no record'
    changed = []
    for key in sorted(set(old) | set(new)):
        if old.get(key) == new.get(key):
            continue
        if key == 'inputs' and isinstance(old.get(key), dict):
            args = sorted(
                a
                for a in set(old[key]) | set(new[key])
                if old[key].get(a) != new[key].get(a)
            )
            changed.append(f"inputs ({', '.join(args)})")
        else:
            changed.append(key)
    return ', '.join(changed)


def _code_only(old: dict | None, new: dict) -> bool:
    """Whether two records differ in ``code`` alone."""
    if not old or old.get('code') == new.get('code'):
        return False
    return {k: v for k, v in old.items() if k != 'code'} == {
        k: v for k, v in new.items() if k != 'code'
    }


def _selected(
    names: list[str],
    from_stage: str | None,
    only: str | None,
    until: str | None,
    just: str | None = None,
) -> tuple[list[str], set[str]]:
    """The stages to consider (up to ``until``) and those forced to rerun."""
    if sum(bool(x) for x in (from_stage, only, just)) > 1:
        raise ValueError('use one of from_stage, only and just')
    for wanted in (from_stage, only, until, just):
        if wanted is not None and wanted not in names:
            raise KeyError(f'no stage named {wanted!r}; stages: {names}')
    if until is not None:
        names = names[: names.index(until) + 1]
    if only:
        return names, {only}
    if from_stage:
        return names, set(names[names.index(from_stage) :])
    return names, set()


@safe_checkpoint_loader()  # stages and report load Runner checkpoints
def run_pipeline(
    cfg: Config | str,
    from_stage: str | None = None,
    only: str | None = None,
    report: bool = True,
    until: str | None = None,
    launcher: str = 'none',
    keep_code: Iterable[str] | str = (),
    just: str | None = None,
) -> dict[str, dict]:
    """Run the stages of a pipeline config in order (see the module doc).

    Args:
        cfg (Config | str): Pipeline config (``data_root``, ``work_dir``,
            ``stages``; optional ``stage_options``: ``{stage name: {argument:
            value}}`` overrides, e.g. from an inheriting config, and
            ``report``: ``num_samples`` / ``split`` of the sample grid;
            ``repeat``: stages run again at other training seeds, see
            :mod:`mmwsss.pipeline.repeat`;
            ``dist_cfg``: ``backend`` / ``timeout`` of the process group) or its
            path.
        from_stage (str, optional): Rerun this stage and every later one afresh.
        only (str, optional): Rerun only this stage afresh (its inputs must be
            finished); the next plain run reruns the consumers it changed.
        report (bool): Write the report into ``{work_dir}/report``. Default: True.
        until (str, optional): Stop after this stage (the later ones are neither
            run nor reported), e.g. to make pseudo labels without the final net.
        launcher (str): 'none' (one process), 'pytorch' (every process that
            torchrun started calls this function) or 'slurm' (every srun task
            does). The process group is created unless one exists; its
            ``timeout`` must cover the longest stage that rank 0 runs alone.
            Default: 'none'.
        keep_code (Iterable[str] | str): Stages kept although mmwsss's code
            changed since they ran (their records differ in ``code`` only), or
            'all' (alone or as an item, as a command line gives it; no stage
            may be named so): a finished one is kept as it is, an interrupted
            one resumes under the record it started with (its checkpoints,
            exported and labelled files); the manifest lists each kept change
            under ``code_kept``. Default: () (none: a code change reruns).
        just (str, optional): Run only this stage, as a plain run would: skipped
            when finished and current, resumed when interrupted (``only``
            starts it afresh), rerun when what it is made from changed; the
            other stages are neither run nor checked (its inputs must be
            finished). For a queue of single stages resumed across
            interruptions.

    Returns:
        dict[str, dict]: Each stage's result (its manifest), by name.

    Raises:
        MissingInputError: If a stage's input stage has not finished.
    """
    if isinstance(cfg, str):
        cfg = Config.fromfile(cfg)
    built = build_stages(pipeline_stages(cfg))
    names, forced = _selected([s.name for s in built], from_stage, only, until, just)
    alone = only or just
    built = built[: len(names)]
    keep_code = [keep_code] if isinstance(keep_code, str) else list(keep_code)
    keep = set(names) if 'all' in keep_code else set(keep_code)
    init_distributed(launcher, **dict(cfg.get('dist_cfg') or {}))
    main = is_main_process()
    ctx = PipelineContext(cfg.data_root, cfg.work_dir, launcher)
    if main:
        os.makedirs(ctx.work_dir, exist_ok=True)
    data = None
    for position, stage in enumerate(built, 1):
        name, kind = stage.name, type(stage).__name__
        manifest_path = os.path.join(ctx.stage_dir(name), MANIFEST)
        # every rank decides on rank 0's reading of the manifest
        done = broadcast_from_main(read_json(manifest_path) if main else None)
        if alone and name != alone:
            ctx.results[name] = done or {}
            continue
        resolved, input_digests = stage.resolve_inputs(ctx)
        if data is None and not stage.makes_data and os.path.isdir(ctx.data_root):
            data = data_digest(ctx.data_root)
        record = dict(
            kind=kind,
            settings=stage.recorded_settings(),
            configs=stage.config_digests(),
            code=code_digest(),
            data=None if stage.makes_data else data,
            inputs=input_digests,
        )
        digest = broadcast_from_main(record_digest(record))
        old = (done or {}).get('provenance')
        if old and old.get('configs') != record['configs']:
            done, old = _moved_record(stage, done, record, manifest_path, main)
        finished = bool(done and done.get('finished')) and name not in forced
        if finished and done.get('digest') != digest and _code_only(old, record):
            if name in keep:
                kept = dict(was=old['code'], now=record['code'], at=time.ctime())
                done = dict(
                    done,
                    digest=digest,
                    provenance=record,
                    code_kept=[*done.get('code_kept', []), kept],
                )
                if main:
                    write_json(manifest_path, done)
                print_log(f'{name}: kept across a code change (keep_code)', 'current')
        if finished and done.get('digest') == digest:
            print_log(f'[{position}/{len(built)}] {name}: finished, skipped', 'current')
            ctx.results[name] = done
            continue
        why = 'forced' if name in forced else _changes(old, record)
        # the record the stage's folders are made under: this run's, or, for an
        # interrupted run kept across a code change, the one it started with
        run_digest, run_code, kept = digest, record['code'], None
        interrupted = bool(done) and not done.get('finished') and name not in forced
        if interrupted and done.get('digest') == digest:
            why = 'resuming'
        elif interrupted and name in keep and _code_only(old, record):
            run_digest, run_code = done['digest'], old['code']
            kept = dict(was=old['code'], now=record['code'], at=time.ctime())
            why = 'resuming across a code change (keep_code)'
        print_log(f'[{position}/{len(built)}] {name} ({kind}): {why}', 'current')
        if main:
            if done is not None and (
                name in forced or done.get('digest') != run_digest
            ):
                # a rerun, or what the stage depends on changed: start afresh
                # (an interrupted run of the same record resumes instead)
                if os.path.isdir(ctx.stage_dir(name)):
                    moved = move_aside(ctx.stage_dir(name))
                    print_log(
                        f'previous {ctx.stage_dir(name)} kept as {moved}', 'current'
                    )
            os.makedirs(ctx.stage_dir(name), exist_ok=True)
            if kept is None:
                # the record too, so that a run of another code version can
                # keep this one's folders (keep_code) if it is interrupted
                write_json(
                    manifest_path,
                    dict(name=name, digest=digest, provenance=record, finished=False),
                )
        barrier()  # the stage's folder is ready
        result = None
        if main or stage.on_all_ranks:
            with recorded_code(run_code):
                result = stage.execute(ctx, resolved, run_digest)
        barrier()  # every rank's share is written
        result = broadcast_from_main(result)
        if stage.makes_data:
            data = None  # digested afresh for the next stage
        result.update(
            name=name,
            type=kind,
            digest=digest,
            provenance=record,
            finished=True,
            inputs={a: stage.settings[a] for a in stage.inputs if a in stage.settings},
            # what its times were measured on (a resumed stage: where it ended)
            machine=machine_info(),
        )
        if kept is not None:
            result['code_kept'] = [*done.get('code_kept', []), dict(kept, resumed=True)]
        if main:
            write_json(manifest_path, result)
        ctx.results[name] = result
    if report and main:
        write_report(cfg, ctx.results)
    barrier()  # the other ranks return once the report is written
    return ctx.results
