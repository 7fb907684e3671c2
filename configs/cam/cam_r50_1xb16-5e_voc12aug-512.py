# CAM seeds with IRN's published recipe (ALGORITHMS.md): ResNet-50 (torchvision
# ImageNet weights), output stride 16, VOC 2012 train_aug, crop 512, long side
# 320-640, flip, batch 16, 5 epochs, SGD lr 0.1 (classifier x10), wd 1e-4, poly 0.9.
# Test: multi-scale (1.0, 0.5, 1.5, 2.0) + flip seeds exported for VOC train and
# scored at background 0.15 and over the 0.00-0.60 sweep (published: 48.3 mIoU).
_base_ = [
    '../_base_/models/cam_r50.py',
    '../_base_/datasets/voc12_cls.py',
    '../_base_/default_runtime.py',
    '../_base_/schedules/cam_sgd_poly.py',
]
model = dict(data_preprocessor=dict(size=(512, 512)), head=dict(num_classes=20))
