# SEAM + HFPL (Jonnarth, Zhang & Felsberg, WACV 2024) on PASCAL VOC 2012
# train_aug: HFPL's published setting, the SEAM VOC recipe with HFPL's two
# losses added to the CAM head (its reference code arvijj/hfpl,
# train_cam_voc.py): importance sampling (10 pixels per image and class, 0.2 of
# the first view's classification loss) and the feature similarity loss at
# weight 1 (mu 2.5, sigma 5 cells of the stride-8 map) on SEAM's max_norm-ed,
# label-masked CAMs plus background. Settings: docs/reproduction/seam_hfpl.md.
#   python tools/train.py configs/seam/seam_r50_hfpl_1xb8-8e_voc12aug-448.py
_base_ = ['./seam_r50_1xb8-8e_voc12aug-448.py', '../_base_/models/hfpl_losses.py']
model = dict(head=dict(extra_losses=_base_.hfpl_losses))
