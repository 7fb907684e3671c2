"""Fixtures shared by the engine tests."""

import copy
from typing import NamedTuple

import pytest


class TinyIRN(NamedTuple):
    """What the ``tiny_irn`` fixture returns (all paths absolute, read-only)."""

    #: The ``tiny_fashionpaste`` root it was trained on.
    data_root: str
    #: The train split's image ids.
    ids: list
    #: Fabricated IR labels it trained on (ground truth, 255 at the edges).
    ir_dir: str
    #: Fabricated CAMs (blurred ground-truth masks) of the train split.
    cam_dir: str
    #: The Runner's work dir (training only: nothing exported there).
    work_dir: str
    #: The trained weights, ``{work_dir}/epoch_1.pth`` (a Runner checkpoint).
    checkpoint: str


@pytest.fixture(scope='session')
def tiny_irn(tiny_fashionpaste, tmp_path_factory):
    """IRN trained once per session, one epoch on ``tiny_fashionpaste`` with the
    IR labels and CAMs that ``test_irn_stage._fabricate_stage_inputs`` makes
    from the ground truth (``test_irn_stage._cfg``'s settings); the IRN stage
    test exports with it and the torchrun test compares exports of it.

    Returns:
        TinyIRN: ``data_root``, ``ids``, ``ir_dir``, ``cam_dir``, ``work_dir``
        and ``checkpoint``.
    """
    from mmengine.registry import DefaultScope
    from mmengine.runner import Runner
    from test_irn_stage import _cfg, _fabricate_stage_inputs

    root = tmp_path_factory.mktemp('tiny_irn')
    ids, ir_dir, cam_dir = _fabricate_stage_inputs(
        tiny_fashionpaste, str(root / 'inputs')
    )
    work_dir = str(root / 'work')
    saved_scopes = copy.copy(DefaultScope._instance_dict)
    try:
        Runner.from_cfg(_cfg(tiny_fashionpaste, work_dir, ir_dir, cam_dir)).train()
    finally:
        DefaultScope._instance_dict = saved_scopes
    return TinyIRN(
        data_root=tiny_fashionpaste,
        ids=ids,
        ir_dir=ir_dir,
        cam_dir=cam_dir,
        work_dir=work_dir,
        checkpoint=f'{work_dir}/epoch_1.pth',
    )
