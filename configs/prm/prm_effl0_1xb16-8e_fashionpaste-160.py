# PRM classifier (peak stimulation) on the embedded FashionPaste benchmark: the
# bench CAM classifier (EfficientNet-Lite0, 8 epochs) with PRMHead: the image
# score of a class is the mean of its response map at its peaks (3x3 local
# maxima, one per plateau, at or above the median), each peak taking the score's
# full gradient. The test exports the response maps as the CAM classifier's
# (multi-scale + flip, {work_dir}/cams: thresholds and labels read them) and
# PRM's cues (PRMClassifier: peaks on the response map's own grid, one peak
# response map each by peak backpropagation, {work_dir}/peak_responses) for
# WISE's proposal retrieval. Peaks under a tenth of their class map's maximum
# are not exported (one backward pass each), so a WISE min_score under 0.1 acts
# as 0.1.
#   python tools/train.py configs/prm/prm_effl0_1xb16-8e_fashionpaste-160.py
_base_ = ['../cam/cam_effl0_1xb16-8e_fashionpaste-160.py']
model = dict(
    type='PRMClassifier',
    head=dict(type='PRMHead', window=3, upsample=1),
    test_cfg=dict(peak_min_score=0.1, prm_stride=1),
)
test_cfg = dict(
    exporter=dict(
        _delete_=True,
        type='CompositeExporter',
        exporters=[
            dict(type='CAMExporter', out_dir='{work_dir}/cams'),
            dict(type='PeakResponseExporter', out_dir='{work_dir}/peak_responses'),
        ],
    )
)
