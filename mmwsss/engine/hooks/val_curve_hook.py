"""Keep every validation result of a training run in one JSON file."""

from __future__ import annotations

import json
import os
import os.path as osp

from mmengine.dist import is_main_process
from mmengine.hooks import Hook

from ...registry import HOOKS


@HOOKS.register_module()
class ValCurveHook(Hook):
    """Append each validation's metrics, with the iteration and epoch it ran
    at, to ``{work_dir}/{file_name}`` (a JSON list): the val curve of a run,
    kept across resumed runs (points of later iterations than the resumed
    one are dropped first, so a rerun never duplicates them).

    Args:
        file_name (str): File in the work dir. Default: 'val_curve.json'.
    """

    priority = 'LOW'  # after the metrics are logged

    def __init__(self, file_name: str = 'val_curve.json') -> None:
        if not file_name or osp.basename(file_name) != file_name:
            raise ValueError(f'file_name must be a plain file name, got {file_name!r}')
        self.file_name = file_name

    def _path(self, runner) -> str:
        return osp.join(runner.work_dir, self.file_name)

    @staticmethod
    def read(path: str) -> list[dict]:
        """The points of a curve file ([] when there is none)."""
        if not osp.exists(path):
            return []
        with open(path) as f:
            return json.load(f)

    def before_train(self, runner) -> None:
        if not is_main_process():
            return
        points = [p for p in self.read(self._path(runner)) if p['step'] <= runner.iter]
        self._write(runner, points)

    def after_val_epoch(self, runner, metrics: dict | None = None) -> None:
        if not is_main_process() or not metrics:
            return
        point = dict(step=runner.iter, epoch=runner.epoch)
        point.update({k: float(v) for k, v in metrics.items()})
        self._write(runner, [*self.read(self._path(runner)), point])

    def _write(self, runner, points: list[dict]) -> None:
        path = self._path(runner)
        os.makedirs(osp.dirname(path), exist_ok=True)
        with open(path + '.part', 'w') as f:
            json.dump(points, f, indent=1)
        os.replace(path + '.part', path)
