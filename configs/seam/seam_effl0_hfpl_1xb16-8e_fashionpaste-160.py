# SEAM + HFPL on the embedded FashionPaste benchmark: the SEAM config with HFPL's
# two losses added to the CAM head at HFPL's published setting (Jonnarth, Zhang
# & Felsberg, WACV 2024: SEAM on VOC, feature similarity weight 1, mu 2.5, sigma
# 5 cells of its stride-8 map = 40 input pixels; importance sampling 0.2 of view
# 1's classification loss, 10 samples), nothing else (see
# configs/cam/cam_effl0_hfpl_1xb16-8e_fashionpaste-160.py and
# docs/reproduction/seam_hfpl.md).
#   python tools/train.py configs/seam/seam_effl0_hfpl_1xb16-8e_fashionpaste-160.py
_base_ = [
    './seam_effl0_1xb16-8e_fashionpaste-160.py',
    '../_base_/models/hfpl_losses.py',
]
model = dict(head=dict(extra_losses=_base_.hfpl_losses))
