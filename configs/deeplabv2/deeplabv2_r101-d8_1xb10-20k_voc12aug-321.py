# DeepLabV2-ResNet101 on VOC 2012 train_aug pseudo masks, the final stage of IRN /
# PtReCl, with the VOC recipe of DeepLab v2 (Chen et al., "DeepLab: Semantic Image
# Segmentation with Deep Convolutional Nets, Atrous Convolution, and Fully
# Connected CRFs", TPAMI 2018): each image rescaled by 0.5-1.5 of its size, crop
# 321, flip, batch 10, 20k iterations, SGD lr 2.5e-4 (classifier weights x10,
# biases x20 without decay), momentum 0.9, weight decay 5e-4, poly 0.9; validation
# on VOC val ground truth. ImageNet initialisation (mmseg's ResNetV1c-101), single-
# scale input; docs/reproduction/voc_recipes.md lists each setting against
# DeepLab's, with the options left out (COCO pre-training, multi-scale inputs).
#   python tools/train.py configs/deeplabv2/deeplabv2_r101-d8_1xb10-20k_voc12aug-321.py \
#       --cfg-options train_dataloader.dataset.pseudo_dir=PSEUDO_LABEL_DIR
#   python tools/test.py CONFIG work_dirs/.../iter_20000.pth --tta   # MS + flip + CRF
# Published: IRN pseudo masks -> 63.5 val mIoU (DeepLabV2-R50), about 83% of the
# fully supervised DeepLabV2.
_base_ = [
    '../_base_/models/deeplabv2_r101.py',
    '../_base_/datasets/voc12aug_seg_pseudo.py',
    '../_base_/default_runtime.py',
    '../_base_/schedules/deeplabv2_sgd_poly_20k.py',
]
model = dict(data_preprocessor=dict(size=(321, 321)))
log_processor = dict(by_epoch=False)
# multi-scale + flip logits averaged, then DeepLab's test-time dense CRF
tta_model = dict(type='CRFSegTTAModel', crf=dict(preset='deeplab_test'))
# base_batch_size = (1 GPU) x (10 images per GPU): `tools/train.py --auto-scale-lr`
auto_scale_lr = dict(enable=False, base_batch_size=10)
