# SEAM + HFPL on the embedded FashionPaste benchmark: the SEAM config with HFPL's
# two losses added to the CAM head, nothing else (see
# configs/cam/cam_effl0_hfpl_1xb16-8e_fashionpaste-160.py).
#   python tools/train.py configs/seam/seam_effl0_hfpl_1xb16-8e_fashionpaste-160.py
_base_ = ['./seam_effl0_1xb16-8e_fashionpaste-160.py']
model = dict(
    head=dict(
        extra_losses=[
            dict(type='ImportanceSamplingLoss', mix=0.2, num_samples=10),
            dict(type='FeatureSimilarityLoss', mu=2.5, sigma=5.0),
        ]
    )
)
