"""Test-time augmentation followed by a dense CRF, as DeepLab evaluates."""

from __future__ import annotations

import mmcv
import numpy as np
import torch
from mmengine.structures import PixelData
from mmseg.models.segmentors import SegTTAModel

from ...ops.crf import dense_crf
from ...registry import MODELS

_DEFAULT_CRF = dict(preset='deeplab_test')


@MODELS.register_module()
class CRFSegTTAModel(SegTTAModel):
    """mmseg's multi-scale / flip test, with DeepLab's dense CRF on the result.

    The softmax probabilities of all augmented views (already resized to the
    original image and flipped back by the segmentor) are averaged; the CRF
    then refines them with the original image read from ``img_path``, and the
    prediction is the argmax of its marginals. ``seg_logits`` holds the log of
    those marginals. Used through ``tools/test.py --tta``:
    ``tta_model = dict(type='CRFSegTTAModel', crf=dict(preset='deeplab_test'))``.

    Args:
        crf (dict, optional): ``preset`` (a :data:`mmwsss.ops.crf.CRF_PRESETS`
            key or a settings dict) and single setting overrides, e.g.
            ``dict(preset='deeplab_test', iters=5)``; None turns the CRF off
            (plain averaging). Default: ``dict(preset='deeplab_test')``.
        **kwargs: Passed to :class:`mmseg.models.segmentors.SegTTAModel`
            (``module``, ``data_preprocessor``).
    """

    def __init__(self, crf: dict | None = _DEFAULT_CRF, **kwargs) -> None:
        super().__init__(**kwargs)
        if crf is not None and 'preset' not in crf:
            raise KeyError("crf needs a 'preset' (e.g. 'deeplab_test') or None")
        self.crf = None if crf is None else dict(crf)

    def _refine(self, probs: torch.Tensor, img_path: str) -> torch.Tensor:
        """(C, H, W) probabilities -> CRF marginals, same shape and device."""
        image = mmcv.imread(img_path, channel_order='rgb')
        if image is None:
            raise FileNotFoundError(f'CRF post-processing cannot read {img_path}')
        settings = dict(self.crf)
        preset = settings.pop('preset')
        marginals = dense_crf(
            np.ascontiguousarray(image), probs.cpu().numpy(), preset, **settings
        )
        return torch.from_numpy(marginals).to(probs.device)

    def merge_preds(self, data_samples_list):
        """Average the views' probabilities, refine with the CRF, take argmax."""
        if self.module.out_channels == 1:
            raise ValueError('CRFSegTTAModel needs a multi-class head (softmax)')
        predictions = []
        for samples in data_samples_list:
            probs = torch.stack([s.seg_logits.data.softmax(dim=0) for s in samples])
            probs = probs.mean(dim=0)
            if self.crf is not None:
                probs = self._refine(probs, samples[0].img_path)
            merged = samples[0].clone()
            merged.set_data(
                dict(
                    seg_logits=PixelData(data=probs.clamp_min(1e-8).log()),
                    pred_sem_seg=PixelData(data=probs.argmax(dim=0, keepdim=True)),
                )
            )
            predictions.append(merged)
        return predictions
