from .formatting import PackWSSSInputs
from .geometry import RandomCropRecorded
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
    'RandomCropRecorded',
    'RandomRescale',
]
