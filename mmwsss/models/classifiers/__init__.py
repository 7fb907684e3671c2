from .cam_classifier import CAMClassifier, labels_to_multihot
from .seam_classifier import SEAMClassifier

__all__ = ['CAMClassifier', 'SEAMClassifier', 'labels_to_multihot']
