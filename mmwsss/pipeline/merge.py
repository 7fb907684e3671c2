"""Merge a bench's finished stages across work dirs that do not outlive
their machine.

A long bench runs over many sessions; where a session's machine does not keep
the work dir, each session runs a unit that finishes in it (e.g. the CAM and
the methods that fine-tune it) and collects it into the results file. The
next collect's work dir lacks the earlier units' stages. :func:`merge_stages`
keeps them, and checks each kept stage the way the runner decides whether a
finished stage still stands (:mod:`mmwsss.pipeline.runner`): against the work
dir at hand, by content. A kept stage whose record no longer matches (made
from another run of an input stage that this work dir reran, from other data,
by another config or other code) is kept *with its reasons*, which
BENCHMARKS.md prints beside it: a stage made from an earlier run is shown as
such, never as if it were made from the stages shown beside it.
"""

from __future__ import annotations

import os.path as osp
from collections.abc import Iterable

from mmengine.config import Config

from ..utils.provenance import code_digest, data_digest, project_root
from .context import AUTO, MissingInputError, PipelineContext, producer_of
from .repeat import pipeline_stages
from .runner import build_stages, same_config_moved

#: The key of a kept stage's record in its manifest.
MERGED = 'merged'
#: The key of the reasons why a stage of the work dir itself no longer
#: matches what the pipeline would make now (:func:`outdated_stages`).
OUTDATED = 'outdated'


def _recorded(digests: dict, arg: str, index: int, many: bool):
    value = digests.get(arg)
    if many and isinstance(value, list):
        return value[index] if index < len(value) else None
    return value


def _same_config_moved(stage, manifest: dict) -> bool:
    """Whether ``manifest``'s config digests, written before they marked the
    project's folder, are today's config where the project then lived (the
    folder of the config path it recorded) or lives now."""
    path = manifest.get('config')
    roots = [project_root(path)] if isinstance(path, str) else []
    configs = (manifest.get('provenance') or {}).get('configs')
    return same_config_moved(stage, configs, [*roots, None])


def stale_reasons(
    stage,
    manifest: dict,
    ctx: PipelineContext,
    kept: dict[str, dict],
    code: str | None,
    data: str | None,
    outdated: Iterable[str] = (),
) -> list[str]:
    """Why ``manifest`` (a finished stage kept from an earlier collect that
    the work dir of ``ctx`` lacks, or one of the work dir's own, read by a
    collect) is not what the runner would make from this work dir's stages
    now: [] where it matches.

    Args:
        stage (BaseStage): The stage as the pipeline builds it today.
        manifest (dict): Its finished manifest from an earlier collect.
        ctx (PipelineContext): The work dir, its data root and its finished
            stages (``ctx.results``).
        kept (dict): The stages kept from earlier collects so far (each with
            its ``merged`` record), for inputs made by another kept stage.
        code (str, optional): The code digest of this work dir's stages;
            None where a code difference is accepted (keep_code).
        data (str, optional): The data root's digest; None where there is
            no data root here to compare with.
        outdated (Iterable[str]): Stages of this work dir that no longer
            match what made them (:func:`outdated_stages`): a stage made from
            one is stale too.
    """
    outdated = set(outdated)
    record = manifest.get('provenance') or {}
    reasons = []
    if record.get('settings') != stage.recorded_settings():
        reasons.append('its settings changed')
    if record.get('configs') != stage.config_digests() and not _same_config_moved(
        stage, manifest
    ):
        reasons.append('its config file changed')
    if code is not None and record.get('code') != code:
        reasons.append(f"made by other code ({record.get('code')}; here {code})")
    if (
        not stage.makes_data
        and record.get('data')
        and data is not None
        and record['data'] != data
    ):
        reasons.append('made from another data set')
    digests = record.get('inputs') or {}
    for arg, spec in stage.inputs.items():
        value = stage.settings.get(arg)
        if value is None:
            continue
        many = isinstance(value, list | tuple)
        for index, ref in enumerate(spec.refs(value)):
            if ref.startswith(AUTO):
                continue
            producer = producer_of(ref)
            if producer in outdated:
                reasons.append(f'made from `{producer}`, itself outdated')
                continue
            if producer in kept:
                if kept[producer][MERGED]['stale']:
                    reasons.append(f'made from `{producer}`, itself stale')
                continue
            if producer not in ctx.results:
                reasons.append(f'made from `{producer}`, which these results lack')
                continue
            try:
                found = spec.digest(spec.resolve(ctx, stage.name, ref))
            except MissingInputError:
                reasons.append(f'made from `{producer}`, whose output is not here')
                continue
            if found != _recorded(digests, arg, index, many):
                reasons.append(f'made from another run of `{producer}`')
    for ref, value in (digests.get('oracle') or {}).items():
        producer = producer_of(ref)
        if producer not in ctx.results:
            continue
        try:
            same = value == ctx.metric_of(stage.name, ref)
        except KeyError:  # the producer rerun here has no such metric
            same = False
        if not same:
            reasons.append(f'its oracle value came from another run of `{producer}`')
    return list(dict.fromkeys(reasons))


def _work_dir(cfg: Config, stages: dict[str, dict]) -> tuple:
    """The pipeline's stages as built today by name, the work dir's context
    (its finished ``stages`` as results) and its data root's digest (None
    without one)."""
    built = {stage.name: stage for stage in build_stages(pipeline_stages(cfg))}
    ctx = PipelineContext(cfg.data_root, cfg.work_dir)
    ctx.results = {k: v for k, v in stages.items() if v.get('finished')}
    data = data_digest(ctx.data_root) if osp.isdir(ctx.data_root) else None
    return built, ctx, data


def _code(name: str, code: str, keep_code: Iterable[str]) -> str | None:
    """The code digest ``name`` is checked against; None where its code
    difference is accepted (keep_code: its name or 'all')."""
    return None if 'all' in keep_code or name in keep_code else code


def merge_stages(
    cfg: Config,
    new: dict[str, dict],
    old: dict[str, dict],
    origin: dict | None = None,
    keep_code: Iterable[str] = (),
) -> dict[str, dict]:
    """``new`` (the finished stages of ``cfg``'s work dir), with every
    finished stage of ``old`` (an earlier collect's) that ``new`` lacks, in
    the pipeline's order.

    Each kept stage gets ``merged``: ``collected`` (``origin``, e.g. the
    earlier results' machine, commit and date; a stage kept before keeps the
    first one) and ``stale``: :func:`stale_reasons` against this work dir. A
    stage of ``old`` that the pipeline no longer declares is dropped.

    Args:
        cfg (Config): The pipeline config (work dir and data root as
            collected).
        new (dict): The work dir's finished stages' manifests by name.
        old (dict): The earlier results' stages by name.
        origin (dict, optional): Where ``old`` was collected.
        keep_code (Iterable[str]): Stages (or 'all') whose code difference
            is accepted, as the runner's keep_code.

    Returns:
        dict[str, dict]: The merged stages by name.
    """
    keep_code = set(keep_code)
    built, ctx, data = _work_dir(cfg, new)
    # what this work dir's stages were made by (once, not per stage)
    here = [
        r['provenance']['code'] for r in ctx.results.values() if r.get('provenance')
    ]
    code = here[-1] if here else code_digest()
    outdated = {n for n, m in ctx.results.items() if m.get(OUTDATED)}
    merged, kept = {}, {}
    for name, stage in built.items():
        if name in new:
            merged[name] = new[name]
            continue
        manifest = old.get(name)
        if not manifest or not manifest.get('finished'):
            continue
        reasons = stale_reasons(
            stage, manifest, ctx, kept, _code(name, code, keep_code), data, outdated
        )
        collected = (manifest.get(MERGED) or {}).get('collected', origin or {})
        manifest = dict(manifest, **{MERGED: dict(collected=collected, stale=reasons)})
        merged[name] = kept[name] = manifest
    return merged


def outdated_stages(
    cfg: Config, stages: dict[str, dict], keep_code: Iterable[str] = ()
) -> dict[str, dict]:
    """``stages`` (the finished stages of ``cfg``'s work dir, as a collect
    reads them without running anything), each that no longer matches what
    the pipeline would make now with ``outdated``: the reasons, as
    :func:`stale_reasons` gives them (its settings, config file, code or
    data changed since it ran, or it is made from another run of an input, or
    from an outdated stage). A collect after a config change thus shows the
    stages the change touches as what they are, runs of the old config, until
    the pipeline reruns them; the others are returned as they are.

    Args:
        cfg (Config): The pipeline config (work dir and data root as
            collected).
        stages (dict): The work dir's finished stages' manifests by name.
        keep_code (Iterable[str]): Stages (or 'all') whose code difference
            is accepted, as the runner's keep_code.

    Returns:
        dict[str, dict]: The stages by name, in the same order.
    """
    keep_code = set(keep_code)
    built, ctx, data = _work_dir(cfg, stages)
    code = code_digest()
    out, outdated = {}, set()
    for name, manifest in stages.items():
        manifest = {k: v for k, v in manifest.items() if k != OUTDATED}
        stage = built.get(name)
        if stage is None or not manifest.get('finished'):
            out[name] = manifest
            continue
        reasons = stale_reasons(
            stage, manifest, ctx, {}, _code(name, code, keep_code), data, outdated
        )
        if reasons:
            manifest[OUTDATED] = reasons
            outdated.add(name)
        out[name] = manifest
    return out
