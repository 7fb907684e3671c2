from .hfpl import FeatureSimilarityLoss, ImportanceSamplingLoss
from .multilabel_soft_margin import MultiLabelSoftMarginLoss
from .oaa_iam_loss import IntegralAttentionLoss

__all__ = [
    'FeatureSimilarityLoss',
    'ImportanceSamplingLoss',
    'IntegralAttentionLoss',
    'MultiLabelSoftMarginLoss',
]
