import math

import numpy as np
import pytest
from PIL import Image

from mmwsss.evaluation import score_label_dir


def _write(folder, name, array):
    folder.mkdir(exist_ok=True)
    Image.fromarray(np.asarray(array, np.uint8)).save(folder / f'{name}.png')


@pytest.fixture
def dirs(tmp_path):
    pred, gt = tmp_path / 'pred', tmp_path / 'gt'
    _write(gt, 'a', [[0, 0, 1, 1], [0, 2, 2, 255]])
    _write(pred, 'a', [[0, 1, 1, 255], [0, 2, 0, 1]])
    # an image whose prediction is perfect where labelled
    _write(gt, 'b', [[2, 2], [0, 0]])
    _write(pred, 'b', [[2, 255], [0, 0]])
    return str(pred), str(gt)


def test_hand_computed_confusion(dirs):
    pred, gt = dirs
    result = score_label_dir(pred, gt, ['a'], num_classes=4)
    # image a, 7 GT-valid pixels, one of them unsure (counted as wrong):
    # class 0: inter 2, union 3 + 3 - 2; class 1: 1 / (2 + 2 - 1);
    # class 2: 1 / (1 + 2 - 1); class 3 in neither -> NaN, left out of the mean
    assert result['IoU'][:3] == pytest.approx([50, 100 / 3, 50])
    assert math.isnan(result['IoU'][3])
    assert result['mIoU'] == pytest.approx((50 + 100 / 3 + 50) / 3)
    assert result['aAcc'] == pytest.approx(100 * 4 / 7)
    # labelled pixels only: class 1 loses its unsure GT pixel -> 1 / (2 + 1 - 1)
    assert result['IoU_labelled'][:3] == pytest.approx([50, 50, 50])
    assert result['mIoU_labelled'] == pytest.approx(50)
    assert result['coverage'] == pytest.approx(100 * 6 / 7)
    assert result['precision'] == pytest.approx(100 * 4 / 6)
    # per class intersection / predicted area and / GT area (the unsure pixel
    # is in no predicted area): 0: 2/3, 2/3; 1: 1/2, 1/2; 2: 1/1, 1/2
    assert result['mPrecision'] == pytest.approx(100 * (2 / 3 + 1 / 2 + 1) / 3)
    assert result['mRecall'] == pytest.approx(100 * (2 / 3 + 1 / 2 + 1 / 2) / 3)
    assert result['num_images'] == 1


def test_areas_sum_over_images(dirs):
    pred, gt = dirs
    result = score_label_dir(pred, gt, ['a', 'b'], num_classes=3)
    # b adds: class 0 inter 2 pred 2 gt 2; class 2 inter 1 pred 1 gt 2
    assert result['IoU'] == pytest.approx([100 * 4 / 6, 100 / 3, 100 * 2 / 4])
    assert result['coverage'] == pytest.approx(100 * 9 / 11)
    assert result['precision'] == pytest.approx(100 * 7 / 9)


def test_errors_name_the_files(dirs, tmp_path):
    pred, gt = dirs
    with pytest.raises(FileNotFoundError, match='c.png'):
        score_label_dir(pred, gt, ['c'], num_classes=3)
    _write(tmp_path / 'pred', 'd', np.zeros((2, 3)))
    _write(tmp_path / 'gt', 'd', np.zeros((3, 2)))
    with pytest.raises(ValueError, match=r'\(2, 3\).*\(3, 2\)'):
        score_label_dir(pred, gt, ['d'], num_classes=3)
    with pytest.raises(ValueError, match=r'labels \[2\] outside 0..1'):
        score_label_dir(pred, gt, ['a'], num_classes=2)
