# Runtime shared by mmwsss configs: mmseg's default runtime, plus the plugin import,
# mmwsss's scope and the class-count check that every image-label model needs.
_base_ = ['mmseg::_base_/default_runtime.py']

custom_imports = dict(imports=['mmwsss'], allow_failed_imports=False)
# mmwsss's registries are children of mmseg's: under this scope the configs name
# mmwsss's components (CAMClassifier, ExportTestLoop, ...) and mmseg's alike
default_scope = 'mmwsss'
# mmseg's base marks its dicts with its own scope (`_scope_='mmseg'`): a config that
# swaps in mmwsss's TTA model (CRFSegTTAModel) needs the dict without that mark
tta_model = dict(_delete_=True, type='SegTTAModel')
env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    dist_cfg=dict(backend='nccl'),
)
custom_hooks = [dict(type='WSSSClassNumCheckHook')]
log_processor = dict(by_epoch=True)
