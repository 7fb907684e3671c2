"""CAM classifier: a backbone and a CAM head trained with image-level labels."""

from __future__ import annotations

import functools

import torch
from mmengine.config import ConfigDict
from mmengine.structures import PixelData
from mmseg.models.segmentors import BaseSegmentor
from mmseg.structures import SegDataSample

from mmwsss.ops import cams_to_labels, max_normalize, multiscale_cam, strided_size

from ...registry import MODELS

DEFAULT_TEST_CFG = dict(
    scales=(1.0, 0.5, 1.5, 2.0),
    flip=True,
    strided_stride=4,
    bg_score=0.15,
    cam_classes='gt',
    score_thr=0.5,
    val_maps=False,
)


def labels_to_multihot(
    data_samples: list[SegDataSample], num_classes: int, device: torch.device
) -> torch.Tensor:
    """(N, num_classes) multi-hot targets from the samples' ``gt_img_labels``.

    Image labels are segmentation class indices (1..num_classes, background 0
    excluded); column ``c - 1`` of the result stands for class ``c``.

    Raises:
        KeyError: A sample carries no image-level labels.
        ValueError: A label lies outside 1..num_classes (the dataset and the head
            disagree on the number of classes).
    """
    targets = torch.zeros((len(data_samples), num_classes), device=device)
    for i, sample in enumerate(data_samples):
        if 'gt_img_labels' not in sample:
            raise KeyError(
                f'{sample.metainfo.get("img_path", "a sample")} has no gt_img_labels; '
                'add PackWSSSInputs (and LoadImageLevelLabels) to the pipeline'
            )
        labels = sample.gt_img_labels.long()
        if labels.numel() and (labels.min() < 1 or labels.max() > num_classes):
            raise ValueError(
                f'image label {labels.max().item()} of '
                f'{sample.metainfo.get("img_path", "?")} is outside the head\'s '
                f'foreground classes 1..{num_classes}: the dataset has more classes '
                f'than the model (head num_classes={num_classes})'
            )
        targets[i, labels.to(device) - 1] = 1
    return targets


@MODELS.register_module()
class CAMClassifier(BaseSegmentor):
    """Image-level classifier whose class activation maps are the seeds of WSSS.

    Training uses only image-level labels (``gt_img_labels``). ``predict`` runs
    multi-scale (+ flip) CAM inference and adds to each data sample:

    - ``cams`` (PixelData, (K, H, W)): max-normalised CAMs at the original image
      size for the K classes in ``cam_keys``;
    - ``cams_strided`` (PixelData, (K, h, w)): the same at ``strided_stride``;
    - ``cam_keys`` (LongTensor, (K,)): segmentation class index of each map;
    - ``pred_scores`` (Tensor, (C,)): sigmoid class scores at scale 1;
    - ``pred_sem_seg`` (PixelData): argmax with a constant background score.

    Args:
        backbone (dict): Backbone config.
        head (dict): CAM head config (``num_classes`` foreground classes).
        neck (dict, optional): Neck config. Default: None.
        train_cfg (dict, optional): Unused, kept for the mmseg interface.
        test_cfg (dict, optional): Inference settings, merged into
            ``DEFAULT_TEST_CFG``: ``scales``, ``flip``, ``strided_stride``,
            ``bg_score`` (for ``pred_sem_seg``), ``cam_classes`` ('gt': maps of
            the image's labels, the WSSS protocol; 'pred': classes scoring
            above ``score_thr``); ``val_maps`` (False: validation predicts
            ``pred_scores`` only, one forward per image, which is all the
            multi-label mAP reads; True where a val evaluator reads the maps).
            Default: None.
        data_preprocessor (dict, optional): Data preprocessor config.
        init_cfg (dict, optional): Initialization config.
    """

    def __init__(
        self,
        backbone: dict,
        head: dict,
        neck: dict | None = None,
        train_cfg: dict | None = None,
        test_cfg: dict | None = None,
        data_preprocessor: dict | None = None,
        init_cfg: dict | None = None,
    ) -> None:
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.backbone = MODELS.build(backbone)
        self.neck = MODELS.build(neck) if neck is not None else None
        self.head = MODELS.build(head)
        self.train_cfg = train_cfg
        self.test_cfg = ConfigDict({**DEFAULT_TEST_CFG, **(test_cfg or {})})
        if self.test_cfg.cam_classes not in ('gt', 'pred'):
            raise ValueError(
                f"test_cfg.cam_classes must be 'gt' or 'pred', got {test_cfg}"
            )

    @property
    def num_classes(self) -> int:
        """Number of foreground classes of the head."""
        return self.head.num_classes

    def extract_feat(self, inputs: torch.Tensor) -> tuple[torch.Tensor, ...]:
        feats = self.backbone(inputs)
        if self.neck is not None:
            feats = self.neck(feats)
        return feats

    def cam_logits(
        self, inputs: torch.Tensor, keys: torch.Tensor | None = None
    ) -> torch.Tensor:
        """CAM logits (N, C, h, w) of a batch. ``keys`` (the classes whose
        maps will be kept, 1-based) is for subclasses whose maps could depend
        on them; the plain CAM (and SEAM, whose PCM input does not) ignores
        it."""
        return self.head.cam(self.extract_feat(inputs))

    def encode_decode(self, inputs: torch.Tensor, batch_img_metas: list[dict]):
        """Rectified CAMs resized to the input size (N, C, H, W)."""
        cams = torch.relu(self.cam_logits(inputs))
        return torch.nn.functional.interpolate(
            cams, size=inputs.shape[-2:], mode='bilinear', align_corners=False
        )

    def _forward(self, inputs: torch.Tensor, data_samples=None) -> torch.Tensor:
        return self.head(self.extract_feat(inputs))

    def loss(
        self, inputs: torch.Tensor, data_samples: list[SegDataSample]
    ) -> dict[str, torch.Tensor]:
        targets = labels_to_multihot(data_samples, self.num_classes, inputs.device)
        feats = self.extract_feat(inputs)
        if getattr(self, 'keep_train_maps', False):
            # for hooks that read the training CAMs (OAAHook): the class maps,
            # the image scores and the padded input size of this batch
            with torch.no_grad():
                self.last_train_maps = dict(
                    cams=self.head.cam(feats).detach(),
                    logits=self.head(feats).detach(),
                    input_size=tuple(inputs.shape[-2:]),
                )
        if not getattr(self.head, 'extra_losses', None):
            return self.head.loss(feats, targets)
        return self.head.loss(feats, targets, images=self._images01(inputs))

    def _images01(self, inputs: torch.Tensor) -> torch.Tensor:
        """The normalised inputs back in [0, 1] (the data preprocessor's
        mean / std undone; 0..255 pixel values)."""
        pre = self.data_preprocessor
        mean, std = getattr(pre, 'mean', None), getattr(pre, 'std', None)
        if mean is None or std is None:
            return inputs.clamp(0, 1)
        return ((inputs * std + mean) / 255.0).clamp(0, 1)

    @property
    def scores_only(self) -> bool:
        """Whether ``predict`` stops at ``pred_scores`` (in validation, unless
        ``test_cfg.val_maps``)."""
        return getattr(self, '_scores_only', False)

    def val_step(self, data) -> list:
        """Validation: the class scores only (``pred_scores``, what the
        multi-label mAP reads), not the multi-scale maps of test and export,
        unless ``test_cfg.val_maps``."""
        self._scores_only = not self.test_cfg.val_maps
        try:
            return super().val_step(data)
        finally:
            self._scores_only = False

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
            img_h, img_w = sample.metainfo.get('img_shape', image.shape[-2:])[:2]
            ori_size = tuple(sample.metainfo.get('ori_shape', (img_h, img_w))[:2])
            image = image[:, :img_h, :img_w]
            logits = self._forward(image[None])[0]
            scores = torch.sigmoid(logits)
            if self.scores_only:
                sample.set_field(scores, 'pred_scores')
                continue
            if cfg.cam_classes == 'gt':
                if 'gt_img_labels' not in sample:
                    raise KeyError(
                        f'{sample.metainfo.get("img_path", "a sample")} has no '
                        "gt_img_labels, needed by test_cfg.cam_classes='gt'"
                    )
                keys = torch.unique(sample.gt_img_labels.long().to(inputs.device))
                if keys.numel() and (keys.min() < 1 or keys.max() > self.num_classes):
                    raise ValueError(
                        f'image label {keys.max().item()} of '
                        f'{sample.metainfo.get("img_path", "?")} is outside the '
                        f"head's foreground classes 1..{self.num_classes}"
                    )
            else:
                keys = torch.nonzero(scores > cfg.score_thr).flatten() + 1
            high, strided = multiscale_cam(
                functools.partial(self.cam_logits, keys=keys),
                image,
                scales=cfg.scales,
                flip=cfg.flip,
                out_sizes=[ori_size, strided_size(ori_size, cfg.strided_stride)],
            )
            high = max_normalize(high[keys - 1])
            strided = max_normalize(strided[keys - 1])
            sample.set_data(
                dict(
                    cams=PixelData(data=high),
                    cams_strided=PixelData(data=strided),
                    pred_sem_seg=PixelData(
                        data=cams_to_labels(high, keys, cfg.bg_score)[None]
                    ),
                )
            )
            sample.set_field(keys, 'cam_keys')
            sample.set_field(scores, 'pred_scores')
        return data_samples
