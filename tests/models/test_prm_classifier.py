"""PRMClassifier: PRM's peaks and peak response maps at test, and their files."""

import numpy as np
import pytest
import torch
from mmengine.registry import DefaultScope
from mmseg.structures import SegDataSample

import mmwsss  # noqa: F401  (registers the components)
from mmwsss.engine.instance_exporter import load_peak_responses
from mmwsss.ops.peaks import peak_mask, peak_response_maps
from mmwsss.registry import EXPORTERS, MODELS

NUM_CLASSES = 3


def _model(upsample=1, **test_cfg):
    with DefaultScope.overwrite_default_scope('mmwsss'):
        return _build(upsample, test_cfg)


def _build(upsample, test_cfg):
    return MODELS.build(
        dict(
            type='PRMClassifier',
            data_preprocessor=dict(type='SegDataPreProcessor'),
            backbone=dict(
                type='ResNet',
                depth=18,
                base_channels=8,
                out_indices=(3,),
                strides=(1, 2, 1, 1),
            ),
            head=dict(
                type='PRMHead',
                in_channels=64,
                num_classes=NUM_CLASSES,
                upsample=upsample,
            ),
            test_cfg=dict(scales=(1.0,), flip=False, **test_cfg),
        )
    )


def _sample(labels, shape=(32, 40), ori=None):
    sample = SegDataSample(
        metainfo=dict(
            img_shape=shape, ori_shape=ori or shape, img_path='/d/JPEGImages/im.jpg'
        )
    )
    sample.gt_img_labels = torch.tensor(labels, dtype=torch.long)
    return sample


def test_predict_adds_peaks_and_their_response_maps():
    torch.manual_seed(0)
    model = _model(upsample=2).eval()
    with torch.no_grad():  # as the test loop calls it
        (out,) = model.predict(torch.randn(1, 3, 32, 40), [_sample([1, 3])])
    assert out.cam_keys.tolist() == [1, 3]
    maps = out.prm_class_maps  # the head's grid: stride 8, x2
    assert maps.shape == (2, 8, 10)
    labels, grid = out.peak_labels, out.peak_grid
    assert len(labels) > 0 and set(labels.tolist()) <= {1, 3}
    k = torch.tensor([0 if c == 1 else 1 for c in labels.tolist()])
    # each peak is one of the map's peaks, with a positive response
    assert peak_mask(maps)[k, grid[:, 0], grid[:, 1]].all()
    torch.testing.assert_close(out.peak_values, maps[k, grid[:, 0], grid[:, 1]])
    assert (out.peak_values > 0).all()
    expected = peak_mask(maps) & (maps > 0)
    assert len(labels) == int(expected.sum())
    prms = out.peak_responses
    assert prms.shape == (len(labels), 32, 40)
    torch.testing.assert_close(prms.sum(dim=(1, 2)), torch.ones(len(labels)))
    assert (prms >= 0).all()
    assert (out.peak_points[:, 0] < 32).all() and (out.peak_points[:, 1] < 40).all()


def test_peak_response_maps_are_the_models_and_stored_at_stride(tmp_path):
    torch.manual_seed(1)
    model = _model(prm_stride=4).eval()
    with torch.no_grad():
        model.head.bias.fill_(5.0)  # positive peaks whatever the random weights
    image = torch.randn(1, 3, 32, 40)
    (out,) = model.predict(image, [_sample([2], ori=(64, 80))])
    assert out.peak_responses.shape[1:] == (16, 20)  # ori / 4
    # the first peak's map, from the ops directly, resized alike
    c, y, x = 1, *out.peak_grid[0].tolist()
    _, prm = peak_response_maps(model, model.response_maps, image, [(c, y, x)])
    prm = torch.nn.functional.interpolate(prm[None], size=(16, 20), mode='bilinear')
    prm = prm[0, 0] / prm.sum()
    torch.testing.assert_close(out.peak_responses[0], prm)
    # the exporter's file: float16 maps over their maximum, back to sum 1
    exporter = EXPORTERS.build(
        dict(type='PeakResponseExporter', out_dir='{work_dir}/peak_responses')
    )
    exporter.prepare(str(tmp_path))
    exporter.save(out)
    assert exporter.exists(out.metainfo)
    cues = load_peak_responses(str(tmp_path / 'peak_responses' / 'im.npz'))
    assert cues['keys'].tolist() == [2]
    np.testing.assert_allclose(cues['prm_class_maps'], out.prm_class_maps.numpy())
    assert cues['peak_labels'].tolist() == out.peak_labels.tolist()
    assert np.array_equal(cues['peak_points'], out.peak_points.numpy())
    np.testing.assert_allclose(
        cues['peak_responses'], out.peak_responses.numpy(), rtol=2e-3, atol=1e-7
    )
    assert exporter.load(out) is out


def test_peak_points_are_cell_centres_and_min_score_keeps_the_top():
    model = _model(upsample=2)
    grid = torch.tensor([[0, 0], [7, 9], [2, 5]])
    # fine grid 8 x 10 over coarse 4 x 5 cells of an original 32 x 40 image:
    # fine y 2 -> coarse 2 * 3 / 7, pixel (0.857 + 0.5) * 8 = 10.9; fine x 5
    # -> coarse 5 * 4 / 9, pixel (2.222 + 0.5) * 8 = 21.8
    points = model._grid_to_image(grid, (8, 10), (32, 40))
    assert points.tolist() == [[4, 4], [28, 36], [10, 21]]
    plain = _model(upsample=1)
    assert plain._grid_to_image(grid[:1], (4, 5), (32, 40)).tolist() == [[4, 4]]
    torch.manual_seed(0)
    top = _model(peak_min_score=1.0).eval()
    (out,) = top.predict(torch.randn(1, 3, 32, 40), [_sample([1, 2, 3])])
    maps = out.prm_class_maps
    positive = maps.flatten(1).amax(1) > 0
    assert len(out.peak_labels) == int(positive.sum())  # its maximum per class


def test_prm_classifier_needs_a_prm_head():
    with pytest.raises(TypeError, match='PRMHead'):
        MODELS.build(
            dict(
                type='PRMClassifier',
                backbone=dict(
                    type='ResNet', depth=18, base_channels=8, out_indices=(3,)
                ),
                head=dict(type='CAMHead', in_channels=64, num_classes=3),
            )
        )


def test_peak_stimulation_trains_on_a_separable_toy_problem():
    torch.manual_seed(0)
    model = _model()
    # class 1 images are bright on the left half, class 2 images on the right
    inputs = torch.zeros(4, 3, 32, 32)
    inputs[:2, :, :, :16] = 2
    inputs[2:, :, :, 16:] = 2
    samples = [_sample([1]), _sample([1]), _sample([2]), _sample([2])]
    optim = torch.optim.SGD(model.parameters(), lr=0.02, momentum=0.9)
    losses = []
    for _ in range(30):
        loss = model.loss(inputs, samples)['loss_cls']
        optim.zero_grad()
        loss.backward()
        optim.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]
    # the trained model's peak response maps lie on the bright half of each
    # image (the excitation rule weighs each input by its activation)
    model.eval()
    for i, label, half in ((0, 1, slice(0, 16)), (2, 2, slice(16, 32))):
        (out,) = model.predict(inputs[i : i + 1], [_sample([label], shape=(32, 32))])
        assert len(out.peak_labels) > 0
        on_half = out.peak_responses[:, :, half].sum(dim=(1, 2))
        torch.testing.assert_close(on_half, torch.ones_like(on_half))


def test_validation_predicts_without_peak_backpropagation():
    model = _model().eval()
    data = dict(inputs=[torch.zeros(3, 32, 40)], data_samples=[_sample([1])])
    (out,) = model.val_step(data)
    assert 'pred_scores' in out and 'peak_responses' not in out
    (out,) = model.test_step(
        dict(inputs=[torch.zeros(3, 32, 40)], data_samples=[_sample([1])])
    )
    assert 'peak_responses' in out
