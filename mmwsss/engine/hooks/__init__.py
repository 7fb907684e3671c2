from .class_num_check_hook import WSSSClassNumCheckHook
from .safe_checkpoint_hook import SafeCheckpointLoaderHook
from .val_curve_hook import ValCurveHook

__all__ = ['SafeCheckpointLoaderHook', 'ValCurveHook', 'WSSSClassNumCheckHook']
