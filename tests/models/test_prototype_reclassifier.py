"""PrototypeReclassifier: CAM-format votes in predict, the same rule as scores."""

import pytest
import torch
from mmengine.registry import DefaultScope
from mmseg.structures import SegDataSample

import mmwsss  # noqa: F401
from mmwsss.registry import MODELS


def _model(tmp_path, with_prototypes=True):
    torch.manual_seed(0)
    path = tmp_path / 'prototypes.pth'
    counts = torch.tensor([0, 3, 3, 3, 3, 3])
    torch.save(
        dict(
            fg=torch.randn(6, 3, 1280),
            bg=torch.randn(6, 3, 1280),
            fg_counts=counts,
            bg_counts=counts,
        ),
        path,
    )
    cfg = dict(
        type='PrototypeReclassifier',
        backbone=dict(type='EfficientNetLite', out_indices=(4,), pretrained=False),
        prototypes=str(path) if with_prototypes else '',
        top_m=3,
        in_index=0,
        data_preprocessor=dict(
            type='SegDataPreProcessor', mean=[127] * 3, std=[128] * 3
        ),
    )
    with DefaultScope.overwrite_default_scope('mmwsss'):
        model = MODELS.build(cfg)
    model.init_weights()
    return model.eval()


def _sample(labels):
    sample = SegDataSample(
        metainfo=dict(img_shape=(64, 64), ori_shape=(64, 64), img_labels=tuple(labels))
    )
    sample.gt_img_labels = torch.tensor(labels)
    return sample


def test_scores_argmax_is_the_predicted_labels(tmp_path):
    model = _model(tmp_path)
    inputs = torch.randn(2, 3, 64, 64)
    samples = [_sample([2, 4]), _sample([])]
    with torch.no_grad():
        scores = model.encode_decode(inputs, [s.metainfo for s in samples])
        out = model.predict(inputs, samples)
    assert scores.shape == (2, 6, 64, 64)
    # only background and the labelled classes can win
    assert scores[0, [1, 3, 5]].abs().max() == 0
    assert (scores[:, 0] == 0.5).all()
    assert out[0].cam_keys.tolist() == [2, 4]
    assert out[0].cams.data.shape == (2, 64, 64)
    assert out[0].cams_strided.data.shape == (2, 16, 16)
    votes = scores[0, [2, 4]]
    torch.testing.assert_close(votes, out[0].cams.data)
    label = out[0].pred_sem_seg.data[0]
    best = scores[0].argmax(dim=0)
    assert (label == best).float().mean() > 0.99  # ties aside, the same rule
    assert (out[1].pred_sem_seg.data == 0).all()


def test_missing_prototypes_and_labels_are_named(tmp_path):
    inputs = torch.randn(1, 3, 64, 64)
    with pytest.raises(FileNotFoundError, match='PrototypeLoop'):
        _model(tmp_path, with_prototypes=False).encode_decode(inputs, [{}])
    with pytest.raises(KeyError, match='img_labels'):
        _model(tmp_path).encode_decode(inputs, [dict(img_path='x.jpg')])
