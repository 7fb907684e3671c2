"""What the stages of a pipeline share: folders, finished results, inputs.

A stage kind declares its inputs as :class:`Input` objects (one per argument
that names other stages' outputs). The runner resolves each reference to what
the producer wrote (a folder, a file, a checkpoint, thresholds) *before* the
stage runs, and digests that content: a consumer's digest changes whenever
what it reads changes, whoever changed it. The digests are those of
:mod:`mmwsss.utils.provenance`, shared with exports and label folders.

References: ``'stage'`` (the stage's main output for that input) or
``'stage.output'`` (a named output, e.g. ``'irn.walk_scores'``). Option values
``'auto:KEY'`` are read from a thresholds input and ``'oracle:STAGE:METRIC'``
from another stage's metrics (for oracle columns only).
"""

from __future__ import annotations

import json
import os
import os.path as osp

from ..utils.provenance import digest_of, path_digest
from .instance_coco import COCO_SUFFIX

#: File name of a stage's manifest in its folder.
MANIFEST = 'stage.json'
#: Prefix of an option value read from a thresholds result (ground-truth-free,
#: see :mod:`mmwsss.ops.thresholds`), e.g. ``bg_score='auto:bg_score'``.
AUTO = 'auto:'
#: Prefix of an option value read from another stage's metrics, e.g.
#: ``'oracle:cam:seed/best_bg_score'``: a setting picked on ground truth, for
#: oracle columns only.
ORACLE = 'oracle:'


class MissingInputError(RuntimeError):
    """A stage's input has not been made (its producing stage did not finish)."""


def producer_of(ref: str) -> str:
    """The stage name of an input reference ``'stage'`` or ``'stage.output'``,
    or of an oracle reference ``'stage:METRIC'``."""
    return ref.partition(':')[0].partition('.')[0]


def write_json(path: str, content: dict) -> None:
    """Write ``content`` as JSON, atomically (temporary name, then rename)."""
    tmp = path + '.part'
    with open(tmp, 'w') as f:
        json.dump(content, f, indent=1)
    os.replace(tmp, path)


def read_json(path: str) -> dict | None:
    """The JSON object at ``path``, or None where there is no file."""
    if not osp.exists(path):
        return None
    with open(path) as f:
        return json.load(f)


def oracle_refs(value) -> list[str]:
    """The stages that ``'oracle:STAGE:METRIC'`` strings in ``value`` (nested
    dicts and lists too) read, as ``'STAGE:METRIC'``."""
    if isinstance(value, dict):
        return [ref for v in value.values() for ref in oracle_refs(v)]
    if isinstance(value, list | tuple):
        return [ref for v in value for ref in oracle_refs(v)]
    if isinstance(value, str) and value.startswith(ORACLE):
        return [value[len(ORACLE) :]]
    return []


class Input:
    """One input argument of a stage kind: references to earlier stages'
    outputs, resolved to folders or files.

    Subclasses resolve other things (checkpoints, thresholds, COCO jsons); a
    new stage kind may define its own in its file.

    Args:
        what (str): What the input is, for messages (e.g. 'CAMs').
        many (bool): The argument takes a list of references. Default: False.
    """

    def __init__(self, what: str, many: bool = False) -> None:
        self.what = what
        self.many = many

    def refs(self, value) -> list[str]:
        """The references an argument value holds."""
        if value is None:
            return []
        if isinstance(value, list | tuple):
            if not self.many:
                raise TypeError(f'takes one {self.what} reference, got {value!r}')
            return list(value)
        return [value]

    def resolve(self, ctx: PipelineContext, consumer: str, ref: str):
        """The folder or file ``ref`` names (a stage's first output folder
        without ``.output``)."""
        return ctx.output_of(consumer, ref, self.what)

    def digest(self, value) -> str:
        """What the resolved value holds (see
        :func:`~mmwsss.utils.provenance.path_digest`)."""
        return path_digest(value)


class CheckpointInput(Input):
    """A stage's last checkpoint (file digest)."""

    def __init__(self, what: str = 'checkpoint') -> None:
        super().__init__(what)

    def resolve(self, ctx: PipelineContext, consumer: str, ref: str) -> str:
        return ctx.checkpoint_of(consumer, ref)


class ThresholdsInput(Input):
    """The thresholds a stage computed (digest of their values)."""

    def __init__(self, what: str = 'thresholds') -> None:
        super().__init__(what)

    def resolve(self, ctx: PipelineContext, consumer: str, ref: str) -> dict:
        return ctx.thresholds_of(consumer, ref)

    def digest(self, value: dict) -> str:
        return 'values:' + digest_of(value)


class CocoJsonInput(Input):
    """A COCO json: a stage output that is a json file, a stage's only json
    output, or an instance folder's merged json (``'irn.pseudo_instances'``
    stands for ``'irn.pseudo_instances_coco'``)."""

    def resolve(self, ctx: PipelineContext, consumer: str, ref: str) -> str:
        result = ctx.result_of(consumer, ref, self.what)
        producer, _, output = ref.partition('.')
        outputs = result.get('outputs') or {}
        jsons = sorted(k for k, v in outputs.items() if str(v).endswith('.json'))
        if not output and len(jsons) == 1:
            output = jsons[0]
        elif output and output + COCO_SUFFIX in outputs:
            output += COCO_SUFFIX
        path = ctx.output_of(
            consumer, f'{producer}.{output}' if output else ref, self.what
        )
        if not (osp.isfile(path) and path.endswith('.json')):
            raise ValueError(
                f'stage {consumer!r}: {ref!r} is {path}, not a COCO json; name '
                f'one of the json outputs of stage {producer!r}: {jsons}'
            )
        # absolute: mmdet joins a relative ann_file to the dataset's data_root
        return osp.abspath(path)


class PipelineContext:
    """What the stages share: data root, work dir, launcher ('none', 'pytorch'
    or 'slurm') and the finished stages' results (their manifests)."""

    def __init__(self, data_root: str, work_dir: str, launcher: str = 'none') -> None:
        self.data_root = data_root
        self.work_dir = work_dir
        self.launcher = launcher
        self.results: dict[str, dict] = {}

    def stage_dir(self, name: str) -> str:
        return osp.join(self.work_dir, name)

    def result_of(self, consumer: str, ref: str, what: str) -> dict:
        """The finished result of the stage that ``ref`` names."""
        producer = producer_of(ref)
        result = self.results.get(producer)
        if not result or not result.get('finished'):
            raise MissingInputError(
                f'stage {consumer!r} needs the {what} of stage {producer!r}, which '
                f'has not finished (no complete {self.stage_dir(producer)}/'
                f'{MANIFEST}); run that stage first (--only {producer} or '
                f'--from {producer})'
            )
        return result

    def output_of(self, consumer: str, ref: str, what: str) -> str:
        """The output folder (or file) ``ref`` names (``'stage'``: its main
        output)."""
        result = self.result_of(consumer, ref, what)
        producer, _, output = ref.partition('.')
        outputs = result.get('outputs') or {}
        if output:
            if output not in outputs:
                raise MissingInputError(
                    f'stage {consumer!r} takes {ref!r}, but stage {producer!r} '
                    f'has no output {output!r}; its outputs: {sorted(outputs)}'
                )
            folder = outputs[output]
        else:
            folder = (result.get('out_dir') or '').split(', ')[0]
        if not folder or not osp.exists(folder):
            raise MissingInputError(
                f'stage {consumer!r} needs the {what} of stage {producer!r} in '
                f'{folder}, which does not exist any more; rerun --from {producer}'
            )
        return folder

    def thresholds_of(self, consumer: str, ref: str) -> dict:
        result = self.result_of(consumer, ref, 'thresholds')
        if 'thresholds' not in result:
            raise MissingInputError(
                f'stage {consumer!r} takes thresholds from stage {ref!r}, which '
                'computed none (use a Thresholds stage, or a Labels stage with '
                f'{AUTO!r} options)'
            )
        return result['thresholds']

    def checkpoint_of(self, consumer: str, ref: str) -> str:
        result = self.result_of(consumer, ref, 'checkpoint')
        ckpt = result.get('checkpoint')
        if not ckpt or not osp.isfile(ckpt):
            raise MissingInputError(
                f'stage {consumer!r} starts from the checkpoint of stage {ref!r}, '
                f'which has none ({ckpt}); rerun --from {ref}'
            )
        return ckpt

    def metric_of(self, consumer: str, ref: str) -> float:
        """The metric ``'STAGE:METRIC'`` names (an oracle reference)."""
        stage, _, metric = ref.partition(':')
        metrics = self.result_of(consumer, stage, 'metrics').get('metrics', {})
        if metric not in metrics:
            raise KeyError(
                f'stage {consumer!r}: stage {stage!r} has no metric {metric!r}'
            )
        return metrics[metric]

    def resolve(self, consumer: str, value, thresholds: dict | None):
        """Replace ``'auto:KEY'`` / ``'oracle:STAGE:METRIC'`` strings in
        ``value`` (nested dicts and lists too) by their numbers."""
        if isinstance(value, dict):
            return {k: self.resolve(consumer, v, thresholds) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return type(value)(self.resolve(consumer, v, thresholds) for v in value)
        if not isinstance(value, str):
            return value
        if value.startswith(AUTO):
            key = value[len(AUTO) :]
            if thresholds is None:
                raise ValueError(
                    f'stage {consumer!r}: {value!r} needs thresholds (a '
                    "thresholds='STAGE' input)"
                )
            if key not in thresholds:
                raise KeyError(
                    f'stage {consumer!r}: no threshold {key!r}; known: '
                    f'{sorted(thresholds)}'
                )
            return thresholds[key]
        if value.startswith(ORACLE):
            return self.metric_of(consumer, value[len(ORACLE) :])
        return value
