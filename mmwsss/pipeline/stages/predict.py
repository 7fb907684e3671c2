"""``Predict``: a config's test (export) loop with another stage's weights."""

from __future__ import annotations

from ...registry import STAGES
from ..context import CheckpointInput, Input, ThresholdsInput
from ..runner_stage import run_test_stage
from .base import ConfigStage


@STAGES.register_module()
class Predict(ConfigStage):
    """Run a config's test (export) loop with the checkpoint of stage
    ``checkpoint``, no training: e.g. IRN's walk again on other maps; with
    ``tta`` the config's test-time augmentation (``tta_pipeline`` /
    ``tta_model``, as ``tools/test.py --tta``: DeepLab's multi-scale + flip +
    dense CRF).

    ``test_labels`` names a label folder the test dataset reads as its masks
    (``test_dataloader.dataset.pseudo_dir`` of a ``PseudoLabelDataset``, e.g.
    the pseudo masks PtReCl's prototypes are gathered by); ``prototypes`` a
    prototype folder, set as ``model.prototypes`` (PtReCl's reclassifier).
    """

    inputs = dict(
        checkpoint=CheckpointInput(),
        cams=Input('CAMs'),
        thresholds=ThresholdsInput(),
        test_labels=Input('masks'),
        prototypes=Input('prototypes'),
    )
    on_all_ranks = True

    def run(
        self,
        ctx,
        config: str,
        checkpoint: str,
        cams: str | None = None,
        thresholds: dict | None = None,
        cfg_options: dict | None = None,
        test_labels: str | None = None,
        prototypes: str | None = None,
        tta: bool = False,
    ) -> dict:
        cfg, options, transform_args = self.model_options(
            ctx, cfg_options, thresholds, cams
        )
        if test_labels is not None:
            dataset = cfg.test_dataloader.dataset
            if dataset.get('type') != 'PseudoLabelDataset':
                raise ValueError(
                    f'stage {self.name!r}: test_labels needs a test dataset of '
                    f"type PseudoLabelDataset in {config}, not {dataset.get('type')!r}"
                )
            options['test_dataloader.dataset.pseudo_dir'] = test_labels
        if prototypes is not None:
            options['model.prototypes'] = prototypes
        result = run_test_stage(
            self.cfg,
            checkpoint,
            ctx.stage_dir(self.name),
            ctx.data_root,
            cfg_options=options,
            manifest=None,
            transform_args=transform_args,
            launcher=ctx.launcher,
            tta=tta,
            record=dict(kind='stage', stage=self.digest),
        )
        result = self.model_result(ctx, cfg, result, options, thresholds)
        result['tta'] = tta
        return result
