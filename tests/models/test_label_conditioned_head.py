"""LabelConditionedASPPHead: only background and the image's classes compete."""

import pytest
import torch
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample

import mmwsss  # noqa: F401
from mmwsss.models.heads import LabelConditionedASPPHead
from mmwsss.models.heads.label_conditioned_head import image_label_mask


def _head():
    torch.manual_seed(0)
    head = LabelConditionedASPPHead(
        in_channels=8, num_classes=5, dilations=(1, 2), in_index=0
    )
    head.init_weights()
    return head


def _sample(labels, mask):
    sample = SegDataSample(
        metainfo=dict(img_labels=tuple(labels), img_shape=(8, 8), img_path='a.jpg')
    )
    sample.gt_sem_seg = PixelData(data=torch.as_tensor(mask)[None])
    return sample


def test_image_label_mask():
    allowed = image_label_mask([dict(img_labels=(2,)), dict(img_labels=(1, 4))], 5)
    assert allowed.tolist() == [
        [True, False, True, False, False],
        [True, True, False, False, True],
    ]
    with pytest.raises(KeyError, match='LoadImageLevelLabels'):
        image_label_mask([dict(img_path='x.jpg')], 5)
    with pytest.raises(ValueError, match='outside'):
        image_label_mask([dict(img_labels=(5,))], 5)


def test_prediction_never_names_an_absent_class():
    head = _head()
    feats = [torch.randn(2, 8, 8, 8)]
    metas = [
        dict(img_labels=(3,), img_shape=(8, 8)),
        dict(img_labels=(), img_shape=(8, 8)),
    ]
    logits = head.predict(feats, metas, dict())
    labels = logits.argmax(dim=1)
    assert set(labels[0].unique().tolist()) <= {0, 3}
    assert labels[1].unique().tolist() == [0]  # no class: all background
    # the present classes keep their logits as the plain head gives them
    plain = head.forward(feats)
    conditioned = head.condition(plain, metas)
    torch.testing.assert_close(conditioned[0, [0, 3]], plain[0, [0, 3]])
    assert (conditioned[0, [1, 2, 4]] == -1e4).all()
    assert torch.softmax(conditioned, dim=1)[0, [1, 2, 4]].max() == 0


def test_absent_classes_get_no_gradient():
    head = _head()
    feats = [torch.randn(1, 8, 8, 8)]
    mask = torch.zeros(8, 8, dtype=torch.long)
    mask[2:6, 2:6] = 2
    losses = head.loss_by_feat(head.forward(feats), [_sample([2], mask)])
    losses['loss_ce'].backward()
    for branch in head.aspp:
        grad = branch.weight.grad.abs().sum(dim=(1, 2, 3))
        assert (grad[[1, 3, 4]] == 0).all()  # masked: no gradient
        assert (grad[[0, 2]] > 0).all()


def test_training_mask_with_an_unlabelled_class_is_an_error():
    head = _head()
    mask = torch.full((8, 8), 255, dtype=torch.long)
    mask[0, 0] = 4
    with pytest.raises(ValueError, match=r'a.jpg.*\[4\].*\[2\]'):
        head.loss_by_feat(head.forward([torch.randn(1, 8, 8, 8)]), [_sample([2], mask)])
