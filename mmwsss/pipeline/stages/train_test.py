"""``TrainTest``: train an mmseg-style config's model, then run its test loop."""

from __future__ import annotations

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
    """

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
        return self.train_and_test(
            ctx, cfg, options, thresholds, validate, val_interval, transform_args
        )
