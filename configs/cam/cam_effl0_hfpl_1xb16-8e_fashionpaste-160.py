# HFPL (Jonnarth, Zhang & Felsberg, WACV 2024) on the bench CAM classifier: the
# same config with HFPL's two losses added to the CAM head, nothing else: the
# importance-sampling loss (10 pixels per image and class drawn by their sigmoid;
# 0.2 of the classification loss, the GAP loss keeps 0.8) and the feature
# similarity loss (mu 2.5, sigma 5 map pixels, pairs within 3 sigma).
#   python tools/train.py configs/cam/cam_effl0_hfpl_1xb16-8e_fashionpaste-160.py
_base_ = ['./cam_effl0_1xb16-8e_fashionpaste-160.py']
model = dict(
    head=dict(
        extra_losses=[
            dict(type='ImportanceSamplingLoss', mix=0.2, num_samples=10),
            dict(type='FeatureSimilarityLoss', mu=2.5, sigma=5.0),
        ]
    )
)
