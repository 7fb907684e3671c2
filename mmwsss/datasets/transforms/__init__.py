from .formatting import PackWSSSInputs
from .loading import (
    LoadImageFromFileChecked,
    LoadImageLevelLabels,
    LoadOptionalAnnotations,
)

__all__ = [
    'LoadImageFromFileChecked',
    'LoadImageLevelLabels',
    'LoadOptionalAnnotations',
    'PackWSSSInputs',
]
