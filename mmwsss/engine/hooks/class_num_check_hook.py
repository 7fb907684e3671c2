"""Fail early when the dataset and the model disagree on the number of classes."""

from __future__ import annotations

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.registry import HOOKS


@HOOKS.register_module()
class WSSSClassNumCheckHook(Hook):
    """Check ``len(dataset classes) - 1 == model.num_classes`` before each loop.

    Image-level label models have one output per foreground class; the dataset's
    ``classes`` include background. A mismatch would silently train or score the
    wrong classes, so it raises with both numbers.
    """

    priority = 'VERY_HIGH'

    def _check(self, runner, mode: str) -> None:
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        num_model = getattr(model, 'num_classes', None)
        loop = getattr(runner, f'{mode}_loop')
        dataset = loop.dataloader.dataset
        classes = getattr(dataset, 'metainfo', {}).get('classes')
        if num_model is None or classes is None:
            return
        if len(classes) - 1 != num_model:
            raise ValueError(
                f'the {mode} dataset {type(dataset).__name__} has {len(classes) - 1} '
                f'foreground classes ({len(classes)} with background) but the model '
                f"has num_classes={num_model}; set the head's num_classes to "
                f'{len(classes) - 1} or fix the dataset metainfo'
            )

    def before_train(self, runner) -> None:
        self._check(runner, 'train')

    def before_val(self, runner) -> None:
        self._check(runner, 'val')

    def before_test(self, runner) -> None:
        self._check(runner, 'test')
