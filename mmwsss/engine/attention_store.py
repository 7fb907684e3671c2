"""OAA's accumulated attention on disk: one file per image, fused by maximum.

:class:`~mmwsss.engine.hooks.OAAHook` keeps no map in memory: each rank reads
an image's maps, fuses the new attention and writes them back, so that the
memory of a run does not grow with the dataset (COCO's 82,783 images hold
about 9 GB of float16 maps at stride 4). Layout of the store's folder:

- ``maps/{id}.npz``: the maps merged over the committed epochs;
- ``rank{r}/{id}.npz``: rank ``r``'s maps of the images it trained on in the
  open epoch (each already fused with ``maps/``, so a rank reads one file);
- ``state.json``: ``run`` (a token of the run that made the store),
  ``merged`` (the number of epochs committed to ``maps/``), ``pending`` (the
  epoch whose rank folders are complete but not yet merged, or null) and
  ``digest`` (names and sizes of ``maps/`` at the last merge).

An image file holds one float16 array per class, named by the class index
(an image that training saw without a class to accumulate has an empty
file). Fusion by element-wise maximum is order-free: ranks merge by maximum
at the start of the next epoch (:meth:`AttentionStore.commit`), so an image
that two ranks touched in one epoch (a padded sampler) keeps both. A
checkpoint stores :meth:`AttentionStore.record` (where the store is, its run,
merged epochs and digest), not the maps; :meth:`AttentionStore.restore` makes
the store match a resumed checkpoint (an open epoch's partial files are
dropped, the resumed loop runs that epoch again) or fails by name.
"""

from __future__ import annotations

import json
import os
import os.path as osp
import shutil
import uuid

import numpy as np
from mmengine.dist import barrier, get_dist_info

from ..ops.oaa import fuse_attention_maps
from ..utils.provenance import digest_of

STATE_FILE = 'state.json'
MAPS_DIR = 'maps'
_SUFFIX = '.npz'


def _write_npz(path: str, maps: dict[int, np.ndarray]) -> None:
    tmp = path + '.part'
    with open(tmp, 'wb') as f:
        np.savez(f, **{str(c): m.astype(np.float16) for c, m in maps.items()})
    os.replace(tmp, path)


def _read_npz(path: str) -> dict[int, np.ndarray]:
    with np.load(path) as data:
        return {int(c): data[c] for c in data.files}


class AttentionStore:
    """Per-image accumulated maps in ``root`` (see the module note).

    Every method but :meth:`read`, :meth:`write` and :meth:`record` is called
    by all ranks together (they meet at barriers).

    Args:
        root (str): The store's folder.
    """

    def __init__(self, root: str) -> None:
        self.root = osp.abspath(root)
        self.rank, self.world_size = get_dist_info()
        self.state: dict | None = None

    @property
    def maps_dir(self) -> str:
        return osp.join(self.root, MAPS_DIR)

    @property
    def rank_dir(self) -> str:
        return osp.join(self.root, f'rank{self.rank}')

    def _path(self, folder: str, image_id: str) -> str:
        return osp.join(folder, image_id + _SUFFIX)

    # --- this rank, during an epoch ---------------------------------------

    def read(self, image_id: str) -> dict[int, np.ndarray] | None:
        """The image's maps (class -> float16 map) as this rank sees them
        (its own open epoch's file, else the merged one), or None when
        training has not seen the image."""
        for folder in (self.rank_dir, self.maps_dir):
            path = self._path(folder, image_id)
            if osp.exists(path):
                return _read_npz(path)
        return None

    def write(self, image_id: str, maps: dict[int, np.ndarray]) -> None:
        """Replace this rank's file of the image with ``maps`` (atomically)."""
        _write_npz(self._path(self.rank_dir, image_id), maps)

    # --- all ranks ---------------------------------------------------------

    def reset(self) -> None:
        """Start an empty store (a fresh training): whatever ``root`` held is
        removed."""
        if self.rank == 0:
            shutil.rmtree(self.root, ignore_errors=True)
            os.makedirs(self.maps_dir)
            self._save_state(
                dict(run=uuid.uuid4().hex, merged=0, pending=None, digest=None)
            )
        barrier()
        self.state = self._load_state()
        os.makedirs(self.rank_dir, exist_ok=True)
        barrier()

    def close_epoch(self, epoch: int) -> None:
        """Mark ``epoch``'s rank folders complete (after its last iteration,
        before the epoch's checkpoint records the store)."""
        barrier()  # every rank has written its files
        self.state = dict(self.state, pending=int(epoch))
        if self.rank == 0:
            self._save_state(self.state)
        barrier()

    def commit(self) -> None:
        """Merge the complete epoch's rank folders into ``maps/`` (each rank
        merges a share of the images), or drop an incomplete epoch's files
        (an interrupted run); then open this rank's folder for a new epoch."""
        pending = self.state['pending']
        if pending is not None:
            self._merge()
        barrier()
        if self.rank == 0:
            for name in self._rank_dirs():
                shutil.rmtree(osp.join(self.root, name))
            if pending is not None:
                self.state = dict(
                    self.state,
                    merged=pending + 1,
                    pending=None,
                    digest=self._listing_digest(),
                )
                self._save_state(self.state)
        barrier()
        self.state = self._load_state()
        os.makedirs(self.rank_dir, exist_ok=True)
        barrier()

    def record(self) -> dict:
        """What a checkpoint keeps of the store: where it is and its state."""
        return dict(root=self.root, **self.state)

    def restore(self, record: dict) -> None:
        """Make the store match a resumed checkpoint's :meth:`record`.

        Raises:
            RuntimeError: If the store is missing, of another run, has merged
                epochs after the checkpoint's or lost files.
        """
        state = self._load_state()
        self._check(record, state)
        keep_pending = (
            state['merged'] == record['merged']
            and record['pending'] is not None
            and state['pending'] == record['pending']
        )
        barrier()  # every rank has read the state before rank 0 changes it
        if self.rank == 0 and not keep_pending and state['pending'] is not None:
            self._save_state(dict(state, pending=None))
        barrier()
        self.state = self._load_state()
        if not keep_pending:
            self.commit()  # drops the open epoch's files

    def load_legacy(self, maps: dict, merged: int) -> None:
        """Start the store from a checkpoint of the earlier format (every
        image's maps in the checkpoint: ``{id: {class: map}}``)."""
        self.reset()
        if self.rank == 0:
            for image_id, per_class in maps.items():
                _write_npz(
                    self._path(self.maps_dir, image_id),
                    {int(c): np.asarray(m) for c, m in per_class.items()},
                )
            self.state = dict(
                self.state, merged=int(merged), digest=self._listing_digest()
            )
            self._save_state(self.state)
        barrier()
        self.state = self._load_state()

    def merged_maps(self, image_id: str) -> dict[int, np.ndarray] | None:
        """The image's committed maps, or None when training never saw it."""
        path = self._path(self.maps_dir, image_id)
        return _read_npz(path) if osp.exists(path) else None

    # --- internals ---------------------------------------------------------

    def _rank_dirs(self) -> list[str]:
        return sorted(
            name
            for name in os.listdir(self.root)
            if name.startswith('rank') and osp.isdir(osp.join(self.root, name))
        )

    def _merge(self) -> None:
        sources: dict[str, list[str]] = {}
        for name in self._rank_dirs():
            folder = osp.join(self.root, name)
            for entry in os.scandir(folder):
                if entry.name.endswith(_SUFFIX):
                    image_id = entry.name[: -len(_SUFFIX)]
                    sources.setdefault(image_id, []).append(entry.path)
        barrier()  # every rank has listed the files before any is moved
        for image_id in sorted(sources)[self.rank :: self.world_size]:
            paths = sources[image_id]
            target = self._path(self.maps_dir, image_id)
            if len(paths) == 1 and not osp.exists(target):
                os.replace(paths[0], target)
                continue
            # a rank's file already holds the merged maps it started from; the
            # maximum with them again is harmless (and safe after a merge that
            # was interrupted half way)
            fused = _read_npz(target) if osp.exists(target) else {}
            for path in paths:
                fused = fuse_attention_maps(fused, _read_npz(path))
            _write_npz(target, fused)
            for path in paths:
                os.remove(path)

    def _listing_digest(self) -> str:
        return digest_of(
            sorted(
                (e.name, e.stat().st_size)
                for e in os.scandir(self.maps_dir)
                if e.name.endswith(_SUFFIX)
            )
        )

    def _check(self, record: dict, state: dict | None) -> None:
        where = (
            f"OAAHook: the checkpoint's accumulated maps (run {record['run']}, "
            f"{record['merged']} epoch(s) merged, kept in {record['root']})"
        )
        fix = (
            'resume from the last checkpoint of the run that wrote the store, '
            f'or delete {self.root} and the checkpoints to train OAA afresh'
        )
        if state is None:
            raise RuntimeError(
                f'{where} are not in {self.root}: copy that folder there, or '
                'delete the checkpoints to train OAA afresh'
            )
        if state['run'] != record['run']:
            raise RuntimeError(
                f'{where}: {self.root} holds the maps of another run '
                f'({state["run"]}); {fix}'
            )
        merged_since = (
            state['merged'] == record['merged'] + 1
            and record['pending'] == record['merged']
        )
        if state['merged'] != record['merged'] and not merged_since:
            raise RuntimeError(
                f'{where}: {self.root} has {state["merged"]} epoch(s) merged, '
                'so the maps cannot go back to the checkpoint (OAA resumes from '
                'the checkpoint of the last epoch: keep default_hooks.checkpoint '
                f'at interval=1); {fix}'
            )
        if state['digest'] is not None and self._listing_digest() != state['digest']:
            raise RuntimeError(
                f'{where}: files of {self.maps_dir} changed or went missing since '
                f'its last merge; {fix}'
            )

    def _load_state(self) -> dict | None:
        try:
            with open(osp.join(self.root, STATE_FILE)) as f:
                return json.load(f)
        except FileNotFoundError:
            return None

    def _save_state(self, state: dict) -> None:
        path = osp.join(self.root, STATE_FILE)
        with open(path + '.part', 'w') as f:
            json.dump(state, f)
        os.replace(path + '.part', path)
