"""A hook that slows the test loop down, so a test can kill an export midway.

Imported by the stage runner's kill test through ``custom_imports``.
"""

import time

from mmengine.hooks import Hook
from mmengine.registry import HOOKS


@HOOKS.register_module()
class SlowTestIterHook(Hook):
    def after_test_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        time.sleep(0.4)
