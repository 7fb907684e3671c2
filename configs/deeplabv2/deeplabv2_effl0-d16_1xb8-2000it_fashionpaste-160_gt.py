# The fully supervised upper bound of the benchmark: the 2000-iteration
# pseudo-mask DeepLabV2 config with every training image on its ground-truth mask
# (gt_fraction 1.0 of PseudoLabelDataset: no pseudo mask is read). Its
# convergence check is the run twice as long
# (deeplabv2_effl0-d16_1xb8-4000it_fashionpaste-160_gt.py).
_base_ = ['./deeplabv2_effl0-d16_1xb8-2000it_fashionpaste-160.py']
train_dataloader = dict(dataset=dict(gt_fraction=1.0))
