# PRM classifier (peak stimulation) on the embedded FashionPaste benchmark: the
# bench CAM classifier (EfficientNet-Lite0, 8 epochs) with PRMHead: the image
# score of a class is the mean of its response map at its 3x3 peaks above the
# median, not the mean over the map. Its response maps are exported as the CAM
# classifier's are (multi-scale + flip, {work_dir}/cams), for WISE's peaks.
#   python tools/train.py configs/prm/prm_effl0_1xb16-8e_fashionpaste-160.py
_base_ = ['../cam/cam_effl0_1xb16-8e_fashionpaste-160.py']
model = dict(head=dict(type='PRMHead', window=3, upsample=1))
