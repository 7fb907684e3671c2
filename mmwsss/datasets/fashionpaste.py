"""FashionPaste: a small real-image benchmark in the PASCAL VOC layout.

Generator 1.0 (presets ``tiny``, ``demo``, ``bench``): every image is a random
crop of a real photograph or texture bundled with scikit-image or scikit-learn,
with one to three Fashion-MNIST product photos (scaled, flipped, tinted) pasted
on it. Later items may occlude earlier ones; every pasted item keeps a visible
part, so the image-level labels always agree with the masks.

Generator 2.0 (presets ``tiny-v2``, ``demo-v2``, ``bench-v2``) moves the data
toward PASCAL VOC's regime (Everingham et al., "The PASCAL Visual Object
Classes Challenge: A Retrospective", IJCV 2015): 320 px scene photos whose
feature grid is 20x20 cells at output stride 16, unlabelled distractors cut
from photos, 1 to 4 larger items (a median object about 9 cells across) with
photo texture inside and stretches of outline that match the background, and
about 1.5 classes per image (see :func:`compose_scene`). Its settings were fixed
from data statistics alone (``mmwsss.evaluation.data_stats``), before any
method ran on it. The generator writes::

    {out_dir}/JPEGImages/{id}.jpg
    {out_dir}/SegmentationClass/{id}.png       palette PNG, 0 = bg, 1..10
    {out_dir}/SegmentationObject/{id}.png      palette PNG, 1..n in paste order
    {out_dir}/ImageSets/Segmentation/{train,val}.txt
    {out_dir}/cls_labels.json                  {id: [class indices]}
    {out_dir}/annotations/instances_{train,val}.json   COCO, RLE masks
    {out_dir}/fashionpaste.json                manifest (settings, counts)
    {out_dir}/scenes.json                      2.0 only: background, distractors

The output is a pure function of ``(size, seed, source)`` and of the installed
background images: each image draws from its own ``numpy.random.Generator``
seeded with ``(seed, split, index)``, and no file stores a timestamp.

Items of the ``train`` split come from Fashion-MNIST's train split, items of the
``val`` split from its test split. Fashion-MNIST (MIT licence, Copyright (c)
2017 Zalando SE) is read from Debian's ``dataset-fashion-mnist`` package when
it is installed, else from the subset shipped in ``mmwsss/datasets/data``.
"""

from __future__ import annotations

import colorsys
import functools
import gzip
import importlib.util
import json
import os
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw
from scipy import ndimage as ndi

from .palette import voc_palette

FASHIONPASTE_VERSION = '1.0'

FASHIONPASTE_CLASSES = (
    'background',
    't-shirt',
    'trouser',
    'pullover',
    'dress',
    'coat',
    'sandal',
    'shirt',
    'sneaker',
    'bag',
    'ankle-boot',
)


FASHIONPASTE_PALETTE = voc_palette(len(FASHIONPASTE_CLASSES))

# Presets. ``scale_range`` scales the 28x28 items; ``min_visible_pixels`` is the
# smallest visible mask an item may keep after later items occlude it.
SIZES: dict[str, dict] = {
    'tiny': dict(
        num_train=8,
        num_val=4,
        image_size=64,
        scale_range=(1.0, 2.0),
        min_visible_pixels=40,
    ),
    'demo': dict(
        num_train=200,
        num_val=100,
        image_size=160,
        scale_range=(2.0, 4.0),
        min_visible_pixels=40,
    ),
    'bench': dict(
        num_train=2000,
        num_val=500,
        image_size=160,
        scale_range=(2.0, 4.0),
        min_visible_pixels=40,
    ),
}

# Generator 2.0 ("FashionPaste v2"): scenes nearer PASCAL VOC's data regime.
# These settings were fixed from data statistics alone (benchmarks/
# data_stats.json, tools/analysis_tools/data_stats.py) before any method ran on
# the set; a later change is a new generator version, noted with its reason.
# Sizes are shares of the image side, so a preset may change ``image_size``
# (e.g. 320 px for output stride 16, or 160 px for stride 8: both 20x20 cells)
# and keep the objects' size in feature cells. ``stride`` is the output stride
# the preset is meant for (recorded; data statistics report cells at it).
SCENE_V2: dict = dict(
    # number of items: P(1), P(2), P(3), P(4)
    item_count_probs=(0.3, 0.3, 0.22, 0.18),
    # each further item repeats a class already in the image with this chance
    same_class_prob=0.5,
    # item side (its 28x28 frame) as a share of the image side, log-uniform,
    # divided by (number of items) ** item_size_shrink
    item_size=(0.4, 0.85),
    item_size_shrink=0.25,
    # smallest visible mask of an item, as a share of the image's pixels
    min_visible_share=0.004,
    # texture: a photo patch mixed into the item colour with this weight,
    # then shaded by the item's own intensity
    texture_weight=(0.5, 0.9),
    # photo patch side (item textures, distractor material) as a share of the
    # photo's shorter side
    texture_scale=(0.25, 0.6),
    # share of items whose local mean colour is pulled toward the local
    # background's over part of the item (a ramp across it), by up to
    # low_contrast_strength
    low_contrast_prob=0.8,
    low_contrast_strength=(0.7, 1.0),
    # every item's local mean colour moves toward the background's by this
    # share (uniform in the range)
    base_pull=(0.1, 0.5),
    # Gaussian sigma (share of the image side) of the local mean colours
    low_contrast_sigma=0.03,
    # distractors: P(0), P(1), P(2), P(3) per image
    distractor_count_probs=(0.25, 0.4, 0.25, 0.1),
    # distractor side as a share of the image side, log-uniform
    distractor_size=(0.2, 0.6),
    # chance that a distractor is tinted like an item (else its photo colours)
    distractor_tint_prob=0.5,
    # background crops: share of the photo's shorter side
    crop_scale=(0.6, 1.0),
)

# 320 px at output stride 16: a 20x20 grid, every downstream config stays at
# stride 16, and objects have VOC's pixel size (median about 140 px; VOC about
# 136 px), so pixel-scale settings (CRF kernels, IRN's radius at stride 4) act
# as on VOC. Cost on 2 CPU cores: a CAM training step (batch 16) about 6x the
# 160 px / stride 16 one (stride 8 at 160 px: about 4x, at 224 px: 12x or more),
# a dense CRF about 4x. 1500 training images (VOC 2012's segmentation train split
# has 1464) keep the CAM -> IRN -> DeepLabV2 chain near 2 hours.
SIZES_V2: dict[str, dict] = {
    'tiny-v2': dict(num_train=8, num_val=4, image_size=320, stride=16, **SCENE_V2),
    'demo-v2': dict(num_train=200, num_val=100, image_size=320, stride=16, **SCENE_V2),
    'bench-v2': dict(
        num_train=1500, num_val=500, image_size=320, stride=16, **SCENE_V2
    ),
}
FASHIONPASTE_VERSION_V2 = '2.0'
#: Every preset: generator 1.0 (:data:`SIZES`) and 2.0 (:data:`SIZES_V2`).
PRESETS: dict[str, dict] = {**SIZES, **SIZES_V2}

SOURCES = ('auto', 'debian', 'subset')
SPLITS = ('train', 'val')
# FashionPaste split -> Fashion-MNIST split the items come from.
ITEM_SPLIT = {'train': 'train', 'val': 'test'}
_SPLIT_CODE = {'train': 0, 'val': 1}

MANIFEST_NAME = 'fashionpaste.json'
# Generator 2.0 only: per image its background photo, distractor boxes and the
# number of items with a low-contrast stretch of outline.
SCENES_NAME = 'scenes.json'
DEBIAN_FASHION_MNIST_DIR = Path('/usr/share/datasets/fashion-mnist')
_DEBIAN_PREFIX = {'train': 'train', 'test': 't10k'}
SUBSET_PATH = Path(__file__).parent / 'data' / 'fashion_mnist_subset.npz'

# Real photographs and textures shipped inside the scikit-image wheel (only the
# files present locally are used; nothing is downloaded) and scikit-learn's
# sample images. Synthetic test patterns are left out on purpose.
SKIMAGE_BACKGROUNDS = (
    'astronaut.png',
    'brick.png',
    'camera.png',
    'cell.png',
    'chelsea.png',
    'clock_motion.png',
    'coffee.png',
    'coins.png',
    'grass.png',
    'gravel.png',
    'hubble_deep_field.jpg',
    'ihc.png',
    'moon.png',
    'motorcycle_left.png',
    'page.png',
    'retina.jpg',
    'rocket.jpg',
    'text.png',
)
SKLEARN_BACKGROUNDS = ('china.jpg', 'flower.jpg')
# Generator 2.0 draws its backgrounds from the scenes among them (photos of
# things in a place, not flat textures; clock_motion is left out too: its motion
# blur leaves nearly no edge but the items'); every photo above serves as
# material for item textures and distractors.
SCENE_BACKGROUNDS = (
    'skimage/astronaut.png',
    'skimage/camera.png',
    'skimage/chelsea.png',
    'skimage/coffee.png',
    'skimage/coins.png',
    'skimage/motorcycle_left.png',
    'skimage/rocket.jpg',
    'sklearn/china.jpg',
    'sklearn/flower.jpg',
)

MAX_ITEMS = 3
ITEM_SIZE = 28
# Resized item intensity (0..255) above which a pixel belongs to the object.
MASK_THRESHOLD = 48
# Alpha ramps linearly with the intensity from 0 at ALPHA_LOW to 1 at
# ALPHA_HIGH; at MASK_THRESHOLD it is 0.5, so every mask pixel is at least half
# item colour and faint item pixels outside the mask stay faint.
ALPHA_LOW = 16
ALPHA_HIGH = 80
# Items are stretched so that their 99th intensity percentile becomes 255.
NORM_PERCENTILE = 99
# Intensity above which a pixel counts as part of the item's silhouette; an item
# whose mask covers less than MIN_SOLID_FRACTION of it (a faint, ghostly item
# that would look different from its mask) is re-drawn.
SILHOUETTE_THRESHOLD = 8
MIN_SOLID_FRACTION = 0.6
# An item must keep this share of its own mask visible (and at least
# ``min_visible_pixels``), else it is re-drawn.
MIN_VISIBLE_FRACTION = 0.3
MAX_DRAWS = 30
# Background crops take this share (range) of the photo's shorter side.
CROP_SCALE_RANGE = (0.3, 1.0)
JPEG_QUALITY = 95


# --------------------------------------------------------------------------
# Fashion-MNIST
# --------------------------------------------------------------------------
def read_fashion_mnist_idx(path: str | Path) -> np.ndarray:
    """Read a gzipped IDX file of unsigned bytes (the MNIST file format).

    Args:
        path (str | Path): ``*-ubyte.gz`` file.

    Returns:
        np.ndarray: uint8 array, e.g. (N, 28, 28) images or (N,) labels.
    """
    with gzip.open(path, 'rb') as f:
        data = f.read()
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] != 0x08:
        raise ValueError(f'{path} is not an IDX file of unsigned bytes')
    ndim = data[3]
    header = 4 + 4 * ndim
    shape = tuple(int(v) for v in np.frombuffer(data[4:header], dtype='>u4'))
    expected = header + int(np.prod(shape))
    if len(data) != expected:
        raise ValueError(
            f'{path}: header says shape {shape} ({expected} bytes), '
            f'file has {len(data)} bytes'
        )
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(shape)


def _debian_files(item_split: str) -> tuple[Path, Path]:
    prefix = _DEBIAN_PREFIX[item_split]
    return (
        DEBIAN_FASHION_MNIST_DIR / f'{prefix}-images-idx3-ubyte.gz',
        DEBIAN_FASHION_MNIST_DIR / f'{prefix}-labels-idx1-ubyte.gz',
    )


def resolve_source(source: str = 'auto') -> str:
    """Turn ``source`` into the concrete source, ``'debian'`` or ``'subset'``.

    Args:
        source (str): ``'auto'`` (Debian's full set when installed, else the
            shipped subset), ``'debian'`` or ``'subset'``. Default: ``'auto'``.

    Returns:
        str: ``'debian'`` or ``'subset'``.
    """
    if source not in SOURCES:
        raise ValueError(f'source must be one of {SOURCES}, got {source!r}')
    debian_ok = all(p.is_file() for s in _DEBIAN_PREFIX for p in _debian_files(s))
    if source == 'auto':
        return 'debian' if debian_ok else 'subset'
    if source == 'debian' and not debian_ok:
        raise FileNotFoundError(
            f'Fashion-MNIST not found under {DEBIAN_FASHION_MNIST_DIR} '
            '(install it with `apt-get install dataset-fashion-mnist`) '
            "or use source='subset'"
        )
    if source == 'subset' and not SUBSET_PATH.is_file():
        raise FileNotFoundError(f'shipped Fashion-MNIST subset missing: {SUBSET_PATH}')
    return source


@functools.lru_cache(maxsize=4)
def _load_items(item_split: str, source: str) -> tuple[np.ndarray, np.ndarray]:
    if source == 'debian':
        img_path, label_path = _debian_files(item_split)
        images = read_fashion_mnist_idx(img_path)
        labels = read_fashion_mnist_idx(label_path)
    else:
        with np.load(SUBSET_PATH) as data:
            images = data[f'{item_split}_images']
            labels = data[f'{item_split}_labels']
    if images.shape[1:] != (ITEM_SIZE, ITEM_SIZE) or len(images) != len(labels):
        raise ValueError(
            f'Fashion-MNIST {item_split} ({source}): images {images.shape} '
            f'and labels {labels.shape} do not match'
        )
    if labels.max() >= len(FASHIONPASTE_CLASSES) - 1:
        raise ValueError(f'Fashion-MNIST {item_split} ({source}): label > 9 found')
    images = np.ascontiguousarray(images, dtype=np.uint8)
    labels = np.ascontiguousarray(labels, dtype=np.int64)
    images.flags.writeable = False
    labels.flags.writeable = False
    return images, labels


def load_fashion_mnist(
    split: str, source: str = 'auto'
) -> tuple[np.ndarray, np.ndarray]:
    """Load Fashion-MNIST items.

    Args:
        split (str): Fashion-MNIST split, ``'train'`` or ``'test'``.
        source (str): ``'auto'``, ``'debian'`` (the full set of Debian's
            ``dataset-fashion-mnist`` under
            ``/usr/share/datasets/fashion-mnist``) or ``'subset'`` (the
            subset shipped with mmwsss). Default: ``'auto'``.

    Returns:
        tuple[np.ndarray, np.ndarray]: Read-only uint8 images (N, 28, 28) and
        int64 labels (N,) in Fashion-MNIST's numbering 0..9 (add 1 for the
        FashionPaste class index).
    """
    if split not in _DEBIAN_PREFIX:
        raise ValueError(
            f"Fashion-MNIST split must be 'train' or 'test', got {split!r}"
        )
    return _load_items(split, resolve_source(source))


# --------------------------------------------------------------------------
# Backgrounds
# --------------------------------------------------------------------------
def _package_dir(name: str) -> Path | None:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0])


def find_background_files() -> list[tuple[str, Path]]:
    """Locate the bundled background photos that are present locally.

    Returns:
        list[tuple[str, Path]]: ``(name, path)`` pairs in a fixed order, names
        like ``'skimage/astronaut.png'``.
    """
    found = []
    for package, subdir, names in (
        ('skimage', 'data', SKIMAGE_BACKGROUNDS),
        ('sklearn', 'datasets/images', SKLEARN_BACKGROUNDS),
    ):
        root = _package_dir(package)
        if root is None:
            continue
        for name in names:
            path = root / subdir / name
            if path.is_file():
                found.append((f'{package}/{name}', path))
    return found


@functools.lru_cache(maxsize=1)
def load_backgrounds() -> tuple[tuple[str, Image.Image], ...]:
    """Load the background photos as RGB images (cached).

    Returns:
        tuple[tuple[str, Image.Image], ...]: ``(name, RGB image)`` pairs.
    """
    files = find_background_files()
    if not files:
        raise FileNotFoundError(
            'no background photos found: FashionPaste needs scikit-image '
            '(skimage/data) or scikit-learn (sklearn/datasets/images) installed'
        )
    backgrounds = []
    for name, path in files:
        with Image.open(path) as img:
            backgrounds.append((name, img.convert('RGB')))
    return tuple(backgrounds)


def crop_background(
    rng: np.random.Generator,
    photo: Image.Image,
    image_size: int,
    scale_range: tuple[float, float] = CROP_SCALE_RANGE,
) -> np.ndarray:
    """Random square crop (random scale, random flip) resized to the output.

    Args:
        rng (np.random.Generator): Random generator.
        photo (Image.Image): RGB photo.
        image_size (int): Output side length.
        scale_range (tuple[float, float]): Crop side as a share of the photo's
            shorter side. Default: :data:`CROP_SCALE_RANGE`.

    Returns:
        np.ndarray: float64 array (image_size, image_size, 3) in 0..255.
    """
    width, height = photo.size
    side = max(1, round(rng.uniform(*scale_range) * min(width, height)))
    x0 = int(rng.integers(0, width - side + 1))
    y0 = int(rng.integers(0, height - side + 1))
    crop = photo.resize(
        (image_size, image_size), Image.BILINEAR, box=(x0, y0, x0 + side, y0 + side)
    )
    out = np.asarray(crop, dtype=np.float64)
    if rng.random() < 0.5:
        out = out[:, ::-1]
    return out


# --------------------------------------------------------------------------
# Composition
# --------------------------------------------------------------------------
def _random_tint(rng: np.random.Generator) -> np.ndarray:
    hue = rng.random()
    saturation = rng.uniform(0.4, 1.0)
    value = rng.uniform(0.6, 1.0)
    return 255.0 * np.array(colorsys.hsv_to_rgb(hue, saturation, value))


def normalize_item(item: np.ndarray) -> np.ndarray:
    """Stretch an item's contrast so its 99th intensity percentile is 255.

    Args:
        item (np.ndarray): uint8 item (28, 28).

    Returns:
        np.ndarray: uint8 item (28, 28); never darker than the input.
    """
    ref = float(np.percentile(item, NORM_PERCENTILE))
    if ref >= 255.0 or ref <= 0.0:
        return item
    return np.clip(np.rint(item * (255.0 / ref)), 0, 255).astype(np.uint8)


def _try_place(
    item: np.ndarray,
    side: int,
    y: int,
    x: int,
    flip: bool,
    instances: np.ndarray,
    areas: list[int],
    min_visible: int,
) -> tuple[np.ndarray, np.ndarray, int] | None:
    """Paste ``item`` (resized to ``side``, flipped) as the next instance of
    ``instances`` at ``(y, x)``: ``(instances with it, its intensity, its
    area)``, or None when it is too thin or too small, or would hide too much
    of an earlier item (``areas``). Draws nothing from a generator."""
    inst_id = len(areas) + 1
    intensity = np.asarray(
        Image.fromarray(item).resize((side, side), Image.BILINEAR), dtype=np.float64
    )
    if flip:
        intensity = intensity[:, ::-1]
    mask = intensity > MASK_THRESHOLD
    area = int(mask.sum())
    silhouette = int(np.count_nonzero(intensity > SILHOUETTE_THRESHOLD))
    if area < min_visible or area < MIN_SOLID_FRACTION * silhouette:
        return None
    trial = instances.copy()
    trial[y : y + side, x : x + side][mask] = inst_id
    visible = np.bincount(trial.ravel(), minlength=inst_id + 1)
    if not all(
        visible[j + 1] >= max(min_visible, MIN_VISIBLE_FRACTION * a)
        for j, a in enumerate(areas)
    ):
        return None
    return trial, intensity, area


def compose_image(
    rng: np.random.Generator,
    backgrounds: Sequence[tuple[str, Image.Image]],
    items: np.ndarray,
    item_labels: np.ndarray,
    image_size: int,
    scale_range: tuple[float, float] = (2.0, 4.0),
    min_visible_pixels: int = 40,
    max_items: int = MAX_ITEMS,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Compose one image: a background crop with 1..max_items pasted items.

    Each item is contrast-stretched, scaled (bilinear), maybe flipped, tinted
    and alpha-blended with its intensity as alpha; its mask is the resized
    intensity above ``MASK_THRESHOLD``. An item is re-drawn (class, item,
    scale, position) when its mask is smaller than ``min_visible_pixels`` or
    than ``MIN_SOLID_FRACTION`` of its silhouette, or when its paste would
    leave an earlier item with less than ``MIN_VISIBLE_FRACTION`` of its mask
    or ``min_visible_pixels`` pixels visible. If no draw succeeds the image
    keeps the items placed so far (at least one).

    Args:
        rng (np.random.Generator): The image's random generator.
        backgrounds (Sequence[tuple[str, Image.Image]]): ``(name, RGB photo)``.
        items (np.ndarray): uint8 items (N, 28, 28).
        item_labels (np.ndarray): Fashion-MNIST labels (N,), 0..9.
        image_size (int): Output side length.
        scale_range (tuple[float, float]): Item scale range. Default: (2.0, 4.0).
        min_visible_pixels (int): Smallest visible mask per item. Default: 40.
        max_items (int): Most items per image. Default: 3.

    Returns:
        tuple[np.ndarray, np.ndarray, np.ndarray]: uint8 RGB image (H, W, 3),
        uint8 class mask (H, W) with 0 = background and 1..10, uint8 instance
        mask (H, W) with 0 = background and 1..n in paste order.
    """
    num_classes = len(FASHIONPASTE_CLASSES) - 1
    by_class = [np.flatnonzero(item_labels == c) for c in range(num_classes)]
    present = [c for c in range(num_classes) if len(by_class[c])]
    max_side = min(image_size, round(ITEM_SIZE * scale_range[1]))

    _, photo = backgrounds[int(rng.integers(len(backgrounds)))]
    canvas = crop_background(rng, photo, image_size)
    instances = np.zeros((image_size, image_size), dtype=np.uint8)
    pasted = []  # (class index, y, x, intensity, tint)
    areas = []
    num_items = int(rng.integers(1, max_items + 1))
    for _ in range(num_items):
        for _ in range(MAX_DRAWS):
            cls = present[int(rng.integers(len(present)))]
            item = normalize_item(
                items[by_class[cls][int(rng.integers(len(by_class[cls])))]]
            )
            side = min(max_side, round(ITEM_SIZE * rng.uniform(*scale_range)))
            y = int(rng.integers(0, image_size - side + 1))
            x = int(rng.integers(0, image_size - side + 1))
            flip = rng.random() < 0.5
            tint = _random_tint(rng)
            placed = _try_place(
                item, side, y, x, flip, instances, areas, min_visible_pixels
            )
            if placed is not None:
                instances, intensity, area = placed
                pasted.append((cls + 1, y, x, intensity, tint))
                areas.append(area)
                break
        else:
            if not pasted:
                raise RuntimeError(
                    f'could not place any item in {MAX_DRAWS} draws '
                    f'(image_size={image_size}, scale_range={scale_range})'
                )
            break

    for _, y, x, intensity, tint in pasted:
        side = intensity.shape[0]
        alpha = (intensity - ALPHA_LOW) / (ALPHA_HIGH - ALPHA_LOW)
        alpha = np.clip(alpha, 0.0, 1.0)[..., None]
        colour = tint * (0.35 + 0.65 * intensity / 255.0)[..., None]
        region = canvas[y : y + side, x : x + side]
        canvas[y : y + side, x : x + side] = alpha * colour + (1.0 - alpha) * region
    image = np.clip(np.rint(canvas), 0, 255).astype(np.uint8)
    lut = np.zeros(256, dtype=np.uint8)
    for inst_id, (cls, *_) in enumerate(pasted, start=1):
        lut[inst_id] = cls
    return image, lut[instances], instances


# --------------------------------------------------------------------------
# Composition, generator 2.0
# --------------------------------------------------------------------------
def _log_uniform(rng: np.random.Generator, low: float, high: float) -> float:
    return float(np.exp(rng.uniform(np.log(low), np.log(high))))


def _choice(rng: np.random.Generator, probs: Sequence[float]) -> int:
    """Index drawn with the given probabilities (normalised)."""
    cum = np.cumsum(probs)
    return int(np.searchsorted(cum, rng.random() * cum[-1], side='right'))


def photo_patch(
    rng: np.random.Generator,
    photo: Image.Image,
    side: int,
    scale_range: tuple[float, float],
) -> np.ndarray:
    """A random square region of a photo (random flip) resized to ``side``.

    Args:
        rng (np.random.Generator): Random generator.
        photo (Image.Image): RGB photo.
        side (int): Output side length.
        scale_range (tuple[float, float]): Region side as a share of the
            photo's shorter side.

    Returns:
        np.ndarray: float64 array (side, side, 3) in 0..255.
    """
    width, height = photo.size
    crop = max(1, round(rng.uniform(*scale_range) * min(width, height)))
    x0 = int(rng.integers(0, width - crop + 1))
    y0 = int(rng.integers(0, height - crop + 1))
    patch = photo.resize(
        (side, side), Image.BILINEAR, box=(x0, y0, x0 + crop, y0 + crop)
    )
    out = np.asarray(patch, dtype=np.float64)
    return out[:, ::-1] if rng.random() < 0.5 else out


def blob_alpha(rng: np.random.Generator, side: int) -> np.ndarray:
    """An irregular shape's alpha: a smooth blob or a polygon, anti-aliased.

    The outline is star-shaped around the centre: its radius over the angle is
    a random low-frequency Fourier series (blob) or a polygon with 3 to 8
    vertices at random angles and radii.

    Args:
        rng (np.random.Generator): Random generator.
        side (int): Side length of the square alpha map.

    Returns:
        np.ndarray: float64 alpha (side, side) in 0..1, the shape inscribed
        in the square.
    """
    if rng.random() < 0.5:
        angles = np.linspace(0.0, 2 * np.pi, 96, endpoint=False)
        radius = np.ones_like(angles)
        for k in range(2, 6):
            amp = rng.uniform(0.0, 0.5 / k)
            radius += amp * np.cos(k * angles + rng.uniform(0, 2 * np.pi))
    else:
        num = int(rng.integers(3, 9))
        angles = np.sort(rng.uniform(0.0, 2 * np.pi, num))
        radius = rng.uniform(0.55, 1.0, num)
    radius = radius / radius.max()
    # drawn at 4x and box-filtered: an edge as soft as an item's (a few px)
    big = 4 * side
    half = 0.5 * big - 2
    points = [
        (0.5 * big + half * r * np.cos(a), 0.5 * big + half * r * np.sin(a))
        for a, r in zip(angles, radius)
    ]
    canvas = Image.new('L', (big, big), 0)
    ImageDraw.Draw(canvas).polygon(points, fill=255)
    small = canvas.resize((side, side), Image.BOX)
    alpha = np.asarray(small, dtype=np.float64) / 255.0
    return ndi.gaussian_filter(alpha, sigma=max(0.5, side / 200))


def _pull_toward_background(
    rng: np.random.Generator,
    colour: np.ndarray,
    alpha: np.ndarray,
    region: np.ndarray,
    settings: dict,
    image_size: int,
) -> tuple[np.ndarray, bool]:
    """Move an object's local mean colour toward the background's under it: a
    little everywhere (``base_pull``) and, for a ``low_contrast_prob`` share of
    objects, strongly over part of it (a ramp across the object along a random
    direction up to ``low_contrast_strength``). The object's texture and
    shading stay; where the pull is strong its outline loses its contrast.

    Returns:
        tuple[np.ndarray, bool]: The colour and whether the ramp was applied.
    """
    side = colour.shape[0]
    pull = np.full((side, side, 1), rng.uniform(*settings['base_pull']))
    ramped = bool(rng.random() < settings['low_contrast_prob'])
    if ramped:
        strength = rng.uniform(*settings['low_contrast_strength'])
        theta = rng.uniform(0, 2 * np.pi)
        coords = np.linspace(-1.0, 1.0, side)
        proj = np.cos(theta) * coords[None, :] + np.sin(theta) * coords[:, None]
        start = rng.uniform(-0.6, 0.2)
        ramp = np.clip((proj - start) / 0.8, 0.0, 1.0)[..., None]
        pull = pull + (np.maximum(strength, pull) - pull) * ramp
    # local means: the background's under the object, the object's own over
    # its alpha
    sigma = (settings['low_contrast_sigma'] * image_size,) * 2 + (0,)
    weights = ndi.gaussian_filter(alpha, sigma)
    own = ndi.gaussian_filter(colour * alpha, sigma) / np.maximum(weights, 1e-3)
    shift = ndi.gaussian_filter(region, sigma) - own
    return colour + pull * shift, ramped


def _paste_distractor(
    rng: np.random.Generator,
    canvas: np.ndarray,
    backgrounds: Sequence[tuple[str, Image.Image]],
    settings: dict,
) -> list[int]:
    """Alpha-blend one distractor (a photo region in an irregular shape, maybe
    tinted as items are, its colour pulled toward the background as items'
    are) and return its square's box ``[x, y, w, h]``."""
    image_size = canvas.shape[0]
    side = round(_log_uniform(rng, *settings['distractor_size']) * image_size)
    side = max(8, min(image_size, side))
    _, photo = backgrounds[int(rng.integers(len(backgrounds)))]
    material = photo_patch(rng, photo, side, settings['texture_scale'])
    if rng.random() < settings['distractor_tint_prob']:
        luma = material.mean(axis=2, keepdims=True) / 255.0
        weight = rng.uniform(*settings['texture_weight'])
        tinted = _random_tint(rng) * (0.35 + 0.65 * luma)
        material = (1.0 - weight) * tinted + weight * material
    alpha = blob_alpha(rng, side)[..., None]
    y = int(rng.integers(0, image_size - side + 1))
    x = int(rng.integers(0, image_size - side + 1))
    region = canvas[y : y + side, x : x + side]
    material, _ = _pull_toward_background(
        rng, material, alpha, region, settings, image_size
    )
    canvas[y : y + side, x : x + side] = alpha * material + (1.0 - alpha) * region
    return [x, y, side, side]


def _item_colour(
    rng: np.random.Generator,
    intensity: np.ndarray,
    backgrounds: Sequence[tuple[str, Image.Image]],
    settings: dict,
) -> np.ndarray:
    """An item's colour: a tint mixed with a photo texture, shaded by the
    item's own intensity."""
    side = intensity.shape[0]
    _, photo = backgrounds[int(rng.integers(len(backgrounds)))]
    texture = photo_patch(rng, photo, side, settings['texture_scale'])
    weight = rng.uniform(*settings['texture_weight'])
    base = (1.0 - weight) * _random_tint(rng) + weight * texture
    return base * (0.35 + 0.65 * intensity / 255.0)[..., None]


def compose_scene(
    rng: np.random.Generator,
    backgrounds: Sequence[tuple[str, Image.Image]],
    items: np.ndarray,
    item_labels: np.ndarray,
    image_size: int,
    settings: dict,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict]:
    """Compose one generator-2.0 image.

    A scene photo crop gets 0..3 distractors (photo regions in irregular
    shapes, unlabelled), then 1..4 items: Fashion-MNIST photos scaled to a
    share of the image, coloured by a tint mixed with a photo texture and
    shaded by their own intensity, some pulled toward the local background
    colour over part of their area (a low-contrast stretch of outline). Items
    may repeat a class already present. Masks, alpha and the re-draw rules
    (visible share, solid silhouette) are those of :func:`compose_image`, with
    the smallest visible mask a share of the image.

    Args:
        rng (np.random.Generator): The image's random generator.
        backgrounds (Sequence[tuple[str, Image.Image]]): ``(name, RGB photo)``;
            backgrounds are drawn from those named in
            :data:`SCENE_BACKGROUNDS` (all, if none is), material for textures
            and distractors from all.
        items (np.ndarray): uint8 items (N, 28, 28).
        item_labels (np.ndarray): Fashion-MNIST labels (N,), 0..9.
        image_size (int): Output side length.
        settings (dict): Scene settings, the keys of :data:`SCENE_V2`.

    Returns:
        tuple: uint8 RGB image (H, W, 3), uint8 class mask (H, W) (0 = bg,
        1..10), uint8 instance mask (H, W) (1..n in paste order) and a dict:
        ``background`` (photo name), ``distractors`` (their squares' boxes
        ``[x, y, w, h]``), ``low_contrast_items`` (items with the strong pull
        over part of them).
    """
    num_classes = len(FASHIONPASTE_CLASSES) - 1
    by_class = [np.flatnonzero(item_labels == c) for c in range(num_classes)]
    present = [c for c in range(num_classes) if len(by_class[c])]
    scene_photos = [b for b in backgrounds if b[0] in SCENE_BACKGROUNDS]
    scene_photos = scene_photos or list(backgrounds)
    min_visible = settings['min_visible_share'] * image_size**2

    name, photo = scene_photos[int(rng.integers(len(scene_photos)))]
    canvas = crop_background(rng, photo, image_size, settings['crop_scale'])
    distractors = [
        _paste_distractor(rng, canvas, backgrounds, settings)
        for _ in range(_choice(rng, settings['distractor_count_probs']))
    ]

    num_items = 1 + _choice(rng, settings['item_count_probs'])
    shrink = num_items ** settings['item_size_shrink']
    instances = np.zeros((image_size, image_size), dtype=np.uint8)
    pasted = []  # (class index, y, x, intensity)
    areas = []
    for _ in range(num_items):
        for _ in range(MAX_DRAWS):
            classes_in = sorted({p[0] - 1 for p in pasted})
            if classes_in and rng.random() < settings['same_class_prob']:
                cls = classes_in[int(rng.integers(len(classes_in)))]
            else:
                cls = present[int(rng.integers(len(present)))]
            item = normalize_item(
                items[by_class[cls][int(rng.integers(len(by_class[cls])))]]
            )
            share = _log_uniform(rng, *settings['item_size']) / shrink
            side = max(ITEM_SIZE, min(image_size, round(share * image_size)))
            y = int(rng.integers(0, image_size - side + 1))
            x = int(rng.integers(0, image_size - side + 1))
            flip = rng.random() < 0.5
            placed = _try_place(item, side, y, x, flip, instances, areas, min_visible)
            if placed is not None:
                instances, intensity, area = placed
                pasted.append((cls + 1, y, x, intensity))
                areas.append(area)
                break
        else:
            if not pasted:
                raise RuntimeError(
                    f'could not place any item in {MAX_DRAWS} draws '
                    f'(image_size={image_size}, item_size={settings["item_size"]})'
                )
            break

    low_contrast = 0
    for _, y, x, intensity in pasted:
        side = intensity.shape[0]
        region = canvas[y : y + side, x : x + side]
        alpha = (intensity - ALPHA_LOW) / (ALPHA_HIGH - ALPHA_LOW)
        alpha = np.clip(alpha, 0.0, 1.0)[..., None]
        colour = _item_colour(rng, intensity, backgrounds, settings)
        colour, ramped = _pull_toward_background(
            rng, colour, alpha, region, settings, image_size
        )
        low_contrast += ramped
        canvas[y : y + side, x : x + side] = alpha * colour + (1.0 - alpha) * region
    image = np.clip(np.rint(canvas), 0, 255).astype(np.uint8)
    lut = np.zeros(256, dtype=np.uint8)
    for inst_id, (cls, *_) in enumerate(pasted, start=1):
        lut[inst_id] = cls
    info = dict(
        background=name, distractors=distractors, low_contrast_items=low_contrast
    )
    return image, lut[instances], instances, info


# --------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------
_PNG_PALETTE = [v for rgb in voc_palette(256) for v in rgb]


def save_palette_png(mask: np.ndarray, path: str | Path) -> None:
    """Save a uint8 index mask as a PNG with the VOC palette.

    Args:
        mask (np.ndarray): uint8 mask (H, W).
        path (str | Path): Output file.
    """
    img = Image.fromarray(np.ascontiguousarray(mask, dtype=np.uint8))
    img.putpalette(_PNG_PALETTE)
    img.save(path, format='PNG')


def _coco_annotations(
    instances: np.ndarray, classes: np.ndarray, image_id: int, first_id: int
) -> list[dict]:
    from pycocotools import mask as mask_utils

    anns = []
    for inst_id in range(1, int(instances.max()) + 1):
        mask = instances == inst_id
        if not mask.any():
            continue
        ys, xs = np.nonzero(mask)
        cats = np.unique(classes[mask])
        if len(cats) != 1:
            raise RuntimeError(f'instance {inst_id} covers classes {cats.tolist()}')
        rle = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
        x0, y0 = int(xs.min()), int(ys.min())
        anns.append(
            dict(
                id=first_id + len(anns),
                image_id=image_id,
                category_id=int(cats[0]),
                segmentation=dict(
                    size=[int(v) for v in rle['size']],
                    counts=rle['counts'].decode('ascii'),
                ),
                area=int(mask.sum()),
                bbox=[x0, y0, int(xs.max()) - x0 + 1, int(ys.max()) - y0 + 1],
                iscrowd=0,
            )
        )
    return anns


def _write_json(obj: object, path: Path, indent: int | None = None) -> None:
    path.write_text(json.dumps(obj, indent=indent) + '\n', encoding='utf-8')


def _manifest_v2(
    wanted: dict,
    source: str,
    preset: dict,
    counts: dict,
    num_instances: dict,
    backgrounds: Sequence[tuple[str, Image.Image]],
    scenes: dict,
) -> dict:
    """Manifest of a generator-2.0 set: every setting and the distractor
    counts per split (``scenes.json`` has them per image)."""
    names = [name for name, _ in backgrounds]
    distractors, with_distractors = {}, {}
    for split in SPLITS:
        per_image = [
            len(v['distractors'])
            for k, v in scenes.items()
            if k.startswith(f'fp_{split}_')
        ]
        distractors[split] = sum(per_image)
        with_distractors[split] = sum(n > 0 for n in per_image)
    return dict(
        name='FashionPaste',
        **wanted,
        source_requested=source,
        image_size=[preset['image_size'], preset['image_size']],
        stride=preset['stride'],
        counts=counts,
        num_instances=num_instances,
        num_distractors=distractors,
        images_with_distractors=with_distractors,
        scene={
            k: list(v) if isinstance(v, tuple) else v
            for k, v in preset.items()
            if k in SCENE_V2
        },
        item_rules=dict(
            max_items=len(preset['item_count_probs']),
            mask_threshold=MASK_THRESHOLD,
            alpha_ramp=[ALPHA_LOW, ALPHA_HIGH],
            norm_percentile=NORM_PERCENTILE,
            silhouette_threshold=SILHOUETTE_THRESHOLD,
            min_solid_fraction=MIN_SOLID_FRACTION,
            min_visible_fraction=MIN_VISIBLE_FRACTION,
            max_draws=MAX_DRAWS,
            jpeg_quality=JPEG_QUALITY,
        ),
        classes=list(FASHIONPASTE_CLASSES),
        palette=FASHIONPASTE_PALETTE,
        backgrounds=names,
        scene_backgrounds=[n for n in names if n in SCENE_BACKGROUNDS] or names,
        finished=True,
    )


def _settings(manifest: dict) -> dict:
    return {k: manifest.get(k) for k in ('version', 'size', 'seed', 'source')}


def _check_existing(out_dir: Path, wanted: dict, overwrite: bool) -> dict | None:
    """Return the finished manifest if ``out_dir`` already holds this dataset."""
    if not out_dir.exists():
        return None
    if not out_dir.is_dir():
        raise FileExistsError(f'{out_dir} exists and is not a folder')
    manifest_path = out_dir / MANIFEST_NAME
    reason = None
    if manifest_path.is_file():
        try:
            manifest = json.loads(manifest_path.read_text(encoding='utf-8'))
        except (OSError, ValueError) as e:
            reason = f'unreadable manifest {manifest_path} ({e})'
        else:
            if manifest.get('finished') is True and _settings(manifest) == wanted:
                return manifest
            reason = (
                f"its manifest {manifest_path} has settings {_settings(manifest)} "
                f"(finished={manifest.get('finished')}), wanted {wanted}"
            )
    elif any(out_dir.iterdir()):
        reason = f'it is not empty and has no {MANIFEST_NAME}'
    if reason is not None and not overwrite:
        raise FileExistsError(
            f'cannot generate FashionPaste into {out_dir}: {reason}. '
            'Choose another folder or pass overwrite=True to replace it.'
        )
    return None


def generate_fashionpaste(
    out_dir: str | Path,
    size: str = 'demo',
    seed: int = 0,
    source: str = 'auto',
    progress: bool = True,
    overwrite: bool = False,
) -> dict:
    """Generate the FashionPaste dataset into ``out_dir``.

    The files are written into a temporary folder next to ``out_dir`` that is
    renamed at the end, so ``out_dir`` holds either nothing or a finished
    dataset. If ``out_dir`` already holds a finished dataset with the same
    settings, nothing is done.

    Args:
        out_dir (str | Path): Dataset root to create.
        size (str): Preset from :data:`PRESETS`: generator 1.0's ``'tiny'``,
            ``'demo'`` or ``'bench'`` (:data:`SIZES`), or generator 2.0's
            ``'tiny-v2'``, ``'demo-v2'`` or ``'bench-v2'`` (:data:`SIZES_V2`,
            see :func:`compose_scene`; these also write ``scenes.json``).
            Default: ``'demo'``.
        seed (int): Non-negative seed. Default: 0.
        source (str): Fashion-MNIST source, ``'auto'``, ``'debian'`` or
            ``'subset'`` (see :func:`load_fashion_mnist`). Default: ``'auto'``.
        progress (bool): Show a tqdm progress bar. Default: True.
        overwrite (bool): Replace a different dataset or other content found
            in ``out_dir`` instead of raising. Default: False.

    Returns:
        dict: The manifest written to ``{out_dir}/fashionpaste.json``.
    """
    if size not in PRESETS:
        raise ValueError(f'size must be one of {tuple(PRESETS)}, got {size!r}')
    if not isinstance(seed, int | np.integer) or seed < 0:
        raise ValueError(f'seed must be a non-negative int, got {seed!r}')
    seed = int(seed)
    preset = PRESETS[size]
    scene = {k: preset[k] for k in SCENE_V2} if size in SIZES_V2 else None
    version = FASHIONPASTE_VERSION if scene is None else FASHIONPASTE_VERSION_V2
    resolved = resolve_source(source)
    out_dir = Path(out_dir).resolve()
    wanted = dict(version=version, size=size, seed=seed, source=resolved)
    existing = _check_existing(out_dir, wanted, overwrite)
    if existing is not None:
        return existing

    from tqdm import tqdm

    backgrounds = load_backgrounds()
    image_size = preset['image_size']
    counts = {'train': preset['num_train'], 'val': preset['num_val']}
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f'.{out_dir.name}.tmp-', dir=out_dir.parent))
    try:
        for sub in (
            'JPEGImages',
            'SegmentationClass',
            'SegmentationObject',
            'ImageSets/Segmentation',
            'annotations',
        ):
            (tmp / sub).mkdir(parents=True)
        cls_labels = {}
        num_instances = {}
        scenes = {}
        bar = tqdm(
            total=sum(counts.values()),
            desc=f'FashionPaste {size}',
            disable=not progress,
            unit='img',
        )
        for split in SPLITS:
            items, item_labels = load_fashion_mnist(ITEM_SPLIT[split], resolved)
            ids = []
            coco_images, coco_anns = [], []
            for index in range(counts[split]):
                img_id = f'fp_{split}_{index + 1:06d}'
                rng = np.random.default_rng([seed, _SPLIT_CODE[split], index])
                if scene is None:
                    image, classes, instances = compose_image(
                        rng,
                        backgrounds,
                        items,
                        item_labels,
                        image_size,
                        scale_range=preset['scale_range'],
                        min_visible_pixels=preset['min_visible_pixels'],
                    )
                else:
                    image, classes, instances, scenes[img_id] = compose_scene(
                        rng, backgrounds, items, item_labels, image_size, scene
                    )
                Image.fromarray(image).save(
                    tmp / 'JPEGImages' / f'{img_id}.jpg',
                    format='JPEG',
                    quality=JPEG_QUALITY,
                )
                save_palette_png(classes, tmp / 'SegmentationClass' / f'{img_id}.png')
                save_palette_png(
                    instances, tmp / 'SegmentationObject' / f'{img_id}.png'
                )
                labels = sorted(int(c) for c in np.unique(classes) if c != 0)
                cls_labels[img_id] = labels
                ids.append(img_id)
                coco_images.append(
                    dict(
                        id=index + 1,
                        file_name=f'{img_id}.jpg',
                        height=image_size,
                        width=image_size,
                    )
                )
                coco_anns.extend(
                    _coco_annotations(instances, classes, index + 1, len(coco_anns) + 1)
                )
                bar.update(1)
            (tmp / 'ImageSets/Segmentation' / f'{split}.txt').write_text(
                ''.join(f'{i}\n' for i in ids), encoding='utf-8'
            )
            coco = dict(
                info=dict(
                    description=f'FashionPaste {size} {split} (seed {seed})',
                    version=version,
                ),
                images=coco_images,
                annotations=coco_anns,
                categories=[
                    dict(id=i, name=name)
                    for i, name in enumerate(FASHIONPASTE_CLASSES)
                    if i > 0
                ],
            )
            _write_json(coco, tmp / 'annotations' / f'instances_{split}.json')
            num_instances[split] = len(coco_anns)
        bar.close()
        _write_json(cls_labels, tmp / 'cls_labels.json', indent=0)
        if scene is None:
            manifest = dict(
                name='FashionPaste',
                **wanted,
                source_requested=source,
                image_size=[image_size, image_size],
                counts=counts,
                num_instances=num_instances,
                scale_range=list(preset['scale_range']),
                classes=list(FASHIONPASTE_CLASSES),
                palette=FASHIONPASTE_PALETTE,
                backgrounds=[name for name, _ in backgrounds],
                finished=True,
            )
        else:
            _write_json(scenes, tmp / SCENES_NAME)
            manifest = _manifest_v2(
                wanted, source, preset, counts, num_instances, backgrounds, scenes
            )
        _write_json(manifest, tmp / MANIFEST_NAME, indent=2)
        if out_dir.exists():
            if out_dir.is_dir() and not any(out_dir.iterdir()):
                out_dir.rmdir()
            else:  # only reached with overwrite=True (checked above)
                shutil.rmtree(out_dir)
        os.replace(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return manifest
