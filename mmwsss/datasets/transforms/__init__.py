from .formatting import PackWSSSInputs
from .loading import (
    LoadCAMs,
    LoadImageFromFileChecked,
    LoadImageLevelLabels,
    LoadOptionalAnnotations,
)

__all__ = [
    'LoadCAMs',
    'LoadImageFromFileChecked',
    'LoadImageLevelLabels',
    'LoadOptionalAnnotations',
    'PackWSSSInputs',
]
