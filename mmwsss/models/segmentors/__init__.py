from .affinitynet import AffinityNet
from .irnet import IRNet

__all__ = ['AffinityNet', 'IRNet']
