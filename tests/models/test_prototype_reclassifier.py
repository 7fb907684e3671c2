"""PrototypeReclassifier: CAM-format maps in predict, the same rule as scores,
votes placed at their cells' centres."""

import pytest
import torch
import torch.nn.functional as F
from mmengine.registry import DefaultScope
from mmseg.structures import SegDataSample

import mmwsss  # noqa: F401
from mmwsss.registry import MODELS


def _model(tmp_path, with_prototypes=True, **kwargs):
    torch.manual_seed(0)
    path = tmp_path / 'prototypes.pth'
    counts = torch.tensor([0, 3, 3, 3, 3, 3])
    torch.save(
        dict(
            fg=torch.randn(6, 3, 1280),
            bg=torch.randn(6, 3, 1280),
            fg_sizes=torch.randint(1, 50, (6, 3)),
            bg_sizes=torch.randint(1, 50, (6, 3)),
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
        **kwargs,
    )
    with DefaultScope.overwrite_default_scope('mmwsss'):
        model = MODELS.build(cfg)
    model.init_weights()
    return model.eval()


def _sample(labels, size=(64, 64)):
    sample = SegDataSample(
        metainfo=dict(img_shape=size, ori_shape=size, img_labels=tuple(labels))
    )
    sample.gt_img_labels = torch.tensor(labels)
    return sample


@pytest.mark.parametrize('score_map', ['decision', 'share'])
def test_scores_argmax_is_the_predicted_labels(tmp_path, score_map):
    model = _model(tmp_path, score_map=score_map)
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
    label = out[0].pred_sem_seg.data[0]
    best = scores[0].argmax(dim=0)
    assert (label == best).float().mean() > 0.99  # ties aside, the same rule
    assert 0 < (label > 0).float().mean() < 1  # both outcomes occur
    votes = scores[0, [2, 4]]
    if score_map == 'share':
        torch.testing.assert_close(votes, out[0].cams.data)
    else:  # the reclassification map, one 0 / 1 map per class
        onehot = torch.stack([label == 2, label == 4]).float()
        assert torch.equal(out[0].cams.data, onehot)
    # IRN's stride-4 maps: the mean of each 4 x 4 cell
    torch.testing.assert_close(
        out[0].cams_strided.data, F.avg_pool2d(out[0].cams.data[None], 4)[0]
    )
    assert (out[1].pred_sem_seg.data == 0).all()
    assert out[1].cams.data.shape == (0, 64, 64)
    assert out[1].cams_strided.data.shape == (0, 16, 16)


def test_votes_sit_at_the_centre_of_their_cell(tmp_path):
    """A 2 x 2 grid on a 32 x 32 padded input (cells of 16 px), image 24 x 20:
    only cell (0, 0) votes foreground. Upsampled to the padded input, its
    value is whole up to its centre (7.5, 7.5) and fades past it; the image is
    the top-left crop. (Resizing the image's cropped grid to the image, as
    before, stretched cell (0, 0) over 12 px instead of 16.)"""
    model = _model(tmp_path, vote_weight='uniform')
    eye = torch.eye(3)
    model.fg = torch.zeros(6, 1, 3)
    model.bg = torch.zeros(6, 1, 3)
    model.fg[1, 0], model.bg[1, 0] = eye[0], eye[1]
    model.fg_counts = model.bg_counts = torch.tensor([0, 1, 0, 0, 0, 0])
    model.top_m = 1
    feat = eye[1][:, None, None].repeat(1, 2, 2)
    feat[:, 0, 0] = eye[0]
    shares = model._image_shares(feat, torch.tensor([1]), (24, 20), (32, 32))
    assert shares.shape == (1, 24, 20)
    assert (shares[0, :8, :8] == 1).all()
    assert 0 < shares[0, 8, 0] < 1 and 0 < shares[0, 0, 8] < 1
    torch.testing.assert_close(shares[0, 8, 0], torch.tensor(1 - 1 / 32))
    # row 23 lies 15.5 px below the centre, 1 / 32 of a cell from cell (1, 0)
    torch.testing.assert_close(shares[0, 23, 0], torch.tensor(1 / 32))


def test_vote_weights_come_from_the_file(tmp_path):
    sized = _model(tmp_path)
    uniform = _model(tmp_path, vote_weight='uniform')
    inputs = torch.randn(1, 3, 64, 64)
    metas = [_sample([1, 3]).metainfo]
    with torch.no_grad():
        a = sized.encode_decode(inputs, metas)
        b = uniform.encode_decode(inputs, metas)
    assert not torch.equal(a, b)
    assert torch.equal(
        sized.fg_sizes, torch.load(tmp_path / 'prototypes.pth')['fg_sizes']
    )


def test_bad_arguments_are_named(tmp_path):
    with pytest.raises(ValueError, match='vote_weight'):
        _model(tmp_path, vote_weight='similarity')
    with pytest.raises(ValueError, match='score_map'):
        _model(tmp_path, score_map='cam')
    torch.save(dict(fg=torch.zeros(1)), tmp_path / 'old.pth')
    with pytest.raises(KeyError, match='rerun the prototype stage'):
        MODELS.build(
            dict(
                type='PrototypeReclassifier',
                backbone=dict(type='EfficientNetLite', pretrained=False),
                prototypes=str(tmp_path / 'old.pth'),
            )
        )


def test_missing_prototypes_and_labels_are_named(tmp_path):
    inputs = torch.randn(1, 3, 64, 64)
    with pytest.raises(FileNotFoundError, match='PrototypeLoop'):
        _model(tmp_path, with_prototypes=False).encode_decode(inputs, [{}])
    with pytest.raises(KeyError, match='img_labels'):
        _model(tmp_path).encode_decode(inputs, [dict(img_path='x.jpg')])


def test_features_of_another_level_than_the_prototypes_are_named(tmp_path):
    model = _model(tmp_path)  # 1280-d prototypes
    model.backbone.out_indices = (3,)  # 112-d features
    sample = _sample([1])
    with pytest.raises(ValueError, match='112-d features'):
        model.predict(torch.randn(1, 3, 64, 64), [sample])
