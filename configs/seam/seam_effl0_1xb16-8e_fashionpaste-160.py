# SEAM (Wang et al., CVPR 2020) on the embedded FashionPaste benchmark: the bench
# CAM classifier (EfficientNet-Lite0, 8 epochs, same schedule) trained on two
# views (the crop and a 0.3x copy) with ER and ECR, and a pixel correlation
# module on the stride-8 and stride-16 stages; its seeds are the PCM-revised CAMs
# (multi-scale + flip), in the CAM seed format.
#   python tools/train.py configs/seam/seam_effl0_1xb16-8e_fashionpaste-160.py
_base_ = ['../cam/cam_effl0_1xb16-8e_fashionpaste-160.py']
model = dict(
    type='SEAMClassifier',
    # the stride-8 (40 ch) and stride-16 (112 ch) stages for PCM, the head's last
    backbone=dict(out_indices=(2, 3, 4)),
    pcm_in_indices=(0, 1),
    pcm_in_channels=(40, 112),
    pcm_channels=(64, 128),
    pcm_out_channels=192,
    scale=0.3,
    ecr_fraction=0.2,
)
