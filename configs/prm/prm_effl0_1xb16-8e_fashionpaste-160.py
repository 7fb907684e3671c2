# PRM classifier (peak stimulation) on the embedded FashionPaste benchmark: the
# bench CAM classifier's model and data (EfficientNet-Lite0, 8 epochs) with
# PRMHead, trained at PRM's own rates (its reference code's `finetune` groups:
# SGD momentum 0.9, weight decay 1e-4, lr 0.01 for the classifier, 0.01 x 0.01
# = 1e-4 for the backbone, constant). At the CAM recipe's rates (backbone 0.01,
# classifier 0.1, poly) the peak-stimulated loss diverged within 20 iterations
# on the 320 px set (0.97 -> 161 -> 198 after 40; with the classifier at 0.01
# too: 0.97 -> 36 after 23): each peak takes the score's whole gradient, where
# GAP spreads it over the map. At PRM's rates it fell to 0.39 after 40.
# With PRMHead: the image
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
# the classifier (head.*) at lr 0.01, the backbone at 0.01 of it; mmengine
# matches the longest key first, so EfficientNet-Lite's 'backbone.head' names
# stay with the backbone
optim_wrapper = dict(
    optimizer=dict(lr=0.01, momentum=0.9, weight_decay=1e-4),
    paramwise_cfg=dict(
        custom_keys={'backbone': dict(lr_mult=0.01), 'head': dict(lr_mult=1.0)}
    ),
)
param_scheduler = []  # constant lr, as PRM's trainer (no scheduler)
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
