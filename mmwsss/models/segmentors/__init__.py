from .affinitynet import AffinityNet
from .crf_tta import CRFSegTTAModel
from .irnet import IRNet
from .prototype_reclassifier import PrototypeReclassifier

__all__ = ['AffinityNet', 'CRFSegTTAModel', 'IRNet', 'PrototypeReclassifier']
