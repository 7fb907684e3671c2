"""``TrainTest``: train an mmseg-style config's model, then run its test loop."""

from __future__ import annotations

import logging

from mmengine.logging import print_log

from ...evaluation.multilabel_map import LEARNED_WARNING, learned_share
from ...registry import STAGES
from ..context import CheckpointInput, Input, ThresholdsInput
from ..runner_stage import is_mmdet_config
from .base import ConfigStage


@STAGES.register_module()
class TrainTest(ConfigStage):
    """Train a config's model and run its test loop (export + metrics).

    ``cams`` sets the dataloaders' ``LoadCAMs.cam_dir``; ``train_labels`` the
    label folder the model trains on; ``'auto:KEY'`` values of
    ``cfg_options`` are read from the ``thresholds`` stage; ``init_from``
    starts the backbone from that stage's checkpoint; ``load_from`` starts
    the whole model from it (mmengine's ``load_from``, non-strict: layers the
    checkpoint lacks keep their initialisation, e.g. SEAM fine-tuning the CAM
    classifier with its PCM new); ``val_interval`` validates during training
    (a curve in the manifest), ``validate`` once after it. An interrupted
    stage resumes from its own last checkpoint. mmdet configs are the
    ``DetTrainTest`` kind's.

    A classifier validated with ``validate=True`` reports ``learned``: how far
    its val mAP got from chance (``cls/mAP_chance``) towards 100; under
    :data:`LEARNED_WARNING` the stage logs a loud warning (a classifier that
    stayed near the label prior makes every later seed worthless), and under
    ``min_learned`` it fails, so a pipeline stops there instead of building
    on it.
    """

    trains = True
    inputs = dict(
        cams=Input('CAMs'),
        train_labels=Input('training masks'),
        thresholds=ThresholdsInput(),
        init_from=CheckpointInput(),
        load_from=CheckpointInput(),
    )
    on_all_ranks = True

    def run(
        self,
        ctx,
        config: str,
        cams: str | None = None,
        train_labels: str | None = None,
        thresholds: dict | None = None,
        init_from: str | None = None,
        validate: bool = False,
        val_interval: int | None = None,
        cfg_options: dict | None = None,
        load_from: str | None = None,
        min_learned: float | None = None,
    ) -> dict:
        if is_mmdet_config(self.cfg):
            raise ValueError(
                f'stage {self.name!r}: {config} is an mmdet config; use '
                "type='DetTrainTest' (train_instances=, val_instances=)"
            )
        cfg, options, transform_args = self.model_options(
            ctx, cfg_options, thresholds, cams, train_labels, init_from
        )
        if load_from is not None:
            options['load_from'] = load_from
        if min_learned is not None and not validate:
            raise ValueError(
                f'stage {self.name!r}: min_learned needs validate=True (it reads '
                'the val cls/mAP)'
            )
        result = self.train_and_test(
            ctx, cfg, options, thresholds, validate, val_interval, transform_args
        )
        learned = check_learned(
            self.name, result.get('val') or {}, min_learned, ctx.stage_dir(self.name)
        )
        if learned is not None:
            result['learned'] = round(learned, 3)
        return result


def check_learned(
    name: str, val: dict, min_learned: float | None, work_dir: str
) -> float | None:
    """How far stage ``name``'s classifier got from chance
    (:func:`~mmwsss.evaluation.multilabel_map.learned_share` of its ``val``
    metrics; None when it has no ``cls/mAP``); logs a warning under
    :data:`LEARNED_WARNING`.

    Raises:
        RuntimeError: Under ``min_learned``: the classifier did not learn.
    """
    learned = learned_share(val)
    if learned is None:
        return None
    message = (
        f"stage {name!r}: the classifier's val mAP {val['cls/mAP']:.1f} is "
        f'{100 * learned:.0f}% of the way from chance '
        f"({val['cls/mAP_chance']:.1f}, a ranking that ignores the image) to 100"
    )
    if min_learned is not None and learned < min_learned:
        raise RuntimeError(
            f"{message}, under the stage's min_learned {min_learned}: it did not "
            'learn (its maps would be near the label prior). Try another training '
            "seed (cfg_options={'randomness.seed': N}) or a lower lr; its "
            f'checkpoints are kept in {work_dir}'
        )
    if learned < LEARNED_WARNING:
        print_log(f'WARNING: {message}: it barely learned', 'current', logging.WARNING)
    return learned
