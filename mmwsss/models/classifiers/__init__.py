from .cam_classifier import CAMClassifier, labels_to_multihot

__all__ = ['CAMClassifier', 'labels_to_multihot']
