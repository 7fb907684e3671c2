from .cam_classifier import CAMClassifier, labels_to_multihot
from .oaa_iam import IntegralAttentionModel
from .seam_classifier import SEAMClassifier

__all__ = [
    'CAMClassifier',
    'IntegralAttentionModel',
    'SEAMClassifier',
    'labels_to_multihot',
]
