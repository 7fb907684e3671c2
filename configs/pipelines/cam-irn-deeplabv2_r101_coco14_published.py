# IRN's pipeline on COCO 2014 with the published thresholds, for comparing with
# the papers: the stages of cam-irn-deeplabv2_r101_coco14.py, with the IR labels
# cut at conf_fg_thres 0.30 / conf_bg_thres 0.05 (then the dense CRF) and the
# walked scores at sem_seg_bg_thres 0.25, the values of the COCO runs of IRN's
# code (ReCAM, Chen et al., CVPR 2022, run_sample_coco of its code; IRN's own
# VOC values, which were chosen on VOC's ground truth), where that pipeline uses
# the Thresholds stage's ground-truth-free values. The Thresholds stage still
# runs, so the two sets of values can be read side by side in its manifest.
#   python tools/run_pipeline.py configs/pipelines/cam-irn-deeplabv2_r101_coco14_published.py
_base_ = ['./cam-irn-deeplabv2_r101_coco14.py']
work_dir = 'work_dirs/pipeline_coco14_published'
#: the reference's settings (its cam_to_ir_label / make_sem_seg_labels steps)
published_label_options = dict(
    ir_labels=dict(fg_thr=0.30, bg_thr=0.05),
    irn_labels=dict(bg_score=0.25),
)
stages = [
    dict(stage, label_options=published_label_options[stage['name']])
    if stage['name'] in published_label_options
    else stage
    for stage in _base_.stages
]
