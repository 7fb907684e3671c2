"""The stage kinds of pipeline configs, one registered class per file.

Each declares its inputs, whether every rank runs it, and ``run`` (see
:mod:`mmwsss.pipeline.stages.base`); the runner
(:mod:`mmwsss.pipeline.runner`) builds them from ``STAGES`` and names none.
"""

from .base import BaseStage, ConfigStage
from .coco_gt import CocoGT
from .consensus import Consensus
from .det_train_test import DetTrainTest
from .fashionpaste import FashionPaste
from .label_quality import LabelQuality
from .labels import Labels
from .predict import Predict
from .proposals import Proposals
from .thresholds import Thresholds
from .train_test import TrainTest
from .walk_benchmark import WalkBenchmark
from .wise import WISE

__all__ = [
    'BaseStage',
    'CocoGT',
    'ConfigStage',
    'Consensus',
    'DetTrainTest',
    'FashionPaste',
    'LabelQuality',
    'Labels',
    'Predict',
    'Proposals',
    'Thresholds',
    'TrainTest',
    'WISE',
    'WalkBenchmark',
]
