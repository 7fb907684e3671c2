"""CRFSegTTAModel: multi-view averaging as mmseg's, then DeepLab's dense CRF."""

import numpy as np
import pytest
import torch
from mmengine.registry import init_default_scope
from mmengine.structures import PixelData
from mmseg.models.segmentors import SegTTAModel
from mmseg.structures import SegDataSample
from PIL import Image

import mmwsss  # noqa: F401
from mmwsss.models.segmentors import CRFSegTTAModel

MODULE = dict(
    type='EncoderDecoder',
    backbone=dict(type='EfficientNetLite', out_indices=(4,), pretrained=False),
    decode_head=dict(type='ASPPV2Head', in_channels=1280, in_index=0, num_classes=2),
)


H, W, EDGE = 48, 64, 32


@pytest.fixture
def views(tmp_path):
    """Two views of an image whose colour changes at column 32; their logits put
    the class boundary 3 and 7 columns right of it, with a soft ramp."""
    init_default_scope('mmwsss')
    image = np.zeros((H, W, 3), np.uint8)
    image[:, :EDGE] = (200, 20, 20)
    image[:, EDGE:] = (20, 20, 200)
    path = str(tmp_path / 'img.png')
    Image.fromarray(image).save(path)
    cols = np.arange(W, dtype=np.float32)
    samples = []
    for shift in (3, 7):
        ramp = np.broadcast_to((cols - EDGE - shift) / 2.0, (H, W))
        logits = np.stack([-ramp, ramp]).astype(np.float32) / 2
        sample = SegDataSample(metainfo=dict(img_path=path, ori_shape=(H, W)))
        sample.seg_logits = PixelData(data=torch.from_numpy(logits))
        sample.gt_sem_seg = PixelData(data=torch.zeros(1, H, W, dtype=torch.long))
        samples.append(sample)
    truth = np.zeros((H, W), np.int64)
    truth[:, EDGE:] = 1
    return samples, truth


def test_without_crf_it_merges_as_mmseg_does(views):
    samples, _ = views
    ours = CRFSegTTAModel(module=MODULE, crf=None).merge_preds([samples])[0]
    theirs = SegTTAModel(module=MODULE).merge_preds([samples])[0]
    assert torch.equal(ours.pred_sem_seg.data, theirs.pred_sem_seg.data)
    assert ours.img_path == samples[0].img_path
    assert torch.equal(ours.gt_sem_seg.data, samples[0].gt_sem_seg.data)


def test_crf_snaps_the_prediction_to_the_image_edge(views):
    samples, truth = views
    plain = CRFSegTTAModel(module=MODULE, crf=None).merge_preds([samples])[0]
    refined = CRFSegTTAModel(module=MODULE).merge_preds([samples])[0]
    before = (plain.pred_sem_seg.data.squeeze(0).numpy() == truth).mean()
    after = (refined.pred_sem_seg.data.squeeze(0).numpy() == truth).mean()
    # averaged views misplace the boundary by ~5 columns; the CRF moves it to the
    # colour edge
    assert before < 0.95
    assert after == 1.0
    # seg_logits hold log-marginals: their argmax is the prediction
    logits = refined.seg_logits.data
    assert logits.shape == (2, H, W)
    assert torch.allclose(logits.exp().sum(0), torch.ones(H, W), atol=1e-3)
    assert torch.equal(logits.argmax(0), refined.pred_sem_seg.data.squeeze(0))


def test_bad_settings(views):
    samples, _ = views
    with pytest.raises(KeyError, match='preset'):
        CRFSegTTAModel(module=MODULE, crf=dict(iters=5))
    with pytest.raises(KeyError, match='unknown CRF preset'):
        CRFSegTTAModel(module=MODULE, crf=dict(preset='nope')).merge_preds([samples])
    samples[0].set_metainfo(dict(img_path='/nonexistent.png'))
    with pytest.raises(FileNotFoundError, match='nonexistent'):
        CRFSegTTAModel(module=MODULE).merge_preds([samples])
