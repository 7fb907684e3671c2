"""Provenance records: what made the files of an output folder.

Every output folder of mmwsss (exported CAMs and pseudo masks, label PNGs, a
stage's work dir) holds a ``provenance.json``: a plain dict naming what made
the files (config content, weights, options, inputs with their own
provenance digests, the dataset's content and the package's code) and a
``digest`` of that identifying content. Keys under ``info`` (paths, sizes,
times) are recorded for people and left out of the digest. The rule is the
same everywhere: a folder whose record matches is reused (a rerun of the same
thing keeps its finished files and resumes), a folder with files of no or
another record is moved aside to
``{folder}.old-{YYYYmmdd-HHMMSS}`` and the work starts afresh. Nothing is
deleted.
"""

from __future__ import annotations

import fnmatch
import functools
import hashlib
import json
import logging
import os
import os.path as osp
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import numpy as np
import torch
from mmengine.config import Config
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper

#: File name of the record inside its folder.
PROVENANCE = 'provenance.json'
#: Top-level config keys that name a run rather than what it computes: left
#: out of :func:`config_digest` (the weights are identified by their content;
#: ``launcher`` and ``model_wrapper_cfg`` say how many processes run it, so an
#: export resumed on another number of processes keeps its files).
RUN_KEYS = (
    'work_dir',
    'experiment_name',
    'launcher',
    'model_wrapper_cfg',
    'load_from',
    'resume',
    'visualizer',
)


def _plain(value):
    """JSON fallback: numpy scalars as Python numbers, anything else as str."""
    return value.item() if isinstance(value, np.generic) else str(value)


def digest_of(content) -> str:
    """Short sha256 of JSON-serialisable ``content`` (keys sorted)."""
    text = json.dumps(content, sort_keys=True, default=_plain)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def record_digest(record: dict) -> str:
    """Digest of a record's identifying content: every key but ``digest`` and
    ``info``."""
    return digest_of({k: v for k, v in record.items() if k not in ('digest', 'info')})


#: How :func:`config_digest` writes the folder of the project a config lives
#: in (:func:`project_root`).
PROJECT = '{project}'


def project_root(path: str) -> str | None:
    """The folder of the project that config file ``path`` lives in: the one
    above its nearest ``configs`` folder (this repository, a clone of it
    anywhere, or a user's own project); None outside a ``configs`` folder."""
    folder = osp.dirname(osp.abspath(path))
    while True:
        if osp.basename(folder) == 'configs':
            return osp.dirname(folder)
        parent = osp.dirname(folder)
        if parent == folder:
            return None
        folder = parent


def config_digest(
    cfg: Config, ignore: Sequence[str] = RUN_KEYS, root_as: str | None = PROJECT
) -> str:
    """Digest of a merged config's content (its ``pretty_text``) without the
    top-level keys ``ignore``.

    Paths a config builds from its own place (``{{fileDirname}}``, e.g. the
    default folders of the bench configs) are absolute: the project's folder
    (:func:`project_root` of ``cfg.filename``) is written as ``root_as``
    before hashing, :data:`PROJECT` by default, so that the same config in a
    clone elsewhere, a worktree or another machine's checkout has the same
    digest. ``root_as`` = another folder gives the digest the config has
    where its project lives there, None the digest of the text as parsed
    (that of records written before the folder was replaced).
    """
    cfg = cfg.copy()  # copies the top-level dict: popping leaves cfg intact
    for key in ignore:
        cfg.pop(key, None)
    text = cfg.pretty_text
    root = project_root(cfg.filename) if cfg.filename else None
    if root and root_as is not None and root != root_as:
        text = text.replace(root.rstrip(os.sep) + os.sep, root_as + os.sep)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def config_file_digest(path: str) -> str:
    """:func:`config_digest` of a config file, its ``_base_`` files merged."""
    return config_digest(Config.fromfile(path))


def file_digest(path: str, chunk: int = 1 << 20) -> str:
    """Short sha256 of a file's bytes."""
    sha = hashlib.sha256()
    with open(path, 'rb') as f:
        while block := f.read(chunk):
            sha.update(block)
    return sha.hexdigest()[:16]


@functools.lru_cache(maxsize=256)
def _file_digest_cached(path: str, size: int, mtime_ns: int) -> str:
    return file_digest(path)


def path_digest(path: str) -> str:
    """What a file or folder holds: ``'file:'`` + :func:`file_digest` of a file
    (cached per path, size and modification time, so a checkpoint read by
    several consumers is hashed once), or :func:`input_digest` of a folder.

    Raises:
        FileNotFoundError: If ``path`` does not exist.
    """
    if osp.isfile(path):
        stat = os.stat(path)
        return 'file:' + _file_digest_cached(
            osp.abspath(path), stat.st_size, stat.st_mtime_ns
        )
    return input_digest(path)


#: Package folder whose sources :func:`code_digest` covers.
PACKAGE_DIR = osp.dirname(osp.dirname(osp.abspath(__file__)))


@functools.lru_cache(maxsize=1)
def code_digest() -> str:
    """Digest of the code that makes mmwsss's outputs: every ``.py`` file of the
    installed package (relative path and bytes). Not the git commit: a commit
    that touches only docs, tests or tools changes nothing here."""
    sha = hashlib.sha256()
    for folder, dirs, files in os.walk(PACKAGE_DIR):
        dirs[:] = sorted(d for d in dirs if d != '__pycache__')
        for name in sorted(files):
            if name.endswith('.py'):
                path = osp.join(folder, name)
                sha.update(osp.relpath(path, PACKAGE_DIR).encode() + b'\0')
                with open(path, 'rb') as f:
                    sha.update(f.read())
    return sha.hexdigest()[:16]


#: Code digests that records made inside :func:`recorded_code` carry instead
#: of :func:`code_digest` (innermost last).
_RECORDED_CODE: list[str] = []


@contextmanager
def recorded_code(digest: str) -> Iterator[None]:
    """Within the block, :func:`check_or_reset` records ``digest`` as the code
    of the folders it checks: an interrupted stage that the user keeps across a
    code change (``run_pipeline(keep_code=...)``) finds its folders under the
    record it started with and resumes them."""
    _RECORDED_CODE.append(digest)
    try:
        yield
    finally:
        _RECORDED_CODE.pop()


#: Manifests a dataset generator writes into its root (FashionPaste's): the
#: dataset's identity when present.
DATASET_MANIFESTS = ('fashionpaste.json',)


def data_digest(data_root: str) -> str:
    """What a dataset root holds: its generator manifest's content where it has
    one (``'manifest:'``, settings and counts of a generated set), else the
    names, sizes and modification times of every file under it
    (``'files:'``). Regenerating a set into the same root at another seed
    changes it; so does replacing an image.

    Raises:
        FileNotFoundError: If ``data_root`` is not a directory.
    """
    if not osp.isdir(data_root):
        raise FileNotFoundError(f'dataset root {data_root} not found')
    for name in DATASET_MANIFESTS:
        path = osp.join(data_root, name)
        if osp.isfile(path):
            with open(path) as f:
                return 'manifest:' + digest_of(json.load(f))
    entries = []
    for folder, dirs, files in os.walk(data_root):
        dirs.sort()
        for name in sorted(files):
            stat = os.stat(osp.join(folder, name))
            rel = osp.relpath(osp.join(folder, name), data_root)
            entries.append((rel, stat.st_size, stat.st_mtime_ns))
    return 'files:' + digest_of(entries)


#: Config keys whose values name files or folders a run reads: where such a
#: value is a local path, :func:`config_input_digests` records its content.
PATH_KEYS = (
    'load_from',
    'checkpoint',
    'pseudo_dir',
    'seg_map_path',
    'ann_file',
    'cam_dir',
    'prototypes',
)


def config_input_digests(cfg: Config | dict, prefix: str = '') -> dict[str, str]:
    """Content digests (:func:`path_digest`) of the local files and folders a
    config reads: values of :data:`PATH_KEYS` anywhere in it (e.g. a
    ``PseudoLabelDataset``'s ``pseudo_dir``, a backbone's
    ``init_cfg.checkpoint``, ``load_from``, a label folder set as
    ``seg_map_path``, a COCO ``ann_file``), by their dotted key. URLs and
    paths that do not exist here (e.g. relative to a dataset's root, whose
    content :func:`data_digest` covers) are left out."""
    if isinstance(cfg, Config):
        cfg = cfg.to_dict()
    found = {}
    items = cfg.items() if isinstance(cfg, dict) else enumerate(cfg)
    for key, value in items:
        dotted = f'{prefix}{key}'
        if isinstance(value, dict | list | tuple):
            found.update(config_input_digests(value, dotted + '.'))
        elif (
            key in PATH_KEYS
            and isinstance(value, str)
            and '://' not in value
            and osp.exists(value)
        ):
            found[dotted] = path_digest(value)
    return found


def file_info(path: str) -> dict:
    """Absolute path, size and modification time of a file (for ``info``)."""
    stat = os.stat(path)
    return dict(path=osp.abspath(path), size=stat.st_size, mtime=int(stat.st_mtime))


def state_dict_digest(model: torch.nn.Module) -> str:
    """Short sha256 of a model's weights: every state-dict entry's name, dtype,
    shape and bytes (a model wrapper is unwrapped first)."""
    if is_model_wrapper(model):
        model = model.module
    sha = hashlib.sha256()
    for name, value in model.state_dict().items():
        if not isinstance(value, torch.Tensor):  # extra state
            sha.update(f'{name}={value!r};'.encode())
            continue
        tensor = value.detach().cpu().contiguous().reshape(-1)
        sha.update(f'{name}:{tensor.dtype}:{tuple(value.shape)};'.encode())
        sha.update(tensor.view(torch.uint8).numpy())
    return sha.hexdigest()[:16]


def read_provenance(folder: str) -> dict | None:
    """The record of ``folder``, or None when it has none (or an unreadable one)."""
    path = osp.join(folder, PROVENANCE)
    try:
        with open(path) as f:
            record = json.load(f)
    except (FileNotFoundError, json.JSONDecodeError):
        return None
    return record if isinstance(record, dict) else None


def write_provenance(folder: str, record: dict) -> dict:
    """Write ``record`` with its ``digest`` as ``{folder}/provenance.json``,
    atomically (temporary name, then ``os.replace``).

    Returns:
        dict: The record as written (``digest`` and ``info.written`` added).
    """
    record = dict(record, digest=record_digest(record))
    written = time.strftime('%Y-%m-%d %H:%M:%S')
    record['info'] = dict(record.get('info') or {}, written=written)
    os.makedirs(folder, exist_ok=True)
    path = osp.join(folder, PROVENANCE)
    with open(path + '.part', 'w') as f:
        json.dump(record, f, indent=1, sort_keys=True, default=_plain)
    os.replace(path + '.part', path)
    return record


def listing_digest(folder: str) -> str:
    """Digest of the files in ``folder`` (not its subfolders): names, sizes and
    modification times."""
    entries = sorted(
        (entry.name, entry.stat().st_size, entry.stat().st_mtime_ns)
        for entry in os.scandir(folder)
        if entry.is_file()
    )
    return digest_of(entries)


def input_digest(folder: str) -> str:
    """The provenance digest of an input folder: its record's ``digest``, or
    ``'listing:'`` + :func:`listing_digest` when it has no record.

    Raises:
        FileNotFoundError: If ``folder`` is not a directory.
    """
    if not osp.isdir(folder):
        raise FileNotFoundError(f'input folder {folder} not found')
    record = read_provenance(folder)
    if record is not None and record.get('digest'):
        return record['digest']
    return 'listing:' + listing_digest(folder)


def move_aside(folder: str) -> str:
    """Rename ``folder`` to ``{folder}.old-{YYYYmmdd-HHMMSS}`` (``-2``, ``-3``,
    ... when taken) and return the new path."""
    folder = osp.normpath(folder)
    base = f'{folder}.old-{time.strftime("%Y%m%d-%H%M%S")}'
    old, n = base, 1
    while osp.lexists(old):
        n += 1
        old = f'{base}-{n}'
    os.rename(folder, old)
    return old


def _outputs(folder: str, patterns: Sequence[str] | None) -> list[str]:
    names = [n for n in os.listdir(folder) if n != PROVENANCE]
    if patterns is None:
        return names
    return [n for n in names if any(fnmatch.fnmatch(n, p) for p in patterns)]


def check_or_reset(
    folder: str,
    record: dict,
    on_mismatch: str = 'move',
    outputs: Sequence[str] | None = None,
) -> dict:
    """Make ``folder`` hold the outputs of ``record`` only, then record it.

    The record gains ``code`` (:func:`code_digest`, or the digest of the
    enclosing :func:`recorded_code`) unless it has one: files made by another
    version of mmwsss are not reused.

    A folder whose provenance digest equals the record's keeps its files (an
    interrupted run of the same thing resumes from them). A folder with output
    files and no or another provenance is moved aside to
    ``{folder}.old-{time}`` (logged as a warning) and recreated empty. In both
    cases and for a missing or empty folder, ``record`` is then written as
    ``{folder}/provenance.json``.

    Args:
        folder (str): The output folder; created if missing.
        record (dict): Identifying content (JSON-serialisable); an optional
            ``info`` dict is recorded but not part of the digest.
        on_mismatch (str): 'move' (move the old folder aside) or 'raise'.
            Default: 'move'.
        outputs (Sequence[str], optional): Glob patterns of the names that
            count as outputs; other entries (e.g. a manifest that another tool
            keeps there) neither trigger nor prevent a move. Default: None,
            every entry but ``provenance.json``.

    Returns:
        dict: ``digest`` (the record's), ``status`` ('new': nothing was there,
        'match': files of the same record kept, 'moved': old files moved
        aside) and ``moved_to`` (the old folder's new path, or None).

    Raises:
        ValueError: If ``on_mismatch`` is unknown.
        FileExistsError: If ``on_mismatch='raise'`` and the folder holds
            outputs of no or another record.
    """
    if on_mismatch not in ('move', 'raise'):
        raise ValueError(f"on_mismatch must be 'move' or 'raise', got {on_mismatch!r}")
    record = dict(record)
    record.setdefault('code', _RECORDED_CODE[-1] if _RECORDED_CODE else code_digest())
    digest = record_digest(record)
    previous = read_provenance(folder) if osp.isdir(folder) else None
    old_digest = previous.get('digest') if previous else None
    status, moved_to = 'new', None
    if old_digest == digest:
        status = 'match'
    elif osp.isdir(folder) and _outputs(folder, outputs):
        what = f'provenance {old_digest}' if old_digest else 'no provenance'
        if on_mismatch == 'raise':
            raise FileExistsError(
                f'{folder} holds files of {what}, not of {digest}; move it away '
                'or choose another output folder'
            )
        moved_to = move_aside(folder)
        status = 'moved'
        print_log(
            f'{folder} held files of {what}, not of this run ({digest}): moved '
            f'to {moved_to}, starting afresh',
            logger='current',
            level=logging.WARNING,
        )
    write_provenance(folder, record)
    return dict(digest=digest, status=status, moved_to=moved_to)
