"""Per-image writers of stage outputs, used by :class:`ExportTestLoop`.

An exporter knows where a sample's file lives, writes it atomically (temporary
name, then ``os.replace``) and can load it back into a data sample, so that an
interrupted export resumes without recomputing finished images and without ever
trusting a partial file.
"""

from __future__ import annotations

import glob
import os
import os.path as osp

import numpy as np
import torch
from mmengine.structures import PixelData
from PIL import Image

from ..datasets.palette import voc_palette
from ..datasets.pseudo_label import image_stem
from ..registry import EXPORTERS
from ..utils.map_file import MAP_DTYPES, load_map_file, save_map_file, stored_maps

TMP_SUFFIX = '.part'


def sample_stem(metainfo: dict) -> str:
    """File stem of a sample: its image file name without the extension."""
    if 'img_path' not in metainfo:
        raise KeyError('exporting needs img_path in the data sample metainfo')
    return image_stem(metainfo)


def save_cam_file(
    path: str,
    keys: np.ndarray,
    cam: np.ndarray,
    high_res: np.ndarray,
    dtype: str = 'uint8',
) -> None:
    """Write one image's seeds in the CAM seed format (see :class:`CAMExporter`):
    ``keys`` (class indices), ``cam`` (strided maps), ``high_res``; ``dtype``
    as :func:`~mmwsss.utils.map_file.save_map_file`'s."""
    save_map_file(path, keys, dtype, cam=cam, high_res=high_res)


@EXPORTERS.register_module()
class CAMExporter:
    """Saves the CAMs of each image as ``{out_dir}/{image stem}.npz``.

    File content (:mod:`mmwsss.utils.map_file`, format version 1): ``keys``
    (K,) segmentation class indices, ``cam`` (K, h, w) maps at the strided
    size (IRN's input), ``high_res`` (K, H, W) maps at the original size.
    Plain arrays (no pickle), compressed; every reader goes through
    :func:`~mmwsss.utils.map_file.load_map_file`, which also reads the
    uncompressed float32 files of earlier versions.

    Args:
        out_dir (str): Output folder; ``{work_dir}`` is replaced by the runner's
            work dir.
        dtype (str): Storage of the maps: 'uint8' (8 bits per value with a
            range per map: the max-normalised CAMs keep their 0 and 1 exactly,
            other values within 1/510; 1/15 of the float32 bytes of earlier
            versions at 160 x 160, 1/32 at 640 x 480, the seed mIoU within
            0.05: benchmarks/export_size.json), 'float16' or 'float32'.
            Default: 'uint8'.
    """

    def __init__(self, out_dir: str, dtype: str = 'uint8') -> None:
        if dtype not in MAP_DTYPES:
            raise ValueError(f'dtype must be one of {MAP_DTYPES}, got {dtype!r}')
        self.out_dir = out_dir
        self.dtype = dtype

    def prepare(self, work_dir: str) -> None:
        """Resolve the output folder, create it and drop stale partial files."""
        self.out_dir = self.out_dir.format(work_dir=work_dir)
        os.makedirs(self.out_dir, exist_ok=True)
        for stale in glob.glob(osp.join(self.out_dir, '*' + TMP_SUFFIX)):
            os.remove(stale)

    def path(self, metainfo: dict) -> str:
        return osp.join(self.out_dir, sample_stem(metainfo) + '.npz')

    def exists(self, metainfo: dict) -> bool:
        return osp.exists(self.path(metainfo))

    def _store(self, sample, key: str) -> np.ndarray:
        """The ``key`` maps of ``sample``, to be saved in ``self.dtype``.

        The sample's field is replaced by the maps as the file will read back
        (float32), so that a metric scores exactly what a resumed run loads
        from the file (the storage rounds the maps).
        """
        maps = sample.get(key).data.cpu().numpy()
        stored = torch.from_numpy(stored_maps(maps, self.dtype))
        sample.set_data({key: PixelData(data=stored)})
        return maps

    def save(self, sample) -> None:
        save_cam_file(
            self.path(sample.metainfo),
            sample.cam_keys.cpu().numpy(),
            self._store(sample, 'cams_strided'),
            self._store(sample, 'cams'),
            dtype=self.dtype,
        )

    def load(self, sample):
        """Fill ``cams``, ``cams_strided`` and ``cam_keys`` of ``sample`` from disk."""
        keys, maps = load_map_file(self.path(sample.metainfo), ('cam', 'high_res'))
        sample.set_data(
            dict(
                cams=PixelData(data=torch.from_numpy(maps['high_res'])),
                cams_strided=PixelData(data=torch.from_numpy(maps['cam'])),
            )
        )
        sample.set_field(torch.from_numpy(keys), 'cam_keys')
        return sample


def atomic_save_label_png(path: str, label: np.ndarray) -> None:
    """Write a ``(H, W)`` label map as a VOC palette PNG, atomically."""
    if label.ndim != 2:
        raise ValueError(f'a label map must be (H, W), got shape {label.shape}')
    if label.size and (label.min() < 0 or label.max() > 255):
        raise ValueError(
            f'label values must lie in 0..255 for a PNG, got {label.min()}..'
            f'{label.max()} for {path}'
        )
    image = Image.fromarray(label.astype(np.uint8), mode='P')
    image.putpalette([v for rgb in voc_palette() for v in rgb])
    tmp = path + TMP_SUFFIX
    with open(tmp, 'wb') as f:
        image.save(f, format='PNG')
    os.replace(tmp, path)


@EXPORTERS.register_module()
class LabelPNGExporter(CAMExporter):
    """Saves each image's ``pred_sem_seg`` as ``{out_dir}/{image stem}.png``.

    Pseudo masks are ordinary mmseg label PNGs (VOC palette, class index per
    pixel, 255 = unsure), so a segmentation dataset reads them with
    ``seg_map_path`` pointing at ``out_dir``.

    Args:
        out_dir (str): Output folder; ``{work_dir}`` is replaced by the runner's
            work dir.
    """

    def __init__(self, out_dir: str) -> None:
        super().__init__(out_dir)

    def path(self, metainfo: dict) -> str:
        return osp.join(self.out_dir, sample_stem(metainfo) + '.png')

    def save(self, sample) -> None:
        label = sample.pred_sem_seg.data.cpu().numpy()
        atomic_save_label_png(
            self.path(sample.metainfo), label.reshape(label.shape[-2:])
        )

    def load(self, sample):
        """Fill ``pred_sem_seg`` of ``sample`` from its PNG."""
        with Image.open(self.path(sample.metainfo)) as image:
            label = np.array(image, dtype=np.int64)
        sample.set_data(
            dict(pred_sem_seg=PixelData(data=torch.from_numpy(label)[None]))
        )
        return sample


@EXPORTERS.register_module()
class CompositeExporter:
    """Runs several exporters on every sample (e.g. pseudo masks + instances).

    A sample counts as exported only when every exporter has its file, so a
    resumed run recomputes an image whose outputs are incomplete.

    Args:
        exporters (list[dict]): Configs of the exporters.
    """

    def __init__(self, exporters: list[dict]) -> None:
        if not exporters:
            raise ValueError('CompositeExporter needs at least one exporter')
        self.exporters = [EXPORTERS.build(cfg) for cfg in exporters]

    @property
    def out_dir(self) -> str:
        return ', '.join(str(e.out_dir) for e in self.exporters)

    def prepare(self, work_dir: str) -> None:
        for exporter in self.exporters:
            exporter.prepare(work_dir)

    def exists(self, metainfo: dict) -> bool:
        return all(e.exists(metainfo) for e in self.exporters)

    def save(self, sample) -> None:
        for exporter in self.exporters:
            exporter.save(sample)

    def load(self, sample):
        for exporter in self.exporters:
            sample = exporter.load(sample)
        return sample


@EXPORTERS.register_module()
class ScoreMapExporter(CAMExporter):
    """Saves a per-class score map of each image (e.g. IRN's ``walk_scores``).

    ``{out_dir}/{image stem}.npz`` (:mod:`mmwsss.utils.map_file`) holds
    ``keys`` (the sample's ``cam_keys``) and ``scores`` (K, H, W); ``load``
    restores both, so a metric that sweeps the background score
    (``SeedIoUMetric(cam_key=key)``) also scores a resumed export.

    Args:
        out_dir (str): Output folder; ``{work_dir}`` is replaced by the runner's
            work dir.
        key (str): Data-sample field of the maps. Default: 'walk_scores'.
        dtype (str): Storage: 'uint8', 'float16' or 'float32' (see
            :class:`CAMExporter`). Default: 'float16' (scores in [0, 1], as
            before the compact format; compressed now).
    """

    def __init__(
        self, out_dir: str, key: str = 'walk_scores', dtype: str = 'float16'
    ) -> None:
        super().__init__(out_dir, dtype=dtype)
        self.key = key

    def save(self, sample) -> None:
        save_map_file(
            self.path(sample.metainfo),
            sample.cam_keys.cpu().numpy(),
            self.dtype,
            scores=self._store(sample, self.key),
        )

    def load(self, sample):
        keys, maps = load_map_file(self.path(sample.metainfo), ('scores',))
        sample.set_data({self.key: PixelData(data=torch.from_numpy(maps['scores']))})
        sample.set_field(torch.from_numpy(keys), 'cam_keys')
        return sample
