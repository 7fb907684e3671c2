from .hfpl import FeatureSimilarityLoss, ImportanceSamplingLoss
from .multilabel_soft_margin import MultiLabelSoftMarginLoss

__all__ = [
    'FeatureSimilarityLoss',
    'ImportanceSamplingLoss',
    'MultiLabelSoftMarginLoss',
]
