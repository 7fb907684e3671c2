from .affinity_head import AffinityHead
from .cam_head import CAMHead
from .irn_heads import IRNBoundaryHead, IRNDisplacementHead, MeanShift

__all__ = [
    'AffinityHead',
    'CAMHead',
    'IRNBoundaryHead',
    'IRNDisplacementHead',
    'MeanShift',
]
