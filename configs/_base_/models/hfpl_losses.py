# HFPL's two losses (Jonnarth, Zhang & Felsberg, WACV 2024; reference code
# arvijj/hfpl, train_cam_voc.py), as a CAM / SEAM head's extra_losses:
# importance sampling (10 pixels per image and class, 0.2 of the first view's
# classification loss) and the feature similarity loss at the published weight
# 1 (mu 2.5, sigma 5 cells of a stride-8 map) on max_norm-ed, label-masked CAMs
# plus background. Settings: docs/reproduction/seam_hfpl.md.
hfpl_losses = [
    dict(type='ImportanceSamplingLoss', mix=0.2, num_samples=10),
    dict(
        type='FeatureSimilarityLoss',
        loss_weight=1.0,
        mu=2.5,
        sigma=5.0,
        sigma_stride=8,
    ),
]
