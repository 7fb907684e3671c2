"""PtReCl's pseudo-mask recovery head: DeepLabV2's ASPP, label-conditioned."""

from __future__ import annotations

from collections.abc import Sequence

import torch

from ...registry import MODELS
from .aspp_v2_head import ASPPV2Head

#: Logit given to the classes an image does not contain: its softmax share is
#: exp(-1e4) = 0 in float32 and float16, without the inf / nan of -inf.
MASKED_LOGIT = -1e4


def image_label_mask(
    batch_img_metas: Sequence[dict], num_classes: int, device=None
) -> torch.Tensor:
    """``(N, num_classes)`` bool: background (class 0) and each image's labels.

    Raises:
        KeyError: If a metainfo has no ``img_labels`` (packed by
            :class:`~mmwsss.datasets.transforms.PackWSSSInputs`).
        ValueError: If a label lies outside ``1 .. num_classes - 1``.
    """
    allowed = torch.zeros(len(batch_img_metas), num_classes, dtype=torch.bool)
    allowed[:, 0] = True
    for i, meta in enumerate(batch_img_metas):
        if 'img_labels' not in meta:
            raise KeyError(
                f'{meta.get("img_path", "an image")} has no img_labels in its '
                'metainfo: a label-conditioned head needs the image labels at '
                "training and inference; add dict(type='LoadImageLevelLabels') and "
                "dict(type='PackWSSSInputs') to the pipeline"
            )
        labels = [int(c) for c in meta['img_labels']]
        bad = [c for c in labels if not 1 <= c < num_classes]
        if bad:
            raise ValueError(
                f'image labels {bad} of {meta.get("img_path", "an image")} lie '
                f'outside the foreground classes 1..{num_classes - 1}'
            )
        allowed[i, labels] = True
    return allowed.to(device)


@MODELS.register_module()
class LabelConditionedASPPHead(ASPPV2Head):
    """DeepLabV2's ASPP head that sees only the image's classes (PtReCl).

    PtReCl's pseudo-mask recovery net keeps, at training and at inference, the
    logits of the image's ground-truth image-level classes plus background; the
    others are masked (set to :data:`MASKED_LOGIT`) before the softmax, so the
    net only decides where each present class is, never which classes are
    present. The labels reach the head through the data samples' metainfo
    (``img_labels``, packed by ``PackWSSSInputs``). A training mask that gives a
    pixel a class the image does not contain is an error naming the image.

    Args:
        **kwargs: Passed to :class:`ASPPV2Head`.
    """

    def condition(
        self, seg_logits: torch.Tensor, batch_img_metas: Sequence[dict]
    ) -> torch.Tensor:
        """``seg_logits`` with the absent classes' logits masked."""
        allowed = image_label_mask(
            batch_img_metas, self.out_channels, seg_logits.device
        )
        return seg_logits.masked_fill(~allowed[:, :, None, None], MASKED_LOGIT)

    def loss_by_feat(self, seg_logits: torch.Tensor, batch_data_samples) -> dict:
        metas = [sample.metainfo for sample in batch_data_samples]
        allowed = image_label_mask(metas, self.out_channels)
        for sample, ok in zip(batch_data_samples, allowed):
            values = torch.unique(sample.gt_sem_seg.data).cpu()
            values = values[values != self.ignore_index]
            outside = [int(v) for v in values if v >= len(ok) or not ok[v]]
            if outside:
                raise ValueError(
                    f'the training mask of {sample.metainfo.get("img_path", "?")} '
                    f'has classes {outside} that its image labels '
                    f'{list(sample.metainfo["img_labels"])} do not name'
                )
        return super().loss_by_feat(
            self.condition(seg_logits, metas), batch_data_samples
        )

    def predict_by_feat(
        self, seg_logits: torch.Tensor, batch_img_metas: list[dict]
    ) -> torch.Tensor:
        return super().predict_by_feat(
            self.condition(seg_logits, batch_img_metas), batch_img_metas
        )
