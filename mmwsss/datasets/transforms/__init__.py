from .formatting import PackWSSSInputs
from .geometry import RandomCropRecorded
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
    'RandomCropRecorded',
]
