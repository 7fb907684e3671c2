"""PtReCl's reclassification as a segmentor that writes CAM-format seeds."""

from __future__ import annotations

import os.path as osp
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from mmengine.structures import PixelData
from mmseg.models.segmentors import BaseSegmentor

from mmwsss.ops import cams_to_labels, strided_size
from mmwsss.ops.prototypes import pixel_features
from mmwsss.ops.reclassify import SCORE_MAPS, reclassify, score_maps

from ...registry import MODELS

#: Prototype tensors kept as buffers (``PrototypeLoop``'s file).
PROTOTYPE_KEYS = ('fg', 'bg', 'fg_counts', 'bg_counts', 'fg_sizes', 'bg_sizes')
VOTE_WEIGHTS = ('size', 'uniform')


@MODELS.register_module()
class PrototypeReclassifier(BaseSegmentor):
    """Reclassify pixels by the classes' foreground / background prototypes.

    PtReCl's step 5: the recovery net's backbone (loaded from its checkpoint;
    its decode head is not used) gives each cell of its feature grid a feature
    (:func:`~mmwsss.ops.prototypes.pixel_features`, the same rule as the
    prototype stage's); for each class the image contains, the foreground
    share of the votes of the cell's ``top_m`` most similar prototypes
    (:func:`mmwsss.ops.reclassify.prototype_votes`) is its score. The grid of
    scores is upsampled (bilinear, each cell's value at the centre of the
    pixels it covers, the cells :func:`~mmwsss.ops.prototypes.mask_to_grid`
    labels) to the padded input and cropped to the image.

    A pixel goes to the class of highest score above ``bg_score`` (0.5: a
    majority of the votes), else to background: ``pred_sem_seg``, the
    reclassification map. For IRN's walk (step 6) the maps of
    :func:`~mmwsss.ops.reclassify.score_maps` (``score_map``) leave in the CAM
    seed format: ``cams`` at the image size, ``cams_strided`` their mean over
    each ``strided_stride`` x ``strided_stride`` cell, ``cam_keys`` (what
    :class:`~mmwsss.engine.CAMExporter` writes and ``LoadCAMs`` reads).

    The prototypes (:class:`~mmwsss.engine.PrototypeLoop`'s file) are
    persistent buffers loaded when the model is built, so the export's
    provenance (a digest of the model's state) changes with them; a missing
    file is an error at prediction, not at build (configs build without it).

    Args:
        backbone (dict): The recovery net's backbone config.
        prototypes (str): Prototype file or its folder.
        top_m (int): Prototypes that vote. Default: 10.
        in_index (int | Sequence[int]): Backbone output(s) to use, as the
            prototype stage used them. Default: -1.
        vote_weight (str): 'size': each vote weighs its prototype's cluster
            share of its side; 'uniform': one vote each. Default: 'size'.
        score_map (str): The maps written for IRN's walk: 'decision',
            'margin' or 'share' (see :func:`~mmwsss.ops.reclassify.score_maps`).
            Default: 'decision'.
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
        in_index: int | Sequence[int] = -1,
        vote_weight: str = 'size',
        score_map: str = 'decision',
        data_preprocessor: dict | None = None,
        test_cfg: dict | None = None,
        init_cfg: dict | None = None,
    ) -> None:
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.backbone = MODELS.build(backbone)
        if top_m < 1:
            raise ValueError(f'top_m must be positive, got {top_m}')
        if vote_weight not in VOTE_WEIGHTS:
            raise ValueError(
                f'vote_weight must be one of {VOTE_WEIGHTS}, got {vote_weight!r}'
            )
        if score_map not in SCORE_MAPS:
            raise ValueError(
                f'score_map must be one of {SCORE_MAPS}, got {score_map!r}'
            )
        self.top_m = int(top_m)
        self.in_index = in_index if isinstance(in_index, int) else tuple(in_index)
        self.vote_weight = vote_weight
        self.score_map = score_map
        self.test_cfg = {'bg_score': 0.5, 'strided_stride': 4, **(test_cfg or {})}
        self.prototype_file = prototypes
        for key in PROTOTYPE_KEYS:
            self.register_buffer(key, torch.zeros(0))
        if prototypes and osp.exists(prototypes):
            from mmwsss.engine.prototype_loop import load_prototypes

            content = load_prototypes(prototypes)
            for key in PROTOTYPE_KEYS:
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

    def _image_shares(self, feat, keys, img_shape, pad_shape) -> torch.Tensor:
        """``(len(keys), img_h, img_w)`` vote shares: the grid of the padded
        input (``pad_shape``) scored, upsampled to it and cropped to the image
        (``img_shape``)."""
        sized = self.vote_weight == 'size'
        votes = reclassify(
            feat,
            keys,
            self.fg,
            self.bg,
            self.fg_counts,
            self.bg_counts,
            self.top_m,
            self.fg_sizes if sized else None,
            self.bg_sizes if sized else None,
        )
        if not len(keys):
            return votes.new_zeros((0, *img_shape))
        up = F.interpolate(
            votes[None], size=tuple(pad_shape), mode='bilinear', align_corners=False
        )[0]
        return up[:, : img_shape[0], : img_shape[1]]

    def encode_decode(self, inputs: torch.Tensor, batch_img_metas: list[dict]):
        """Scores ``(N, C, H, W)`` at the input size: background the constant
        ``bg_score``, each labelled class (``img_labels`` of the metainfo) its
        vote share, the other classes 0; their argmax is ``pred_sem_seg``'s
        rule."""
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
            shares = self._image_shares(feat, keys, (img_h, img_w), pad)
            scores[i, keys.to(scores.device), :img_h, :img_w] = shares
        return scores

    def _forward(self, inputs: torch.Tensor, data_samples=None):
        features = pixel_features(self.extract_feat(inputs), self.in_index)
        if self.fg.numel() and features.shape[1] != self.fg.shape[-1]:
            raise ValueError(
                f'in_index {self.in_index} gives {features.shape[1]}-d features '
                f'but the prototypes of {self.prototype_file!r} are '
                f"{self.fg.shape[-1]}-d: use the prototype stage's backbone "
                'out_indices and in_index'
            )
        return features

    def loss(self, inputs, data_samples):
        raise RuntimeError(
            'PrototypeReclassifier does not train: test it with the recovery '
            "net's checkpoint (a Predict stage, or tools/test.py)"
        )

    def predict(self, inputs: torch.Tensor, data_samples=None):
        self._check_prototypes()
        features = self._forward(inputs)
        pad = tuple(inputs.shape[-2:])
        stride = self.test_cfg['strided_stride']
        for feat, sample in zip(features, data_samples):
            if 'gt_img_labels' not in sample:
                raise KeyError(
                    f'{sample.metainfo.get("img_path", "a sample")} has no image '
                    "labels: add LoadImageLevelLabels and PackWSSSInputs"
                )
            keys = torch.unique(sample.gt_img_labels.long())
            img_shape = tuple(sample.metainfo.get('img_shape', pad)[:2])
            ori_size = tuple(sample.metainfo.get('ori_shape', img_shape)[:2])
            shares = self._image_shares(feat, keys, img_shape, pad)
            if img_shape != ori_size and len(keys):
                shares = F.interpolate(
                    shares[None], size=ori_size, mode='bilinear', align_corners=False
                )[0]
            shares = shares.reshape(len(keys), *ori_size)
            maps = score_maps(shares, self.score_map)
            # IRN's stride-4 cell i covers pixels 4i..4i+3: their mean
            strided = maps.new_zeros((len(keys), *strided_size(ori_size, stride)))
            if len(keys):
                strided[:] = F.avg_pool2d(maps[None], stride, ceil_mode=True)[0]
            sample.set_data(
                dict(
                    cams=PixelData(data=maps),
                    cams_strided=PixelData(data=strided),
                    pred_sem_seg=PixelData(
                        data=cams_to_labels(shares, keys, self.test_cfg['bg_score'])[
                            None
                        ]
                    ),
                )
            )
            sample.set_field(keys, 'cam_keys')
        return data_samples
