"""Pure tensor / numpy algorithms of mmwsss (no registry, no file IO)."""

from .cam import cams_to_labels, max_normalize, multiscale_cam, strided_size

__all__ = ['cams_to_labels', 'max_normalize', 'multiscale_cam', 'strided_size']
