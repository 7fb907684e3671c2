# The benchmark pipeline: the demo pipeline on the bench-size FashionPaste set
# (2000 train / 500 val images); about an hour on 2 CPU cores.
_base_ = ['./cam-irn-deeplabv2_effl0_fashionpaste-demo.py']
data_root = 'data/fashionpaste_bench'
work_dir = 'work_dirs/pipeline_bench'
# stage_options: per-stage overrides of the inherited stage list
stage_options = dict(data=dict(size='bench'))
