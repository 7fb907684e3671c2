from .formatting import PackWSSSInputs
from .loading import (
    LoadAnnotationsChecked,
    LoadCAMs,
    LoadImageFromFileChecked,
    LoadImageLevelLabels,
    LoadOptionalAnnotations,
)
from .photometric import ColorJitter
from .resize import RandomRescale

__all__ = [
    'ColorJitter',
    'LoadAnnotationsChecked',
    'LoadCAMs',
    'LoadImageFromFileChecked',
    'LoadImageLevelLabels',
    'LoadOptionalAnnotations',
    'PackWSSSInputs',
    'RandomRescale',
]
