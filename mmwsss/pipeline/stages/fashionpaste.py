"""``FashionPaste``: generate the benchmark set into the pipeline's data root."""

from __future__ import annotations

import os.path as osp
import time

from ...datasets import dataset_classes, split_ids
from ...datasets.fashionpaste import generate_fashionpaste
from ...registry import STAGES
from ..floor import all_background_miou
from .base import BaseStage


@STAGES.register_module()
class FashionPaste(BaseStage):
    """Generate the FashionPaste benchmark into ``data_root`` (or reuse it, see
    :func:`~mmwsss.datasets.fashionpaste.generate_fashionpaste`, whose
    arguments the stage takes); its metric is the all-background floor of the
    train split's masks. Later stages' digests hold the generated set's
    manifest, so a set regenerated in place reruns them."""

    makes_data = True

    def run(self, ctx, **kwargs) -> dict:
        start = time.perf_counter()
        manifest = generate_fashionpaste(ctx.data_root, **kwargs)
        masks = [
            osp.join(ctx.data_root, 'SegmentationClass', f'{i}.png')
            for i in split_ids(ctx.data_root, 'train')
        ]
        floor = all_background_miou(masks, len(dataset_classes(ctx.data_root)))
        return dict(
            kind='dataset',
            out_dir=osp.abspath(ctx.data_root),
            counts=manifest['counts'],
            source=manifest.get('source'),
            image_size=manifest.get('image_size'),
            scored_on='train',
            metrics={'all_background_mIoU': round(floor, 2)},
            seconds=round(time.perf_counter() - start, 1),
        )
