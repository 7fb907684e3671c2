# CAM seeds with the recipe of IRN (Ahn, Cho & Kwak, "Weakly Supervised Learning of
# Instance Segmentation with Inter-pixel Relations", CVPR 2019) and its reference
# code (jiwoon-ahn/irn): ResNet-50 (torchvision ImageNet weights), output stride
# 16, stem and stages 1-2 without gradient, VOC 2012 train_aug, long side 320-640,
# flip, crop 512, batch 16, 5 epochs, SGD lr 0.1 (classifier x10), weight decay
# 1e-4, momentum 1e-4 (IRN's optimizer quirk, see the schedule), poly 0.9.
# docs/reproduction/voc_recipes.md lists each setting against IRN's.
# Test: multi-scale (1.0, 0.5, 1.5, 2.0) + flip seeds exported for VOC train and
# scored at background 0.15 and over the 0.00-0.60 sweep (published: 48.3 mIoU).
_base_ = [
    '../_base_/models/cam_r50.py',
    '../_base_/datasets/voc12_cls.py',
    '../_base_/default_runtime.py',
    '../_base_/schedules/cam_sgd_poly.py',
]
model = dict(data_preprocessor=dict(size=(512, 512)), head=dict(num_classes=20))
# base_batch_size = (1 GPU) x (16 images per GPU): `tools/train.py --auto-scale-lr`
auto_scale_lr = dict(enable=False, base_batch_size=16)
