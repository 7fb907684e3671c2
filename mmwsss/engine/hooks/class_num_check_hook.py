"""Fail early when the dataset and the model disagree on the number of classes."""

from __future__ import annotations

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from ...registry import HOOKS


@HOOKS.register_module()
class WSSSClassNumCheckHook(Hook):
    """Check that the dataset and the model count the same classes, before each loop.

    Image-level label models have one output per foreground class
    (``num_classes == len(classes) - 1``: the dataset's ``classes`` include
    background); mmseg's pixel segmentors (models with a ``decode_head``) have
    one per class, background included (``num_classes == len(classes)``). A
    mismatch would silently train or score the wrong classes, so it raises with
    both numbers.
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
        with_bg = hasattr(model, 'decode_head')
        expected = len(classes) if with_bg else len(classes) - 1
        if num_model != expected:
            what = 'classes' if with_bg else 'foreground classes'
            raise ValueError(
                f'the {mode} dataset {type(dataset).__name__} has {len(classes) - 1} '
                f'foreground classes ({len(classes)} with background) but the model '
                f"has num_classes={num_model}; set the head's num_classes to "
                f'{expected} ({what}) or fix the dataset metainfo'
            )

    def before_train(self, runner) -> None:
        self._check(runner, 'train')

    def before_val(self, runner) -> None:
        self._check(runner, 'val')

    def before_test(self, runner) -> None:
        self._check(runner, 'test')
