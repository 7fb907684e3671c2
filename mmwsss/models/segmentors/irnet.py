"""IRNet (Ahn, Cho & Kwak, CVPR 2019): boundaries and displacements from IR labels."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from mmengine.config import ConfigDict
from mmengine.structures import InstanceData, PixelData
from mmseg.models.segmentors import BaseSegmentor
from mmseg.structures import SegDataSample

from mmwsss.ops import strided_size
from mmwsss.ops.irn import (
    _align_to,
    irn_pair_losses,
    irn_walk_scores,
    scores_to_labels,
)
from mmwsss.ops.irn_instance import instance_pseudo_labels

from ...registry import MODELS

#: Stride of IRNet's outputs (and of the CAM stage's strided CAMs).
STRIDE = 4

DEFAULT_TRAIN_CFG = dict(radius=10, ignore_index=255)
DEFAULT_TEST_CFG = dict(
    radius=5,
    beta=10,
    steps=256,
    bg_score=0.25,
    flip=True,
    flip_displacement=False,
    instance=False,
)
#: IRN's instance settings: centroid iterations, centroid-map threshold, small
#: fragments scored 0 below this share of the image.
DEFAULT_INSTANCE_CFG = dict(n_iters=300, threshold=2.5, min_fraction=0.01)


def labels_to_map(
    labels: torch.Tensor, size: tuple[int, int], ignore_index: int = 255
) -> torch.Tensor:
    """IR labels at the input size on IRNet's stride-4 map.

    Takes the centre pixel of each 4 x 4 cell, pixel ``4 i + 2``: IRN resizes
    its 512 px label crop to 128 px with PIL's nearest filter, which samples
    exactly these. Cells past the labels' edge are ``ignore_index``.

    Args:
        labels (torch.Tensor): ``(N, H, W)`` class indices (255 unsure).
        size (tuple[int, int]): ``(h, w)`` of the map.
        ignore_index (int): Value of the cells without a label. Default: 255.

    Returns:
        torch.Tensor: ``(N, h, w)`` labels.
    """
    height, width = size
    offset = STRIDE // 2
    labels = labels[:, offset::STRIDE, offset::STRIDE][:, :height, :width]
    return F.pad(
        labels,
        (0, width - labels.shape[2], 0, height - labels.shape[1]),
        value=ignore_index,
    )


@MODELS.register_module()
class IRNet(BaseSegmentor):
    """Inter-pixel relation network on a frozen backbone.

    The backbone is never trained: its parameters do not require gradients, it
    stays in eval mode and its features are computed under ``no_grad``. Two
    heads predict, at stride 4 of the input, a class boundary map (sigmoid of
    the boundary head's logit) and a displacement field ``(dy, dx)`` pointing
    from each pixel to its instance centroid, in stride-4 pixels (see
    :mod:`mmwsss.ops.irn`).

    Training reads IR labels from ``gt_sem_seg`` (0 background, classes, 255
    unsure) at the input size, put on the stride-4 map by
    :func:`labels_to_map` (each cell's centre pixel, as IRN's PIL nearest
    resize); the losses are :func:`~mmwsss.ops.irn.irn_pair_losses`
    over pairs within ``train_cfg.radius``, returned as ``loss_aff_pos``,
    ``loss_aff_neg``, ``loss_dp_fg`` and ``loss_dp_bg``, each weighted by 0.5 so
    that their sum is IRN's ``(pos + neg) / 2 + (dp_fg + dp_bg) / 2``.

    ``predict`` runs every image (and, with ``test_cfg.flip``, its horizontal
    flip) and adds to its data sample:

    - ``boundary`` (PixelData, (1, h, w)): boundary probabilities at stride 4;
      with flip, the sigmoid of the mean of both logits (flipped back), as in
      IRN's reference;
    - ``displacement`` (PixelData, (2, h, w)): the field at stride 4, of the
      image itself also with flip, as IRN's reference (its ``EdgeDisplacement``
      keeps ``dp_out[0]``); with ``test_cfg.flip_displacement`` True, the mean
      of both fields, the flipped one flipped back with ``dx`` negated (not
      IRN's; measured on the bench: +1.8 instance AP50, see the reproduction
      table);
    - ``pred_sem_seg`` (PixelData, (1, H, W)): the semantic pseudo label from
      the sample's ``cams_strided`` and ``cam_keys`` (:class:`LoadCAMs`) by
      :func:`~mmwsss.ops.irn.irn_semantic_labels`, at ``ori_shape``, and
      ``walk_scores`` (PixelData, (K, H, W)), the propagated class scores it
      cuts at ``test_cfg.bg_score`` (for a background sweep with
      ``SeedIoUMetric(cam_key='walk_scores')``);
    - with ``test_cfg.instance`` True, ``pred_instances`` (InstanceData with
      ``masks`` (N, H, W) bool, ``labels`` and ``scores``): IRN's instance
      pseudo labels (:func:`~mmwsss.ops.irn_instance.instance_pseudo_labels`)
      from the same CAMs, boundary and displacement; ``test_cfg.instance_cfg``
      overrides ``DEFAULT_INSTANCE_CFG``.

    Args:
        backbone (dict): Backbone config; all its levels feed both heads.
        boundary_head (dict): Boundary head config (:class:`IRNBoundaryHead`).
        displacement_head (dict): Displacement head config
            (:class:`IRNDisplacementHead`).
        train_cfg (dict, optional): ``radius`` (pair radius, IRN: 10) and
            ``ignore_index`` (255), merged into ``DEFAULT_TRAIN_CFG``.
            Default: None.
        test_cfg (dict, optional): ``radius`` (walk radius, 5), ``beta`` (10),
            ``steps`` (256), ``bg_score`` (0.25), ``flip`` (True: boundary
            logits averaged with the flipped image's),
            ``flip_displacement`` (False: the displacement of the image
            alone, as IRN) and ``instance`` (False), merged into
            ``DEFAULT_TEST_CFG``.
            Default: None.
        data_preprocessor (dict, optional): Data preprocessor config.
            Default: None.
        init_cfg (dict, optional): Initialization config. Default: None.
    """

    def __init__(
        self,
        backbone: dict,
        boundary_head: dict,
        displacement_head: dict,
        train_cfg: dict | None = None,
        test_cfg: dict | None = None,
        data_preprocessor: dict | None = None,
        init_cfg: dict | None = None,
    ) -> None:
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.backbone = MODELS.build(backbone)
        for param in self.backbone.parameters():
            param.requires_grad = False
        self.boundary_head = MODELS.build(boundary_head)
        self.displacement_head = MODELS.build(displacement_head)
        self.train_cfg = ConfigDict({**DEFAULT_TRAIN_CFG, **(train_cfg or {})})
        self.test_cfg = ConfigDict({**DEFAULT_TEST_CFG, **(test_cfg or {})})

    def train(self, mode: bool = True) -> IRNet:
        """Set the heads' mode; the frozen backbone always stays in eval mode."""
        super().train(mode)
        self.backbone.eval()
        return self

    def extract_feat(self, inputs: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """Backbone features, without gradients."""
        with torch.no_grad():
            return tuple(f.detach() for f in self.backbone(inputs))

    def _forward(
        self, inputs: torch.Tensor, data_samples=None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Boundary logits ``(N, 1, h, w)`` and displacement ``(N, 2, h, w)``."""
        feats = self.extract_feat(inputs)
        size = strided_size(inputs.shape[-2:], STRIDE)
        return self.boundary_head(feats, size), self.displacement_head(feats, size)

    def encode_decode(
        self, inputs: torch.Tensor, batch_img_metas: list[dict]
    ) -> torch.Tensor:
        """Boundary probabilities ``(N, 1, h, w)`` at stride 4."""
        return torch.sigmoid(self._forward(inputs)[0])

    def loss(
        self, inputs: torch.Tensor, data_samples: list[SegDataSample]
    ) -> dict[str, torch.Tensor]:
        cfg = self.train_cfg
        logits, displacement = self._forward(inputs)
        height, width = logits.shape[-2:]
        labels = torch.stack(
            [s.gt_sem_seg.data.reshape(inputs.shape[-2:]) for s in data_samples]
        ).long()  # [B, H, W]
        labels = labels_to_map(labels, (height, width), cfg.ignore_index)
        terms = irn_pair_losses(
            torch.sigmoid(logits[:, 0]),
            displacement,
            labels.to(logits.device),
            radius=cfg.radius,
            ignore_index=cfg.ignore_index,
        )
        return {f'loss_{name}': 0.5 * value for name, value in terms.items()}

    def _predict_maps(self, image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Boundary ``(1, h, w)`` and displacement ``(2, h, w)`` of one image."""
        if not self.test_cfg.flip:
            logits, displacement = self._forward(image[None])
            return torch.sigmoid(logits[0]), displacement[0]
        logits, displacement = self._forward(torch.stack([image, image.flip(-1)]))
        boundary = torch.sigmoid((logits[0] + logits[1].flip(-1)) / 2)
        if not self.test_cfg.flip_displacement:
            return boundary, displacement[0]
        sign = displacement.new_tensor([1.0, -1.0])[:, None, None]  # dx changes sign
        flipped = displacement[1].flip(-1) * sign
        return boundary, (displacement[0] + flipped) / 2

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
            if 'cams_strided' not in sample or 'cam_keys' not in sample:
                raise KeyError(
                    f'{sample.metainfo.get("img_path", "a sample")} has no CAMs; '
                    "add dict(type='LoadCAMs', cam_dir=...) before PackWSSSInputs "
                    'to the test pipeline'
                )
            img_h, img_w = sample.metainfo.get('img_shape', image.shape[-2:])[:2]
            ori_size = tuple(sample.metainfo.get('ori_shape', (img_h, img_w))[:2])
            boundary, displacement = self._predict_maps(image[:, :img_h, :img_w])
            scores = irn_walk_scores(
                sample.cams_strided.data.to(boundary),
                sample.cam_keys,
                boundary[0],
                (img_h, img_w),
                radius=cfg.radius,
                beta=cfg.beta,
                steps=cfg.steps,
                stride=STRIDE,
            )
            if ori_size != (img_h, img_w):
                scores = F.interpolate(
                    scores[None], size=ori_size, mode='bilinear', align_corners=False
                )[0]
            labels = scores_to_labels(scores, sample.cam_keys, cfg.bg_score)
            sample.set_data(
                dict(
                    boundary=PixelData(data=boundary),
                    displacement=PixelData(data=displacement),
                    pred_sem_seg=PixelData(data=labels[None]),
                    walk_scores=PixelData(data=scores),
                )
            )
            if cfg.instance:
                sample.pred_instances = self._predict_instances(
                    sample, boundary[0], displacement, (img_h, img_w), ori_size
                )
        return data_samples

    def _predict_instances(
        self, sample, boundary, displacement, img_size, ori_size
    ) -> InstanceData:
        cfg = self.test_cfg
        cams = _align_to(sample.cams_strided.data.to(boundary), boundary.shape)
        instances = instance_pseudo_labels(
            cams,
            sample.cam_keys,
            boundary,
            displacement,
            img_size,
            radius=cfg.radius,
            beta=cfg.beta,
            steps=cfg.steps,
            bg_score=cfg.bg_score,
            stride=STRIDE,
            **{**DEFAULT_INSTANCE_CFG, **cfg.get('instance_cfg', {})},
        )
        masks = torch.zeros((len(instances), *ori_size), dtype=torch.bool)
        for i, inst in enumerate(instances):
            mask = torch.from_numpy(inst['mask'])
            if tuple(mask.shape) != tuple(ori_size):
                mask = F.interpolate(
                    mask[None, None].float(), size=ori_size, mode='nearest'
                )[0, 0].bool()
            masks[i] = mask
        result = InstanceData()
        result.masks = masks
        result.labels = torch.tensor([i['label'] for i in instances], dtype=torch.long)
        result.scores = torch.tensor(
            [i['score'] for i in instances], dtype=torch.float32
        )
        return result
