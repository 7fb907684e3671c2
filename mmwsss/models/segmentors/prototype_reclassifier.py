"""PtReCl's reclassification as a segmentor that writes CAM-format seeds."""

from __future__ import annotations

import os.path as osp

import torch
import torch.nn.functional as F
from mmengine.structures import PixelData
from mmseg.models.segmentors import BaseSegmentor

from mmwsss.ops import cams_to_labels, strided_size
from mmwsss.ops.reclassify import reclassify

from ...registry import MODELS


@MODELS.register_module()
class PrototypeReclassifier(BaseSegmentor):
    """Reclassify pixels by the classes' foreground / background prototypes.

    PtReCl's step 5: the recovery net's backbone (loaded from its checkpoint;
    its decode head is not used) gives each pixel a feature; for each class
    the image contains, the share of foreground prototypes among the pixel's
    ``top_m`` most similar prototypes
    (:func:`mmwsss.ops.reclassify.prototype_votes`) is its score. The scores
    leave in the CAM seed format (``cams`` at the image size, ``cams_strided``
    at ``strided_stride``, ``cam_keys``: what :class:`~mmwsss.engine.CAMExporter`
    writes and ``LoadCAMs`` reads), so IRN's walk runs on them instead of the
    CAMs (step 6); ``pred_sem_seg`` labels a pixel background where no class
    gets a majority of the votes (``bg_score`` 0.5), else its best class.

    The prototypes (:class:`~mmwsss.engine.PrototypeLoop`'s file) are
    persistent buffers loaded when the model is built, so the export's
    provenance (a digest of the model's state) changes with them; a missing
    file is an error at prediction, not at build (configs build without it).

    Args:
        backbone (dict): The recovery net's backbone config.
        prototypes (str): Prototype file or its folder.
        top_m (int): Prototypes that vote. Default: 10.
        in_index (int): Backbone output to use. Default: -1.
        data_preprocessor (dict, optional): The recovery net's.
        test_cfg (dict, optional): ``bg_score`` (0.5) and ``strided_stride``
            (4, IRN's stride).
        init_cfg (dict, optional): Initialization config.
    """

    def __init__(
        self,
        backbone: dict,
        prototypes: str = '',
        top_m: int = 10,
        in_index: int = -1,
        data_preprocessor: dict | None = None,
        test_cfg: dict | None = None,
        init_cfg: dict | None = None,
    ) -> None:
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.backbone = MODELS.build(backbone)
        if top_m < 1:
            raise ValueError(f'top_m must be positive, got {top_m}')
        self.top_m = int(top_m)
        self.in_index = in_index
        self.test_cfg = {'bg_score': 0.5, 'strided_stride': 4, **(test_cfg or {})}
        self.prototype_file = prototypes
        for key in ('fg', 'bg', 'fg_counts', 'bg_counts'):
            self.register_buffer(key, torch.zeros(0))
        if prototypes and osp.exists(prototypes):
            from mmwsss.engine.prototype_loop import load_prototypes

            content = load_prototypes(prototypes)
            for key in ('fg', 'bg', 'fg_counts', 'bg_counts'):
                setattr(self, key, content[key])

    def extract_feat(self, inputs: torch.Tensor):
        return self.backbone(inputs)

    def _check_prototypes(self) -> None:
        if self.fg.numel() == 0:
            raise FileNotFoundError(
                f'no prototypes loaded from {self.prototype_file!r}: run the '
                'prototype stage (PrototypeLoop) first and set model.prototypes '
                'to its file'
            )

    def _image_votes(self, feat, keys, img_shape, pad_shape) -> torch.Tensor:
        """``(len(keys), h, w)`` votes on the feature grid of the unpadded
        image (``img_shape`` inside the padded ``pad_shape``)."""
        fh = max(1, round(feat.shape[-2] * img_shape[0] / pad_shape[0]))
        fw = max(1, round(feat.shape[-1] * img_shape[1] / pad_shape[1]))
        return reclassify(
            feat[:, :fh, :fw],
            keys,
            self.fg,
            self.bg,
            self.fg_counts,
            self.bg_counts,
            self.top_m,
        )

    def encode_decode(self, inputs: torch.Tensor, batch_img_metas: list[dict]):
        """Scores ``(N, C, H, W)`` at the input size: background the constant
        ``bg_score``, each labelled class (``img_labels`` of the metainfo) its
        votes, the other classes 0; their argmax is ``pred_sem_seg``'s rule."""
        self._check_prototypes()
        features = self._forward(inputs)
        pad = tuple(inputs.shape[-2:])
        scores = inputs.new_zeros((len(inputs), self.fg.shape[0], *pad))
        scores[:, 0] = self.test_cfg['bg_score']
        for i, (feat, meta) in enumerate(zip(features, batch_img_metas)):
            if 'img_labels' not in meta:
                raise KeyError(
                    f'{meta.get("img_path", "an image")} has no img_labels in its '
                    'metainfo: add LoadImageLevelLabels and PackWSSSInputs'
                )
            keys = torch.tensor(sorted(set(meta['img_labels'])), dtype=torch.long)
            if not len(keys):
                continue
            img_h, img_w = meta.get('img_shape', pad)[:2]
            votes = self._image_votes(feat, keys, (img_h, img_w), pad)
            votes = F.interpolate(
                votes[None], size=(img_h, img_w), mode='bilinear', align_corners=False
            )[0]
            scores[i, keys.to(scores.device), :img_h, :img_w] = votes
        return scores

    def _forward(self, inputs: torch.Tensor, data_samples=None):
        return self.extract_feat(inputs)[self.in_index]

    def loss(self, inputs, data_samples):
        raise RuntimeError(
            'PrototypeReclassifier does not train: test it with the recovery '
            "net's checkpoint (a Predict stage, or tools/test.py)"
        )

    def predict(self, inputs: torch.Tensor, data_samples=None):
        self._check_prototypes()
        features = self._forward(inputs)
        for feat, sample in zip(features, data_samples):
            if 'gt_img_labels' not in sample:
                raise KeyError(
                    f'{sample.metainfo.get("img_path", "a sample")} has no image '
                    "labels: add LoadImageLevelLabels and PackWSSSInputs"
                )
            keys = torch.unique(sample.gt_img_labels.long())
            pad_h, pad_w = inputs.shape[-2:]
            img_h, img_w = sample.metainfo.get('img_shape', (pad_h, pad_w))[:2]
            ori_size = tuple(sample.metainfo.get('ori_shape', (img_h, img_w))[:2])
            votes = self._image_votes(feat, keys, (img_h, img_w), (pad_h, pad_w))

            def resize(size, votes=votes):
                if votes.numel() == 0:
                    return votes.new_zeros((0, *size))
                return F.interpolate(
                    votes[None], size=size, mode='bilinear', align_corners=False
                )[0]

            high = resize(ori_size)
            strided = resize(strided_size(ori_size, self.test_cfg['strided_stride']))
            sample.set_data(
                dict(
                    cams=PixelData(data=high),
                    cams_strided=PixelData(data=strided),
                    pred_sem_seg=PixelData(
                        data=cams_to_labels(high, keys, self.test_cfg['bg_score'])[None]
                    ),
                )
            )
            sample.set_field(keys, 'cam_keys')
        return data_samples
