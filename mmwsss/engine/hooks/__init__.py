from .class_num_check_hook import WSSSClassNumCheckHook

__all__ = ['WSSSClassNumCheckHook']
