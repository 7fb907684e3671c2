"""Class prototypes of PtReCl (prototype reclassification after IRN).

PtReCl (IEEE TIP) describes every class by K foreground and K background
prototypes: cosine K-means centres of the recovery net's features of the pixels
the pseudo masks give the class (foreground) and of the other pixels of the
images that contain it (background). The feature sets grow with the dataset;
here each (class, fg / bg) set is a fixed-size uniform sample of its stream of
pixels (reservoir sampling, Vitter's Algorithm R), so memory stays bounded
whatever the number of images, and samples taken on several ranks merge into
one uniform sample of the union (:meth:`Reservoir.merge`). Each prototype keeps
the size of its cluster (rows of the sample it gathers: an estimate of its share
of the class's pixels), the weight of its vote in
:func:`~mmwsss.ops.reclassify.prototype_votes`.

The pixels live on the feature grid: :func:`mask_to_grid` gives each grid cell
the class that covers most of it, and :func:`pixel_features` picks (or stacks,
as SIPE stacks its stages) the backbone levels compared.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F

#: Rules of :func:`mask_to_grid`.
GRID_RULES = ('majority', 'nearest')


def mask_to_grid(
    mask: torch.Tensor,
    size: Sequence[int],
    rule: str = 'majority',
    ignore_index: int = 255,
) -> torch.Tensor:
    """A pixel mask cut to the feature grid, one label per cell.

    Cell ``(i, j)`` of an ``(h, w)`` grid over an ``(H, W)`` mask covers rows
    ``floor(i H / h)`` to ``ceil((i + 1) H / h) - 1`` (columns alike; the
    bins of adaptive average pooling, whose centres are where a bilinear
    upsampling with ``align_corners=False`` puts the cell's value back).

    Args:
        mask (Tensor): ``(H, W)`` integer labels.
        size (Sequence[int]): ``(h, w)`` of the grid.
        rule (str): 'majority': the label covering more than half of the cell
            (a mixed cell, e.g. on an outline, and a cell mostly
            ``ignore_index`` get ``ignore_index``); 'nearest': the pixel
            ``F.interpolate(mode='nearest')`` picks, the cell's top-left pixel
            when ``H`` is a multiple of ``h`` (for comparison only: it ignores
            the rest of the cell). Default: 'majority'.
        ignore_index (int): Label of unlabelled pixels and left-out cells.
            Default: 255.

    Returns:
        Tensor: ``(h, w)`` long labels.
    """
    if rule not in GRID_RULES:
        raise ValueError(f'rule must be one of {GRID_RULES}, got {rule!r}')
    if mask.dim() != 2:
        raise ValueError(f'mask must be (H, W), got {tuple(mask.shape)}')
    size = tuple(int(v) for v in size)
    if rule == 'nearest':
        return F.interpolate(mask[None, None].float(), size=size, mode='nearest')[
            0, 0
        ].long()
    values = torch.unique(mask)  # the labels present, ignore_index included
    onehot = (mask[None] == values[:, None, None]).float()  # [V, H, W]
    shares = F.adaptive_avg_pool2d(onehot[None], size)[0]  # [V, h, w]
    best_share, best = shares.max(dim=0)
    grid = values.long()[best]
    grid[best_share <= 0.5] = ignore_index
    return grid


def pixel_features(
    levels: Sequence[torch.Tensor], in_index: int | Sequence[int]
) -> torch.Tensor:
    """The features the prototypes describe, from a backbone's outputs.

    Args:
        levels (Sequence[Tensor]): The backbone's ``(N, D_l, h_l, w_l)`` outputs.
        in_index (int | Sequence[int]): One output (as it is), or several:
            SIPE's hierarchical feature, each level L2-normalised per pixel,
            resized (bilinear) to the grid of the coarsest of them and
            concatenated, so that every level weighs alike in the cosine
            similarity.

    Returns:
        Tensor: ``(N, D, h, w)`` float features.
    """
    if isinstance(in_index, int):
        return levels[in_index].float()
    chosen = [levels[i].float() for i in in_index]
    if not chosen:
        raise ValueError('in_index names no backbone output')
    size = min((tuple(f.shape[-2:]) for f in chosen), key=lambda s: s[0] * s[1])
    parts = []
    for feat in chosen:
        feat = F.normalize(feat, dim=1)
        if tuple(feat.shape[-2:]) != size:
            feat = F.interpolate(feat, size=size, mode='bilinear', align_corners=False)
        parts.append(feat)
    return torch.cat(parts, dim=1)


class Reservoir:
    """A uniform random sample of at most ``capacity`` rows of a stream.

    After ``add`` has seen ``count`` rows in total, :attr:`samples` holds
    ``min(count, capacity)`` of them, each subset of that size equally likely
    (Algorithm R: the ``t``-th row, 0-based, replaces a random slot with
    probability ``capacity / (t + 1)``). Memory: ``capacity x dim`` values,
    allocated on the first row.

    Args:
        capacity (int): Rows kept at most.
        seed (int): Seed of the replacement draws. Default: 0.
        dtype (str): Storage dtype. Default: 'float32'.
    """

    def __init__(self, capacity: int, seed: int = 0, dtype: str = 'float32') -> None:
        if capacity < 1:
            raise ValueError(f'capacity must be positive, got {capacity}')
        self.capacity = int(capacity)
        self.dtype = np.dtype(dtype)
        self.rng = np.random.default_rng(seed)
        self.data: np.ndarray | None = None
        self.count = 0

    @property
    def samples(self) -> np.ndarray:
        """The sample, ``(min(count, capacity), dim)``."""
        if self.data is None:
            return np.empty((0, 0), self.dtype)
        return self.data[: min(self.count, self.capacity)]

    @property
    def nbytes(self) -> int:
        return 0 if self.data is None else self.data.nbytes

    def add(self, rows: np.ndarray) -> None:
        """Offer ``rows`` (n, dim) to the sample, in order."""
        rows = np.asarray(rows)
        if rows.ndim != 2:
            raise ValueError(f'rows must be (n, dim), got shape {rows.shape}')
        n = len(rows)
        if n == 0:
            return
        if self.data is None:
            self.data = np.empty((self.capacity, rows.shape[1]), self.dtype)
        elif rows.shape[1] != self.data.shape[1]:
            raise ValueError(
                f'rows of dim {rows.shape[1]} offered to a reservoir of dim '
                f'{self.data.shape[1]}'
            )
        fill = min(max(self.capacity - self.count, 0), n)
        if fill:
            self.data[self.count : self.count + fill] = rows[:fill]
        rest = rows[fill:]
        if len(rest):
            position = self.count + fill + np.arange(len(rest))  # 0-based in stream
            slots = self.rng.integers(0, position + 1)  # uniform in 0..position
            kept = slots < self.capacity
            slots, rest = slots[kept], rest[kept]
            # rows drawn for the same slot: the later one replaces the earlier
            _, last_reversed = np.unique(slots[::-1], return_index=True)
            last = len(slots) - 1 - last_reversed
            self.data[slots[last]] = rest[last]
        self.count += n

    def state(self) -> dict:
        """Picklable content (for gathering across ranks)."""
        return dict(samples=self.samples.copy(), count=self.count)

    @classmethod
    def merge(
        cls, states: list[dict], capacity: int, seed: int = 0, dtype: str = 'float32'
    ) -> Reservoir:
        """One uniform sample of the union of the streams behind ``states``.

        Each state is a uniform sample of its stream; the merged sample takes
        ``m_k`` rows of state ``k``, the ``m_k`` drawn from the multivariate
        hypergeometric distribution of ``capacity`` draws among the streams'
        counts, then a uniform ``m_k``-subset of the state's rows.
        """
        out = cls(capacity, seed=seed, dtype=dtype)
        states = [s for s in states if s['count'] > 0]
        if not states:
            return out
        counts = np.array([s['count'] for s in states], dtype=np.int64)
        total = int(counts.sum())
        if total <= capacity:  # every stream is complete in its state
            parts = [np.asarray(s['samples']) for s in states]
        else:
            take = out.rng.multivariate_hypergeometric(counts, capacity)
            parts = []
            for state, m in zip(states, take):
                samples = np.asarray(state['samples'])
                if m > len(samples):
                    raise ValueError(
                        f'a state of count {state["count"]} holds {len(samples)} '
                        f'rows, fewer than the {m} the merge needs: was it made '
                        f'with a capacity below {capacity}?'
                    )
                parts.append(samples[out.rng.choice(len(samples), m, replace=False)])
        merged = np.concatenate(parts)
        out.data = np.empty((capacity, merged.shape[1]), out.dtype)
        out.data[: len(merged)] = merged
        out.count = total
        return out


def l2_normalize(x: np.ndarray, axis: int = -1, eps: float = 1e-12) -> np.ndarray:
    """``x`` divided by its L2 norm along ``axis`` (zero rows stay zero)."""
    x = np.asarray(x, dtype=np.float32)
    return x / np.maximum(np.linalg.norm(x, axis=axis, keepdims=True), eps)


def _plus_plus_seeds(x: np.ndarray, k: int, rng) -> np.ndarray:
    """k-means++ seeding on unit rows, cosine distance ``1 - cos``."""
    centres = [x[rng.integers(len(x))]]
    nearest = 1 - x @ centres[0]
    for _ in range(1, k):
        weight = np.clip(nearest, 0, None)
        total = weight.sum()
        pick = (
            rng.choice(len(x), p=weight / total) if total > 0 else rng.integers(len(x))
        )
        centres.append(x[pick])
        nearest = np.minimum(nearest, 1 - x @ x[pick])
    return np.stack(centres)


def cosine_kmeans(
    features: np.ndarray, k: int, seed: int = 0, n_init: int = 4, max_iter: int = 100
) -> tuple[np.ndarray, np.ndarray]:
    """K unit-norm cluster centres of ``features`` (n, dim) by cosine distance.

    Spherical k-means: rows L2-normalised, each assigned to the centre of
    highest cosine similarity, each centre the normalised sum of its rows
    (k-means++ seeding on ``1 - cos``; ``n_init`` seeded restarts, the one of
    highest total similarity kept; an emptied cluster restarts at the row
    farthest from its centre). All-zero rows (e.g. a rectified feature that is
    off everywhere) have no direction and are left out. Fewer distinct
    directions than ``k``: one centre per direction.

    Returns:
        tuple: ``(centres, sizes)``: ``(k', dim)`` float32 unit vectors and
        ``(k',)`` int64 non-zero rows of ``features`` in each cluster (at the
        final assignment), ``k' <= k``.
    """
    x = l2_normalize(features)
    dim = x.shape[1] if x.ndim == 2 else 0
    x = x[np.abs(x).sum(axis=1) > 0] if len(x) else x
    if len(x) == 0:
        return np.empty((0, dim), np.float32), np.empty(0, np.int64)
    distinct, counts = np.unique(x, axis=0, return_counts=True)
    if len(distinct) <= k:
        return l2_normalize(distinct), counts.astype(np.int64)
    rng = np.random.default_rng(seed)
    best = None
    for _ in range(n_init):
        centres = _plus_plus_seeds(x, k, rng)
        assign = None
        for _ in range(max_iter):
            similarity = x @ centres.T  # [n, k]
            new_assign = similarity.argmax(axis=1)
            if assign is not None and np.array_equal(new_assign, assign):
                break
            assign = new_assign
            members = np.zeros((k, len(x)), x.dtype)
            members[assign, np.arange(len(x))] = 1
            sums = members @ x  # [k, dim]
            sizes = members.sum(axis=1)
            own = similarity[np.arange(len(x)), assign]
            for empty in np.flatnonzero(sizes == 0):
                far = int(own.argmin())
                sums[empty] = x[far]
                own[far] = np.inf
            centres = l2_normalize(sums)
        similarity = x @ centres.T
        assign = similarity.argmax(axis=1)
        score = float(similarity.max(axis=1).sum())
        if best is None or score > best[0]:
            best = (score, centres, np.bincount(assign, minlength=k))
    _, centres, sizes = best
    return centres.astype(np.float32), sizes.astype(np.int64)


def split_class_pixels(
    features: np.ndarray, mask: np.ndarray, classes, ignore_index: int = 255
) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """Foreground and background feature rows of each class of an image.

    Args:
        features (np.ndarray): ``(D, h, w)`` features.
        mask (np.ndarray): ``(h, w)`` pseudo mask on the feature grid.
        classes: The image's foreground classes (segmentation indices).
        ignore_index (int): Mask value of unlabelled pixels (in neither set).

    Returns:
        dict: ``{class: (fg rows (n_fg, D), bg rows (n_bg, D))}``: pixels the
        mask gives the class, and the image's other labelled pixels.
    """
    if features.ndim != 3 or features.shape[1:] != mask.shape:
        raise ValueError(
            f'features (D, h, w) {features.shape} and mask (h, w) {mask.shape} '
            'must share the grid'
        )
    rows = features.reshape(features.shape[0], -1).T
    flat = mask.reshape(-1)
    labelled = flat != ignore_index
    return {int(c): (rows[flat == c], rows[labelled & (flat != c)]) for c in classes}


class PrototypeBank:
    """Bounded per-class foreground / background feature samples.

    One :class:`Reservoir` per (class, fg / bg), filled image by image with
    :meth:`add_image`; :meth:`merge` joins the banks of several ranks;
    :meth:`prototypes` clusters each sample with :func:`cosine_kmeans`.

    Args:
        num_classes (int): Segmentation classes, background (0) included.
        capacity (int): Feature rows kept per (class, fg / bg).
        seed (int): Seed of the sampling (distinct per rank) and clustering.
    """

    KINDS = ('fg', 'bg')

    def __init__(self, num_classes: int, capacity: int, seed: int = 0) -> None:
        self.num_classes = int(num_classes)
        self.capacity = int(capacity)
        self.seed = int(seed)
        self.reservoirs = {
            (c, kind): Reservoir(capacity, seed=seed * 1000 + 2 * c + i)
            for c in range(1, num_classes)
            for i, kind in enumerate(self.KINDS)
        }

    @property
    def nbytes(self) -> int:
        return sum(r.nbytes for r in self.reservoirs.values())

    def add_image(self, features, mask, classes, ignore_index: int = 255) -> None:
        for c, (fg, bg) in split_class_pixels(
            features, mask, classes, ignore_index
        ).items():
            if not 1 <= c < self.num_classes:
                raise ValueError(f'class {c} outside 1..{self.num_classes - 1}')
            self.reservoirs[(c, 'fg')].add(fg)
            self.reservoirs[(c, 'bg')].add(bg)

    def state(self) -> dict:
        return {key: r.state() for key, r in self.reservoirs.items()}

    @classmethod
    def merge(
        cls, states: list[dict], num_classes: int, capacity: int, seed: int = 0
    ) -> PrototypeBank:
        bank = cls(num_classes, capacity, seed)
        for key in bank.reservoirs:
            bank.reservoirs[key] = Reservoir.merge(
                [s[key] for s in states], capacity, seed=seed * 1000 + key[0]
            )
        return bank

    def prototypes(self, k: int) -> dict[str, np.ndarray]:
        """K foreground and K background prototypes per class.

        Returns:
            dict: ``fg`` / ``bg`` ``(C, K, D)`` float32 (row 0, background,
            and rows past a class's count are zeros), ``fg_sizes`` /
            ``bg_sizes`` ``(C, K)`` rows of the class's sample in each
            prototype's cluster (0 past the count), ``fg_counts`` /
            ``bg_counts`` ``(C,)`` prototypes per class, ``fg_pixels`` /
            ``bg_pixels`` ``(C,)`` pixels seen per class.
        """
        dims = {r.data.shape[1] for r in self.reservoirs.values() if r.data is not None}
        if not dims:
            raise ValueError('no feature was sampled: are the pseudo masks empty?')
        (dim,) = dims
        out = {}
        for kind in self.KINDS:
            centres = np.zeros((self.num_classes, k, dim), np.float32)
            sizes = np.zeros((self.num_classes, k), np.int64)
            counts = np.zeros(self.num_classes, np.int64)
            pixels = np.zeros(self.num_classes, np.int64)
            for c in range(1, self.num_classes):
                reservoir = self.reservoirs[(c, kind)]
                if reservoir.count:
                    found, members = cosine_kmeans(reservoir.samples, k, seed=self.seed)
                    centres[c, : len(found)] = found
                    sizes[c, : len(found)] = members
                    counts[c] = len(found)
                pixels[c] = reservoir.count
            out[kind] = centres
            out[f'{kind}_sizes'] = sizes
            out[f'{kind}_counts'] = counts
            out[f'{kind}_pixels'] = pixels
        return out
