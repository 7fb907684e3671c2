from .affinitynet import AffinityNet
from .crf_tta import CRFSegTTAModel
from .irnet import IRNet

__all__ = ['AffinityNet', 'CRFSegTTAModel', 'IRNet']
