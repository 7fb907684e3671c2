from .cam_classifier import CAMClassifier, labels_to_multihot
from .oaa_iam import IntegralAttentionModel
from .prm_classifier import PRMClassifier
from .seam_classifier import SEAMClassifier

__all__ = [
    'CAMClassifier',
    'IntegralAttentionModel',
    'PRMClassifier',
    'SEAMClassifier',
    'labels_to_multihot',
]
