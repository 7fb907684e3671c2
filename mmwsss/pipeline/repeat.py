"""Repeats of a pipeline's stages at other training seeds: the spread of a
number, run to run.

A pipeline config may declare::

    repeat = dict(seeds=(1, 2), stages=['cam', 'thresholds', 'cam_labels'])

and :func:`pipeline_stages` appends, after the pipeline's own stages, a copy
of each named stage per seed, in the pipeline's order, named
``{name}@{seed}`` (``cam@1``, ``thresholds@1``, ...): a copy's references to
stages of the group (inputs and ``'oracle:STAGE:METRIC'`` values) name the
copies of the same seed, references outside the group stay (the data, a
stage run once), and a stage kind that trains (``trains``) gets
``cfg_options={'randomness.seed': seed}``. The pipeline's own stages are the
runs at the configs' seeds, so ``seeds`` lists the other ones. Each copy is
an ordinary stage: its own folder, manifest and provenance, resumable, and
``--only cam@1`` reruns one of them.
"""

from __future__ import annotations

import copy

from mmengine.config import Config

from ..registry import STAGES
from .context import ORACLE

#: Separates a stage's name from its repeat's seed.
SEP = '@'


def repeat_name(name: str, seed: int) -> str:
    """The name of stage ``name``'s repeat at ``seed``."""
    return f'{name}{SEP}{seed}'


def base_name(name: str) -> tuple[str, int | None]:
    """``(stage, seed)`` of a repeat's name; ``(name, None)`` for a stage of
    the pipeline itself."""
    stem, sep, seed = name.rpartition(SEP)
    if sep and seed.isdigit():
        return stem, int(seed)
    return name, None


def _rename_ref(ref: str, group: set[str], seed: int) -> str:
    """A reference ``STAGE[.output]`` to a stage of ``group`` renamed to its
    repeat."""
    stage, dot, rest = ref.partition('.')
    return repeat_name(stage, seed) + dot + rest if stage in group else ref


def _rename_oracles(value, group: set[str], seed: int):
    """``value`` with its ``'oracle:STAGE:METRIC'`` strings naming the repeats
    of ``group``'s stages."""
    if isinstance(value, dict):
        return {k: _rename_oracles(v, group, seed) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_rename_oracles(v, group, seed) for v in value)
    if isinstance(value, str) and value.startswith(ORACLE):
        stage, sep, metric = value[len(ORACLE) :].partition(':')
        if stage in group:
            return ORACLE + repeat_name(stage, seed) + sep + metric
    return value


def seeded(stage: dict, seed: int) -> dict:
    """``stage`` with ``cfg_options={'randomness.seed': seed}`` added when its
    kind trains a config's model (``trains``), else unchanged."""
    if not getattr(STAGES.get(stage['type']), 'trains', False):
        return stage
    options = dict(stage.get('cfg_options') or {})
    return dict(stage, cfg_options=dict(options, **{'randomness.seed': seed}))


def expand_repeats(stages: list[dict], repeat: dict | None) -> list[dict]:
    """``stages`` followed by the repeats ``repeat`` declares (module doc).

    Raises:
        KeyError: A repeated stage is not in ``stages``, or ``repeat`` lacks
            ``seeds`` / ``stages``.
        ValueError: A seed is repeated or not a non-negative int.
    """
    if not repeat:
        return list(stages)
    seeds, wanted = list(repeat['seeds']), list(repeat['stages'])
    if len(set(seeds)) != len(seeds) or not all(
        isinstance(s, int) and s >= 0 for s in seeds
    ):
        raise ValueError(f'repeat seeds must be distinct ints >= 0, got {seeds}')
    names = [stage['name'] for stage in stages]
    unknown = sorted(set(wanted) - set(names))
    if unknown:
        raise KeyError(f'repeat names stages the pipeline lacks: {unknown}')
    group = set(wanted)
    expanded = list(stages)
    for seed in seeds:
        for stage in stages:
            if stage['name'] not in group:
                continue
            copied = copy.deepcopy(dict(stage))
            copied['name'] = repeat_name(stage['name'], seed)
            kind = STAGES.get(stage['type'])
            for arg in getattr(kind, 'inputs', {}):
                value = copied.get(arg)
                if isinstance(value, str):
                    copied[arg] = _rename_ref(value, group, seed)
                elif isinstance(value, list | tuple):
                    copied[arg] = [_rename_ref(v, group, seed) for v in value]
            expanded.append(seeded(_rename_oracles(copied, group, seed), seed))
    return expanded


def pipeline_stages(cfg: Config) -> list[dict]:
    """A pipeline config's stage dicts as they run: ``stage_options`` merged
    into its ``stages``, then its ``repeat`` appended.

    Raises:
        KeyError: ``stage_options`` names an unknown stage (see also
            :func:`expand_repeats`).
    """
    stages = [dict(s) for s in cfg.stages]
    overrides = dict(cfg.get('stage_options') or {})
    for stage in stages:
        stage.update(overrides.pop(stage.get('name'), {}))
    if overrides:
        raise KeyError(f'stage_options name unknown stages {sorted(overrides)}')
    return expand_repeats(stages, cfg.get('repeat'))
