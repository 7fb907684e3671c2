"""Per-image map files (CAMs, OAA's maps, walk scores): the one writer and
the one reader of their format.

A map file is ``{folder}/{image id}.npz`` (plain arrays, no pickle) holding
``keys`` ((K,) int16 class indices) and one or more ``(K, H, W)`` map arrays
named by the writer (the CAM seed format: ``cam`` at stride 4 and
``high_res`` at the image size; score maps: ``scores``).

Format version 1 (``format_version``, an int16 scalar in the file), zip
deflate compressed (``np.savez_compressed``). Each map array is stored either

- quantised to 8 bits (``dtype='uint8'``, the CAM exports' default): codes
  ``q = round((m - low) / (high - low) * 255)`` with ``NAME_range``, ``(K, 2)``
  float32 ``[low, high]`` of each map (``low = min(0, minimum)``, ``high`` its
  maximum), stored as ``NAME``, uint8, each row as differences of
  neighbouring codes modulo 256 (PNG's 'Sub' filter: smooth maps become runs
  of small numbers, which deflate to about half the bytes of the codes);
  a map reads back as ``low + q / 255 * (high - low)``: 0 and the maximum
  exactly (a max-normalised CAM keeps its 0 and its 1), any other value within
  ``(high - low) / 510``; or
- as it is, in float16 or float32 (``NAME`` alone).

Version 0 (no ``format_version``): the files written before version 1,
uncompressed float32 (CAMs) or float16 (scores); read as they are. A file of
a newer version than :data:`FORMAT_VERSION` fails by name.
"""

from __future__ import annotations

import os

import numpy as np

#: The version this code writes, and the newest it reads.
FORMAT_VERSION = 1
#: Storage dtypes of :func:`save_map_file`.
MAP_DTYPES = ('uint8', 'float16', 'float32')

_TMP_SUFFIX = '.part'
_RANGE = '_range'
_RESERVED = ('keys', 'format_version')


def quantize_maps(maps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """8-bit codes of ``maps`` (``(K, H, W)``), one range per map.

    Returns:
        tuple[np.ndarray, np.ndarray]: ``(K, H, W)`` uint8 codes and the
        ``(K, 2)`` float32 ``[low, high]`` of each map (see the module note).

    Raises:
        ValueError: If a value is not finite.
    """
    maps = np.asarray(maps, dtype=np.float32)
    if maps.ndim != 3:
        raise ValueError(f'maps must be (K, H, W), got shape {maps.shape}')
    if not np.isfinite(maps).all():
        raise ValueError('maps hold a value that is not finite (nan or inf)')
    ranges = np.zeros((maps.shape[0], 2), np.float32)
    if maps.size:
        flat = maps.reshape(maps.shape[0], -1)
        ranges[:, 0] = np.minimum(flat.min(axis=1), 0)
        ranges[:, 1] = flat.max(axis=1)
    low = ranges[:, :1, None]
    span = ranges[:, 1:, None] - low
    scale = np.divide(255, span, out=np.zeros_like(span), where=span > 0)
    codes = np.rint((maps - low) * scale).clip(0, 255).astype(np.uint8)
    return codes, ranges


def dequantize_maps(codes: np.ndarray, ranges: np.ndarray) -> np.ndarray:
    """The float32 maps of :func:`quantize_maps`' ``codes`` and ``ranges``."""
    ranges = np.asarray(ranges, dtype=np.float32)
    low = ranges[:, :1, None]
    span = ranges[:, 1:, None] - low
    return low + codes.astype(np.float32) / np.float32(255) * span


def _sub_filter(codes: np.ndarray) -> np.ndarray:
    """Each code minus its left neighbour, modulo 256 (the first as is)."""
    diff = codes.copy()
    diff[..., 1:] -= codes[..., :-1]  # uint8 arithmetic wraps modulo 256
    return diff


def _unfilter(diff: np.ndarray) -> np.ndarray:
    return np.cumsum(diff, axis=-1, dtype=np.uint8)


def encode_maps(name: str, maps: np.ndarray, dtype: str) -> dict[str, np.ndarray]:
    """The arrays that store ``maps`` under ``name`` in ``dtype``."""
    if dtype not in MAP_DTYPES:
        raise ValueError(f'map dtype must be one of {MAP_DTYPES}, got {dtype!r}')
    if name in _RESERVED or name.endswith(_RANGE):
        raise ValueError(f'{name!r} cannot name maps in a map file')
    if dtype == 'uint8':
        codes, ranges = quantize_maps(maps)
        return {name: _sub_filter(codes), name + _RANGE: ranges}
    return {name: np.asarray(maps).astype(dtype)}


def stored_maps(maps: np.ndarray, dtype: str) -> np.ndarray:
    """``maps`` as a file of storage ``dtype`` reads them back (float32)."""
    return _decode(encode_maps('maps', maps, dtype), 'maps')


def _decode(arrays, name: str) -> np.ndarray:
    """The float32 maps ``name`` of a file's (or :func:`encode_maps`')
    arrays."""
    if name + _RANGE in arrays:
        codes = _unfilter(arrays[name])
        return dequantize_maps(codes, arrays[name + _RANGE])
    return arrays[name].astype(np.float32)


def save_map_file(
    path: str, keys: np.ndarray, dtype: str = 'uint8', **maps: np.ndarray
) -> None:
    """Write one image's maps in format :data:`FORMAT_VERSION`, atomically
    (temporary name, then ``os.replace``).

    Args:
        path (str): The ``.npz`` file.
        keys (np.ndarray): ``(K,)`` class index of each map.
        dtype (str): Storage of the maps: 'uint8' (quantised per map),
            'float16' or 'float32'. Default: 'uint8'.
        **maps (np.ndarray): ``(K, H, W)`` maps by name (e.g. ``cam``,
            ``high_res``).
    """
    keys = np.asarray(keys)
    arrays = dict(format_version=np.int16(FORMAT_VERSION), keys=keys.astype(np.int16))
    for name, value in maps.items():
        if np.ndim(value) != 3 or np.shape(value)[0] != len(keys):
            raise ValueError(
                f'{path}: {name} maps of shape {np.shape(value)} for {len(keys)} '
                'keys; expected (K, H, W)'
            )
        arrays.update(encode_maps(name, value, dtype))
    tmp = path + _TMP_SUFFIX
    with open(tmp, 'wb') as f:
        np.savez_compressed(f, **arrays)
    os.replace(tmp, path)


def map_file_version(data, path: str = 'a map file') -> int:
    """The format version of an opened map file (``np.load``'s ``NpzFile``).

    Raises:
        ValueError: If the version is newer than this code reads.
    """
    if 'format_version' not in data.files:
        return 0
    version = int(data['format_version'])
    if version > FORMAT_VERSION:
        raise ValueError(
            f'{path}: map file format version {version}; this mmwsss reads '
            f'versions 0 to {FORMAT_VERSION}: update mmwsss, or export the folder '
            'again with this version'
        )
    return version


def load_map_file(path: str, names=None) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Read one image's maps (any format version) as float32.

    Args:
        path (str): The ``.npz`` file.
        names (Sequence[str], optional): The map arrays to read (only those
            are decompressed). Default: None (all the file holds).

    Returns:
        tuple[np.ndarray, dict[str, np.ndarray]]: ``(K,)`` int64 keys and the
        ``(K, H, W)`` float32 maps by name.

    Raises:
        KeyError: If the file lacks a map array of ``names``.
        ValueError: If the file's format is newer than this code reads.
    """
    with np.load(path) as data:
        map_file_version(data, path)
        held = [n for n in data.files if n not in _RESERVED and not n.endswith(_RANGE)]
        missing = [n for n in (names or ()) if n not in held]
        if missing:
            raise KeyError(f'{path} has no {missing[0]} maps (it holds {held})')
        maps = {}
        for name in held if names is None else names:
            maps[name] = _decode(data, name)
        keys = data['keys'].astype(np.int64)
    return keys, maps
