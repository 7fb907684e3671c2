# HFPL (Jonnarth, Zhang & Felsberg, WACV 2024) on the bench CAM classifier: the
# same config with HFPL's two losses added to the CAM head, nothing else, at
# HFPL's published setting (its VOC runs on SEAM, reference code arvijj/hfpl):
# the importance-sampling loss (10 pixels per image and class drawn by their
# sigmoid; 0.2 of the classification loss, the GAP loss keeps 0.8) and the
# feature similarity loss at weight 1 (mu 2.5; sigma 5 cells of HFPL's stride-8
# map, i.e. 40 input pixels, 2.5 cells of this stride-16 map; pairs within 3
# sigma) on HFPL's maps: SEAM's max_norm (min-max after ReLU) of the CAMs times
# the image labels plus the background 1 - max, the Gaussian with its
# 1 / (2 pi sigma^2), the sum over the C + 1 channels divided by n h w.
# Settings against HFPL's paper and code: docs/reproduction/seam_hfpl.md.
#   python tools/train.py configs/cam/cam_effl0_hfpl_1xb16-8e_fashionpaste-160.py
_base_ = ['./cam_effl0_1xb16-8e_fashionpaste-160.py', '../_base_/models/hfpl_losses.py']
model = dict(head=dict(extra_losses=_base_.hfpl_losses))
