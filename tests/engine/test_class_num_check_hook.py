"""WSSSClassNumCheckHook: image-level models count foreground classes only,
pixel segmentors count background too."""

from types import SimpleNamespace

import pytest
import torch.nn as nn

from mmwsss.engine.hooks import WSSSClassNumCheckHook


class _ImageLevel(nn.Module):
    num_classes = 10


class _Segmentor(nn.Module):
    num_classes = 11

    def __init__(self):
        super().__init__()
        self.decode_head = nn.Identity()


def _runner(model, num_classes_with_bg):
    classes = tuple(f'c{i}' for i in range(num_classes_with_bg))
    dataset = SimpleNamespace(metainfo=dict(classes=classes))
    loop = SimpleNamespace(dataloader=SimpleNamespace(dataset=dataset))
    return SimpleNamespace(model=model, train_loop=loop, val_loop=loop, test_loop=loop)


def test_counts_by_model_kind():
    hook = WSSSClassNumCheckHook()
    hook.before_train(_runner(_ImageLevel(), 11))
    hook.before_val(_runner(_Segmentor(), 11))


def test_mismatch_names_both_numbers():
    hook = WSSSClassNumCheckHook()
    with pytest.raises(
        ValueError,
        match=r'9 foreground classes \(10 with background\).*'
        r'num_classes=10.*to 9 \(foreground classes\)',
    ):
        hook.before_train(_runner(_ImageLevel(), 10))
    segmentor = _Segmentor()
    segmentor.num_classes = 10  # a head that forgot the background class
    with pytest.raises(ValueError, match=r'num_classes=10.*to 11 \(classes\)'):
        hook.before_test(_runner(segmentor, 11))
