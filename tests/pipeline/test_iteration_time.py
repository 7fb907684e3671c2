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
