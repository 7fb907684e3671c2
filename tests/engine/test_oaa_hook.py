"""OAAHook keeps its accumulation in checkpoints (a resumed training goes on)."""

import numpy as np

import mmwsss  # noqa: F401
from mmwsss.engine.hooks import OAAHook


def test_accumulation_survives_a_checkpoint():
    hook = OAAHook()
    hook.accumulator.update('a', 3, np.full((2, 2), 0.5, np.float32))
    hook.accumulator.mark_seen('b')
    checkpoint = {}
    hook.before_save_checkpoint(None, checkpoint)
    resumed = OAAHook()
    resumed.after_load_checkpoint(None, checkpoint)
    assert resumed.accumulator.seen('a') and resumed.accumulator.seen('b')
    resumed.accumulator.update('a', 3, np.full((2, 2), 0.75, np.float32))
    np.testing.assert_array_equal(resumed.accumulator.maps['a'][3], 0.75)
    # a checkpoint of a run without the hook leaves it empty
    fresh = OAAHook()
    fresh.after_load_checkpoint(None, {})
    assert not fresh.accumulator.maps
