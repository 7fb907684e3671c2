from .class_num_check_hook import WSSSClassNumCheckHook
from .val_curve_hook import ValCurveHook

__all__ = ['ValCurveHook', 'WSSSClassNumCheckHook']
