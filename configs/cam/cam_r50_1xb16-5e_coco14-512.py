# CAM seeds on COCO 2014 with IRN's recipe (Ahn, Cho & Kwak, CVPR 2019) as the
# COCO runs of IRN's code set it (ReCAM, Chen et al., "Class Re-Activation Maps
# for Weakly-Supervised Semantic Segmentation", CVPR 2022; its run_sample_coco
# and step_coco/train_cam): ResNet-50 (torchvision ImageNet weights), output
# stride 16, stem and stages 1-2 without gradient, 80 classes, train2014, long
# side 320-640, flip, crop 512, batch 16, 5 epochs, SGD lr 0.1 (classifier x10),
# weight decay 1e-4, momentum 1e-4 (IRN's optimizer quirk, see the schedule),
# poly 0.9; validation on val2014 (classification mAP).
# docs/reproduction/coco_recipe.md lists each setting against the reference's.
# Test: multi-scale (1.0, 0.5, 1.5, 2.0) + flip seeds exported for train2014 and
# scored at background 0.15 (the reference's cam_eval_thres) and over the
# 0.00-0.60 sweep.
#   python tools/train.py configs/cam/cam_r50_1xb16-5e_coco14-512.py
#   python tools/test.py configs/cam/cam_r50_1xb16-5e_coco14-512.py \
#       work_dirs/cam_r50_1xb16-5e_coco14-512/epoch_5.pth
_base_ = [
    '../_base_/models/cam_r50.py',
    '../_base_/datasets/coco14_cls.py',
    '../_base_/default_runtime.py',
    '../_base_/schedules/cam_sgd_poly.py',
]
model = dict(data_preprocessor=dict(size=(512, 512)), head=dict(num_classes=80))
# base_batch_size = (1 GPU) x (16 images per GPU): `tools/train.py --auto-scale-lr`
auto_scale_lr = dict(enable=False, base_batch_size=16)
