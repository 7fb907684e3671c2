# DeepLabV2-ResNet101 on VOC 2012 train_aug pseudo masks, the final stage of IRN /
# PtReCl with DeepLabV2's published recipe (ALGORITHMS.md): crop 321, scales
# 0.5-1.5, flip, batch 10, 20k iterations, SGD lr 2.5e-4 (head x10), momentum 0.9,
# wd 5e-4, poly 0.9; validation on VOC val ground truth.
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
