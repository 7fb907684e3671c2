# The paper setting on PASCAL VOC 2012 with the published thresholds, for
# reproducing IRN's numbers (Ahn, Cho & Kwak, CVPR 2019): the stages of
# cam-irn-deeplabv2_r101_voc12aug.py, with the IR labels cut at IRN's
# conf_fg_thres 0.30 / conf_bg_thres 0.05 (then the dense CRF) and IRN's walked
# scores at its sem_seg_bg_thres 0.25, where that pipeline uses the Thresholds
# stage's ground-truth-free values. The published values were chosen on VOC's
# ground truth: use this pipeline to compare with the papers, the
# ground-truth-free one for a dataset of your own. The Thresholds stage still
# runs, so the two sets of values can be read side by side in its manifest.
#   python tools/run_pipeline.py configs/pipelines/cam-irn-deeplabv2_r101_voc12aug_published.py
_base_ = ['./cam-irn-deeplabv2_r101_voc12aug.py']
work_dir = 'work_dirs/pipeline_voc12aug_published'
#: IRN's published settings (its make_ir_label / make_sem_seg_labels steps)
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
