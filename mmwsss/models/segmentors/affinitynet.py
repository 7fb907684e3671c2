"""AffinityNet (PSA, Ahn & Kwak, CVPR 2018): pixel affinities from PSA labels."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from mmengine.config import ConfigDict
from mmengine.structures import PixelData
from mmseg.models.segmentors import BaseSegmentor
from mmseg.structures import SegDataSample

from mmwsss.ops import affinity_from_features
from mmwsss.ops.psa import (
    PSA_STRIDE,
    affinity_pair_losses,
    downscale_labels,
    psa_semantic_labels,
)

from ...registry import MODELS

DEFAULT_TRAIN_CFG = dict(radius=5, ignore_index=255, label_downscale='majority')
DEFAULT_TEST_CFG = dict(radius=5, beta=8, steps=256, alpha=16, flip=False)

#: Weights of PSA's loss terms: bg_pos / 4 + fg_pos / 4 + neg / 2.
LOSS_WEIGHTS = dict(bg_pos=0.25, fg_pos=0.25, neg=0.5)


def _resize_maps(maps: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Bilinear resize of ``(K, h, w)`` maps, ``K`` possibly 0."""
    if not len(maps):
        return maps.new_zeros((0, *size))
    return F.interpolate(maps[None], size=size, mode='bilinear', align_corners=False)[0]


@MODELS.register_module()
class AffinityNet(BaseSegmentor):
    """Network predicting the semantic affinity of nearby pixels.

    The backbone is fine-tuned (as in PSA; ``frozen_stages`` / ``norm_eval`` of
    its config apply); the head (:class:`AffinityHead`) gives affinity features
    ``f`` on the stride-8 map, and the affinity of two pixels within the radius
    is ``exp(-mean_c |f_i - f_j|)``.

    Training reads PSA labels from ``gt_sem_seg`` (0 background, classes, 255
    unsure) at the input size. They are downscaled to the feature map by the most
    frequent label of each 8 x 8 block (PSA average-pools its CRF scores over the
    block; ``train_cfg.label_downscale='nearest'`` takes every 8th pixel, PSA's
    variant for label PNGs; see :func:`~mmwsss.ops.psa.downscale_labels`); the
    losses over pairs
    within ``train_cfg.radius`` (:func:`~mmwsss.ops.psa.affinity_pair_losses`)
    are returned as ``loss_bg_pos``, ``loss_fg_pos`` and ``loss_neg``, weighted
    so that their sum is PSA's ``bg_pos / 4 + fg_pos / 4 + neg / 2``.

    ``predict`` pads every image at the bottom and right to a multiple of 8 (as
    PSA does), computes its affinities (with ``test_cfg.flip``, from the mean of
    the features of the image and of its flip, flipped back) and adds to its
    data sample ``pred_sem_seg`` (PixelData, (1, H, W)): the walk of the
    sample's full-resolution ``cams`` and ``cam_keys`` (``LoadCAMs`` with
    ``high_res=True``) by :func:`~mmwsss.ops.psa.psa_semantic_labels`, at
    ``ori_shape``.

    Args:
        backbone (dict): Backbone config.
        head (dict): Affinity head config (:class:`AffinityHead`).
        train_cfg (dict, optional): ``radius`` (pair radius, PSA: 5),
            ``ignore_index`` (255) and ``label_downscale`` ('majority' or
            'nearest'), merged into ``DEFAULT_TRAIN_CFG``. Default: None.
        test_cfg (dict, optional): ``radius`` (5), ``beta`` (8), ``steps``
            (256), ``alpha`` (16, the background exponent) and ``flip``
            (False), merged into ``DEFAULT_TEST_CFG``. Default: None.
        data_preprocessor (dict, optional): Data preprocessor config.
            Default: None.
        init_cfg (dict, optional): Initialization config. Default: None.
    """

    def __init__(
        self,
        backbone: dict,
        head: dict,
        train_cfg: dict | None = None,
        test_cfg: dict | None = None,
        data_preprocessor: dict | None = None,
        init_cfg: dict | None = None,
    ) -> None:
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.backbone = MODELS.build(backbone)
        self.head = MODELS.build(head)
        self.train_cfg = ConfigDict({**DEFAULT_TRAIN_CFG, **(train_cfg or {})})
        self.test_cfg = ConfigDict({**DEFAULT_TEST_CFG, **(test_cfg or {})})

    def extract_feat(self, inputs: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """Backbone features."""
        return tuple(self.backbone(inputs))

    def _forward(self, inputs: torch.Tensor, data_samples=None) -> torch.Tensor:
        """Affinity features ``(N, C, h, w)`` on the stride-8 map."""
        return self.head(self.extract_feat(inputs))

    def encode_decode(
        self, inputs: torch.Tensor, batch_img_metas: list[dict]
    ) -> torch.Tensor:
        """Affinities ``(N, n_offsets, h, w)`` within ``test_cfg.radius``."""
        return affinity_from_features(self._forward(inputs), self.test_cfg.radius)

    def loss(
        self, inputs: torch.Tensor, data_samples: list[SegDataSample]
    ) -> dict[str, torch.Tensor]:
        cfg = self.train_cfg
        feats = self._forward(inputs)
        labels = torch.stack(
            [s.gt_sem_seg.data.reshape(inputs.shape[-2:]) for s in data_samples]
        )  # [B, H, W]
        labels = downscale_labels(
            labels.long(),
            feats.shape[-2:],
            PSA_STRIDE,
            cfg.ignore_index,
            mode=cfg.label_downscale,
        )
        terms = affinity_pair_losses(
            affinity_from_features(feats, cfg.radius),
            labels.to(feats.device),
            radius=cfg.radius,
            ignore_index=cfg.ignore_index,
        )
        return {f'loss_{name}': LOSS_WEIGHTS[name] * v for name, v in terms.items()}

    def _predict_affinity(self, image: torch.Tensor) -> torch.Tensor:
        """Affinities ``(n_offsets, h, w)`` of one image padded to whole blocks."""
        height, width = image.shape[-2:]
        image = F.pad(
            image, (0, -width % PSA_STRIDE, 0, -height % PSA_STRIDE)
        )  # [3, 8h, 8w]
        if self.test_cfg.flip:
            feats = self._forward(torch.stack([image, image.flip(-1)]))
            feats = (feats[0] + feats[1].flip(-1)) / 2
        else:
            feats = self._forward(image[None])[0]
        return affinity_from_features(feats[None], self.test_cfg.radius)[0]

    def predict(
        self, inputs: torch.Tensor, data_samples: list[SegDataSample] | None = None
    ) -> list[SegDataSample]:
        cfg = self.test_cfg
        if data_samples is None:
            data_samples = [
                SegDataSample(
                    metainfo=dict(
                        img_shape=inputs.shape[-2:], ori_shape=inputs.shape[-2:]
                    )
                )
                for _ in range(inputs.shape[0])
            ]
        for image, sample in zip(inputs, data_samples):
            where = sample.metainfo.get('img_path', 'a sample')
            if 'cams' not in sample or 'cam_keys' not in sample:
                raise KeyError(
                    f'{where} has no full-resolution CAMs; add dict(type='
                    "'LoadCAMs', cam_dir=..., high_res=True) before PackWSSSInputs "
                    'to the test pipeline'
                )
            img_h, img_w = sample.metainfo.get('img_shape', image.shape[-2:])[:2]
            ori_size = tuple(sample.metainfo.get('ori_shape', (img_h, img_w))[:2])
            cams = sample.cams.data.to(image)
            if tuple(cams.shape[-2:]) == ori_size != (img_h, img_w):
                # a resizing test pipeline: bring the CAMs to the network input
                cams = _resize_maps(cams, (img_h, img_w))
            affinity = self._predict_affinity(image[:, :img_h, :img_w])
            labels = psa_semantic_labels(
                cams,
                sample.cam_keys,
                affinity,
                (img_h, img_w),
                radius=cfg.radius,
                beta=cfg.beta,
                steps=cfg.steps,
                alpha=cfg.alpha,
                stride=PSA_STRIDE,
            )
            if ori_size != (img_h, img_w):
                labels = F.interpolate(
                    labels[None, None].float(), size=ori_size, mode='nearest'
                )[0, 0].long()
            sample.set_data(dict(pred_sem_seg=PixelData(data=labels[None])))
        return data_samples
