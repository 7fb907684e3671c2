# Runtime shared by mmwsss configs: mmseg's default runtime, plus the plugin import
# and the class-count check that every image-label model needs.
_base_ = ['mmseg::_base_/default_runtime.py']

custom_imports = dict(imports=['mmwsss'], allow_failed_imports=False)
env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    dist_cfg=dict(backend='nccl'),
)
custom_hooks = [dict(type='WSSSClassNumCheckHook')]
log_processor = dict(by_epoch=True)
