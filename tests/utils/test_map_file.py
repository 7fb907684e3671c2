"""Map files: 8-bit maps within half a level, 0 and the maximum exact, float
storage exact, the files of earlier versions read as they are, a newer
version refused by name."""

import numpy as np
import pytest

from mmwsss.utils.map_file import (
    FORMAT_VERSION,
    load_map_file,
    quantize_maps,
    save_map_file,
    stored_maps,
)


def _cams(rng, k=3, size=(24, 32)):
    """Max-normalised, ReLU'd maps: zeros, a peak of 1, smooth values."""
    y, x = np.mgrid[: size[0], : size[1]]
    maps = []
    for _ in range(k):
        cy, cx = rng.uniform(0, size[0]), rng.uniform(0, size[1])
        m = np.maximum(1 - ((y - cy) ** 2 + (x - cx) ** 2) / 150, 0)
        maps.append(m / m.max())
    return np.stack(maps).astype(np.float32)


def test_eight_bits_keep_zero_and_peak_and_the_rest_within_half_a_level(tmp_path):
    cams = _cams(np.random.default_rng(0))
    path = str(tmp_path / 'a.npz')
    save_map_file(path, [3, 7, 1], cam=cams[:, ::4, ::4], high_res=cams)
    keys, maps = load_map_file(path)
    assert keys.tolist() == [3, 7, 1] and keys.dtype == np.int64
    assert sorted(maps) == ['cam', 'high_res']
    high = maps['high_res']
    assert high.dtype == np.float32 and high.shape == cams.shape
    assert np.abs(high - cams).max() <= 1 / 510 + 1e-7
    assert (high[cams == 0] == 0).all()  # exact zeros (and under half a level)
    assert (high.reshape(3, -1).max(1) == 1).all()
    # a value read back is what the exporter hands the metric
    np.testing.assert_array_equal(high, stored_maps(cams, 'uint8'))
    with np.load(path) as data:
        assert int(data['format_version']) == FORMAT_VERSION
        assert data['high_res'].dtype == np.uint8
    # only the named maps are read; a missing one is named
    _, only = load_map_file(path, ('cam',))
    assert list(only) == ['cam']
    with pytest.raises(KeyError, match='no scores maps'):
        load_map_file(path, ('scores',))


def test_any_range_and_empty_maps():
    rng = np.random.default_rng(1)
    maps = rng.normal(size=(2, 5, 6)).astype(np.float32) * 3  # negative values
    maps[1] = 0.25  # a constant map
    codes, ranges = quantize_maps(maps)
    back = stored_maps(maps, 'uint8')
    span = ranges[:, 1] - ranges[:, 0]
    assert np.abs(back[0] - maps[0]).max() <= span[0] / 510 + 1e-6
    np.testing.assert_array_equal(back[1], 0.25)  # its maximum: exact
    assert codes.dtype == np.uint8
    assert stored_maps(np.zeros((0, 4, 4)), 'uint8').shape == (0, 4, 4)
    with pytest.raises(ValueError, match='not finite'):
        quantize_maps(np.full((1, 2, 2), np.nan))
    with pytest.raises(ValueError, match='dtype'):
        stored_maps(maps, 'int8')


@pytest.mark.parametrize('dtype', ['float16', 'float32'])
def test_float_storage_is_exact_in_its_dtype(tmp_path, dtype):
    scores = np.random.default_rng(2).random((2, 9, 7)).astype(np.float32)
    path = str(tmp_path / 's.npz')
    save_map_file(path, np.array([0, 4]), dtype, scores=scores)
    keys, maps = load_map_file(path, ('scores',))
    np.testing.assert_array_equal(maps['scores'], scores.astype(dtype))
    assert keys.tolist() == [0, 4]


def test_files_of_earlier_versions_read_as_they_are(tmp_path):
    # version 0: what the exporters wrote before (np.savez, float32 CAMs)
    cams = _cams(np.random.default_rng(3), k=2)
    path = str(tmp_path / 'old.npz')
    np.savez(
        path, keys=np.array([2, 5], np.int16), cam=cams[:, ::4, ::4], high_res=cams
    )
    keys, maps = load_map_file(path)
    assert keys.tolist() == [2, 5]
    np.testing.assert_array_equal(maps['high_res'], cams)
    np.testing.assert_array_equal(maps['cam'], cams[:, ::4, ::4])
    # a file of a later version is refused, naming the version and the fix
    newer = str(tmp_path / 'newer.npz')
    np.savez(newer, format_version=np.int16(FORMAT_VERSION + 1), keys=[1], cam=cams)
    with pytest.raises(ValueError, match=f'version {FORMAT_VERSION + 1}.*update'):
        load_map_file(newer)


def test_a_file_is_written_whole_and_checked(tmp_path):
    path = str(tmp_path / 'a.npz')
    with pytest.raises(ValueError, match='for 2 keys'):
        save_map_file(path, [1, 2], cam=np.zeros((3, 4, 4)))
    with pytest.raises(ValueError, match='cannot name'):
        save_map_file(path, [1], format_version=np.zeros((1, 4, 4)))
    save_map_file(path, [], cam=np.zeros((0, 4, 4)))
    keys, maps = load_map_file(path)
    assert keys.shape == (0,) and maps['cam'].shape == (0, 4, 4)
    assert not (tmp_path / 'a.npz.part').exists()
