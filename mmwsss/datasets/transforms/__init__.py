from .formatting import PackWSSSInputs
from .loading import (
    LoadAnnotationsChecked,
    LoadCAMs,
    LoadImageFromFileChecked,
    LoadImageLevelLabels,
    LoadOptionalAnnotations,
)

__all__ = [
    'LoadAnnotationsChecked',
    'LoadCAMs',
    'LoadImageFromFileChecked',
    'LoadImageLevelLabels',
    'LoadOptionalAnnotations',
    'PackWSSSInputs',
]
