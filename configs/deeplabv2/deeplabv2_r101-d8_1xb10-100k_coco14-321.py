# DeepLabV2-ResNet101 on COCO 2014 pseudo masks (train2014), the final stage of
# the COCO IRN pipeline. DeepLab v2 (Chen et al., "DeepLab: Semantic Image
# Segmentation with Deep Convolutional Nets, Atrous Convolution, and Fully
# Connected CRFs", TPAMI 2018) as the WSSS papers on COCO train it: IRN-based
# COCO runs (ReCAM, Chen et al., CVPR 2022) train DeepLab-v2 with the PyTorch
# re-implementation deeplab-pytorch (Nakashima) from ImageNet weights, whose COCO
# setting (COCO-Stuff 164k) is: each image rescaled by 0.5-1.5, crop 321, flip,
# batch 10 (5 x 2 accumulated), 100k iterations, SGD lr 2.5e-4 (classifier
# weights x10, biases x20 without decay), momentum 0.9, weight decay 5e-4, poly
# 0.9; validation on the val2014 ground truth (81 classes). ImageNet
# initialisation (mmseg's ResNetV1c-101), single-scale input;
# docs/reproduction/coco_recipe.md lists each setting against the reference's.
#   python tools/train.py configs/deeplabv2/deeplabv2_r101-d8_1xb10-100k_coco14-321.py \
#       --cfg-options train_dataloader.dataset.pseudo_dir=PSEUDO_LABEL_DIR
#   python tools/test.py CONFIG work_dirs/.../iter_100000.pth --tta  # MS + flip + CRF
_base_ = [
    '../_base_/models/deeplabv2_r101.py',
    '../_base_/datasets/coco14_seg_pseudo.py',
    '../_base_/default_runtime.py',
    '../_base_/schedules/deeplabv2_sgd_poly_100k.py',
]
model = dict(data_preprocessor=dict(size=(321, 321)), decode_head=dict(num_classes=81))
log_processor = dict(by_epoch=False)
# multi-scale + flip logits averaged, then DeepLab's test-time dense CRF
tta_model = dict(type='CRFSegTTAModel', crf=dict(preset='deeplab_test'))
# base_batch_size = (1 GPU) x (10 images per GPU): `tools/train.py --auto-scale-lr`
auto_scale_lr = dict(enable=False, base_batch_size=10)
