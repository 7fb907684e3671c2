from .class_num_check_hook import WSSSClassNumCheckHook
from .oaa_hook import OAAHook
from .safe_checkpoint_hook import SafeCheckpointLoaderHook
from .val_curve_hook import ValCurveHook

__all__ = [
    'OAAHook',
    'SafeCheckpointLoaderHook',
    'ValCurveHook',
    'WSSSClassNumCheckHook',
]
