"""PrototypeLoop: each feature cell is sampled by the label covering most of
it (not its top-left pixel), on the padded input's grid."""

from types import SimpleNamespace

import pytest
import torch
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample
from torch import nn

from mmwsss.engine import PrototypeLoop, load_prototypes


class _GridModel(nn.Module):
    """Whatever the image, the features of its batch index: ``(N, 3, 2, 2)``."""

    def __init__(self, features):
        super().__init__()
        self.features = features
        self.decode_head = SimpleNamespace(in_index=0, num_classes=3)

    def data_preprocessor(self, data, training):
        return data

    def extract_feat(self, inputs):
        return [self.features[: len(inputs)]]


class _Images(list):
    metainfo = dict(classes=('background', 'a', 'b'))


def _loop(tmp_path, mask, input_size=(4, 4), **kwargs):
    """One image, 4x4 input, 2x2 grid: cell (0, 0) holds e0, cell (0, 1) e1,
    the bottom cells e2."""
    eye = torch.eye(3)
    features = torch.stack([eye[2]] * 4, dim=1).reshape(3, 2, 2)
    features[:, 0, 0], features[:, 0, 1] = eye[0], eye[1]
    sample = SegDataSample()
    sample.gt_sem_seg = PixelData(data=torch.as_tensor(mask)[None])
    sample.gt_img_labels = torch.tensor([1])
    batch = dict(inputs=torch.zeros(1, 3, *input_size), data_samples=[sample])
    runner = SimpleNamespace(
        work_dir=str(tmp_path),
        model=_GridModel(features[None]),
        call_hook=lambda *args, **kw: None,
    )
    loader = _Loader([batch], _Images([0]))
    return PrototypeLoop(runner, loader, num_prototypes=2, **kwargs)


class _Loader(list):
    def __init__(self, batches, dataset):
        super().__init__(batches)
        self.dataset = dataset


# class 1 covers 3 of the 4 pixels of cell (0, 0), whose top-left pixel is
# background, and only the top-left pixel of cell (0, 1)
MASK = [
    [0, 1, 1, 0],
    [1, 1, 0, 0],
    [0, 0, 0, 0],
    [0, 0, 0, 0],
]


def test_cells_take_their_majority(tmp_path):
    loop = _loop(tmp_path, MASK)
    stats = loop._compute()
    protos = load_prototypes(str(tmp_path / 'prototypes'))
    assert protos['fg_pixels'].tolist() == [0, 1, 0]
    assert protos['bg_pixels'].tolist() == [0, 3, 0]
    torch.testing.assert_close(protos['fg'][1, 0], torch.eye(3)[0])
    assert protos['fg_counts'][1] == 1 and protos['fg_sizes'][1].tolist() == [1, 0]
    # background: e1 once, e2 twice
    assert sorted(protos['bg_sizes'][1].tolist()) == [1, 2]
    assert stats['cells_left_out'] == 0


def test_the_top_left_rule_is_kept_for_comparison(tmp_path):
    _loop(tmp_path, MASK, grid_labels='nearest')._compute()
    protos = load_prototypes(str(tmp_path / 'prototypes'))
    # cell (0, 1)'s top-left pixel: its feature e1 taken for class 1
    torch.testing.assert_close(protos['fg'][1, 0], torch.eye(3)[1])


def test_mask_padded_like_the_input_and_mixed_cells_left_out(tmp_path):
    """A 3x4 image padded to the 4x4 input: the bottom cells hold one labelled
    row of two, no majority; cell (0, 1) is half class 1: left out too."""
    mask = [[0, 1, 1, 0], [1, 1, 1, 0], [1, 1, 0, 0]]
    stats = _loop(tmp_path, mask)._compute()
    protos = load_prototypes(str(tmp_path / 'prototypes'))
    assert protos['fg_pixels'].tolist() == [0, 1, 0]
    assert protos['bg_pixels'].tolist() == [0, 0, 0]
    assert stats['cells_left_out'] == 0.75
    with pytest.raises(ValueError, match='larger than its input'):
        _loop(tmp_path, [[0] * 4] * 5)._compute()


def test_bad_grid_rule_is_named(tmp_path):
    with pytest.raises(ValueError, match='grid_labels'):
        _loop(tmp_path, MASK, grid_labels='corner')
