import json
import os

import numpy as np
import pytest
import torch
from mmengine.config import Config

from mmwsss.utils.provenance import (
    PROVENANCE,
    check_or_reset,
    code_digest,
    config_digest,
    digest_of,
    input_digest,
    read_provenance,
    record_digest,
    state_dict_digest,
    write_provenance,
)


def _files(folder):
    return sorted(p.name for p in folder.iterdir())


def test_check_or_reset_keeps_a_match_and_moves_anything_else(tmp_path):
    out = tmp_path / 'out'
    record = dict(kind='test', options=dict(thr=0.5), info=dict(path='a'))
    state = check_or_reset(str(out), record)
    # the record gains the code's digest: files of other code are not reused
    coded = dict(record, code=code_digest())
    assert state == dict(digest=record_digest(coded), status='new', moved_to=None)
    written = json.loads((out / PROVENANCE).read_text())
    assert written['digest'] == state['digest'] and written['options'] == {'thr': 0.5}
    (out / 'a.png').write_bytes(b'x')

    # info is not identity: the same record with other info matches
    same = dict(record, info=dict(path='b'))
    assert check_or_reset(str(out), same)['status'] == 'match'
    assert _files(out) == ['a.png', PROVENANCE]
    assert read_provenance(str(out))['info']['path'] == 'b'

    other = dict(record, options=dict(thr=0.6))
    with pytest.raises(FileExistsError, match='provenance'):
        check_or_reset(str(out), other, on_mismatch='raise')
    state = check_or_reset(str(out), other)
    assert state['status'] == 'moved' and state['digest'] != record_digest(coded)
    assert state['moved_to'].startswith(f'{out}.old-')
    assert _files(tmp_path / os.path.basename(state['moved_to'])) == [
        'a.png',
        PROVENANCE,
    ]
    assert _files(out) == [PROVENANCE]
    assert read_provenance(str(out))['digest'] == state['digest']

    # files without a record are moved too (a second move in the same second
    # gets its own name); an empty folder is simply taken
    os.remove(out / PROVENANCE)
    (out / 'b.png').write_bytes(b'y')
    again = check_or_reset(str(out), other)
    assert again['status'] == 'moved' and again['moved_to'] != state['moved_to']
    empty = tmp_path / 'empty'
    empty.mkdir()
    assert check_or_reset(str(empty), record)['status'] == 'new'
    with pytest.raises(ValueError, match='on_mismatch'):
        check_or_reset(str(empty), record, on_mismatch='delete')


def test_check_or_reset_counts_only_the_named_outputs(tmp_path):
    work = tmp_path / 'work'
    work.mkdir()
    (work / 'stage.json').write_text('{}')  # another tool's file
    record = dict(kind='train_test', config_digest='1')
    outputs = ('*.pth', 'last_checkpoint')
    assert check_or_reset(str(work), record, outputs=outputs)['status'] == 'new'
    (work / 'epoch_1.pth').write_bytes(b'w')
    other = dict(record, config_digest='2')
    state = check_or_reset(str(work), other, outputs=outputs)
    assert state['status'] == 'moved'
    assert _files(tmp_path / os.path.basename(state['moved_to'])) == [
        'epoch_1.pth',
        PROVENANCE,
        'stage.json',
    ]


def test_input_digest_reads_the_record_or_lists_the_files(tmp_path):
    folder = tmp_path / 'cams'
    folder.mkdir()
    (folder / 'a.npz').write_bytes(b'123')
    listing = input_digest(str(folder))
    assert listing.startswith('listing:') and input_digest(str(folder)) == listing
    (folder / 'a.npz').write_bytes(b'1234')
    assert input_digest(str(folder)) != listing
    record = write_provenance(str(folder), dict(kind='export', weights='w'))
    assert input_digest(str(folder)) == record['digest']
    with pytest.raises(FileNotFoundError, match='nope'):
        input_digest(str(tmp_path / 'nope'))


def test_config_digest_is_content_without_run_names():
    cfg = Config(dict(model=dict(depth=18), work_dir='a', load_from='x.pth'))
    digest = config_digest(cfg)
    renamed = Config(dict(model=dict(depth=18), work_dir='b', experiment_name='e'))
    assert config_digest(renamed) == digest
    assert cfg.work_dir == 'a'  # the config itself is left as it was
    assert config_digest(Config(dict(model=dict(depth=50), work_dir='a'))) != digest


def test_state_dict_digest_follows_the_weights():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.BatchNorm1d(2))
    digest = state_dict_digest(model)
    copy = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.BatchNorm1d(2))
    copy.load_state_dict(model.state_dict())
    assert state_dict_digest(copy) == digest
    with torch.no_grad():
        copy[0].bias[0] += 1e-6
    assert state_dict_digest(copy) != digest


def test_digest_of_reads_numpy_scalars_as_numbers():
    assert digest_of(dict(thr=np.float32(0.5), n=np.int64(3))) == digest_of(
        dict(thr=0.5, n=3)
    )
    assert digest_of(dict(thr=0.5)) != digest_of(dict(thr=0.25))
