"""A training run's iteration times, read from a runner's message hub or from
the last checkpoint of a run whose manifest predates them."""

import pytest
import torch
from mmengine.logging import HistoryBuffer, MessageHub

from mmwsss.pipeline.iteration_time import (
    TIME_KEY,
    checkpoint_times,
    history_times,
    message_hub_times,
)


def _hub(times, name):
    hub = MessageHub.get_instance(name)
    for value in times:
        hub.update_scalar(TIME_KEY, value)
    return hub


def test_times_hand_case():
    buffer = HistoryBuffer()
    for value in (3.5, 3.7, 30.0, 3.6):  # one burst of contention
        buffer.update(value)
    # the sum keeps the burst, the median leaves it out
    assert history_times(buffer) == dict(count=4, sum_s=40.8, median_s=3.65)
    assert history_times(HistoryBuffer()) is None
    windowed = HistoryBuffer()
    windowed.update(7.0, count=2)
    with pytest.raises(ValueError, match='one update per iteration'):
        history_times(windowed)
    assert message_hub_times(_hub([2.0, 4.0, 9.0], 'times-hand-case')) == dict(
        count=3, sum_s=15.0, median_s=4.0
    )
    assert message_hub_times(MessageHub.get_instance('times-empty')) is None


def test_times_from_the_last_checkpoint_of_a_moved_work_dir(tmp_path):
    hub = _hub([1.0, 2.0, 3.0], 'times-checkpoint')
    torch.save(dict(message_hub=hub.state_dict()), tmp_path / 'epoch_2.pth')
    # written where the work dir was before it moved
    (tmp_path / 'last_checkpoint').write_text('/elsewhere/work/epoch_2.pth')
    assert checkpoint_times(str(tmp_path)) == dict(count=3, sum_s=6.0, median_s=2.0)
    assert checkpoint_times(str(tmp_path / 'none')) is None


def test_loss_hand_case_and_the_reports_warning():
    """The loss at the start and the end of a run, medians of a window of
    iterations; a run diverged where it ends above twice its start (PRM at
    the CAM recipe's rates: 0.97 -> 198 in 40 iterations) or is not finite,
    not where it ends about where it started (noise)."""
    from mmwsss.pipeline.iteration_time import LOSS_KEY, history_loss, message_hub_loss
    from mmwsss.pipeline.report import diverged_warnings

    def buffer(values):
        out = HistoryBuffer()
        for value in values:
            out.update(value)
        return out

    learns = history_loss(buffer([0.9, 0.7, 5.0, 0.5, 0.4, 0.3]), window=2)
    assert learns == dict(first=0.8, last=0.35, max=5.0, diverged=False)
    diverges = history_loss(buffer([0.97, 2.0, 9.7, 161.0, 198.0]), window=2)
    assert diverges == dict(first=1.485, last=179.5, max=198.0, diverged=True)
    assert history_loss(buffer([0.7, float('nan'), 0.1]), window=1)['diverged']
    assert not history_loss(buffer([2.5, 2.6, 2.7]), window=1)['diverged']
    assert history_loss(buffer([1.0, 1.5, 2.1]), window=1)['diverged']
    assert history_loss(HistoryBuffer()) is None
    hub = MessageHub.get_instance('loss-hand-case')
    for value in (3.0, 2.0, 1.0):
        hub.update_scalar(LOSS_KEY, value)
    assert message_hub_loss(hub) == dict(first=2.0, last=2.0, max=3.0, diverged=False)
    assert message_hub_loss(MessageHub.get_instance('loss-empty')) is None

    lines = diverged_warnings(dict(prm=dict(loss=diverges), cam=dict(loss=learns)))
    assert len(lines) == 2 and "stage `prm`'s training diverged" in lines[0]
    assert 'from 1.485' in lines[0] and 'to 179.5' in lines[0]
    assert diverged_warnings(dict(irn=dict(metrics={}), skipped=None)) == []
