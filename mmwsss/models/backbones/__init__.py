from .efficientnet_lite import EfficientNetLite
from .resnet_with_stem import ResNetWithStem

__all__ = ['EfficientNetLite', 'ResNetWithStem']
