from .affinity_head import AffinityHead
from .aspp_v2_head import ASPPV2Head
from .cam_head import CAMHead
from .irn_heads import IRNBoundaryHead, IRNDisplacementHead, MeanShift
from .label_conditioned_head import LabelConditionedASPPHead
from .oaa_iam_head import IntegralAttentionHead
from .prm_head import PRMHead

__all__ = [
    'ASPPV2Head',
    'AffinityHead',
    'CAMHead',
    'IRNBoundaryHead',
    'IRNDisplacementHead',
    'IntegralAttentionHead',
    'LabelConditionedASPPHead',
    'MeanShift',
    'PRMHead',
]
