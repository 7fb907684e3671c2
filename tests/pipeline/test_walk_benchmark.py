import pytest

from mmwsss.pipeline import walk_benchmark


def test_measure_one_times_both_backends_of_our_walk():
    rows = {
        kind: walk_benchmark.measure_one(kind, 12, 10) for kind in ('sparse', 'torch')
    }
    for kind, row in rows.items():
        assert row['kind'] == kind and row['device'] == 'cpu'
        assert row['size'] == [12, 10] and row['seconds'] > 0
        assert len(row['labels']) == 120
    assert rows['torch']['labels'] == rows['sparse']['labels']
    with pytest.raises(ValueError, match='kind'):
        walk_benchmark.measure_one('cuda', 12, 10)


def test_compare_rows(monkeypatch):
    calls = []

    def fake_measure(kind, height, width, timeout=3600, device='cpu'):
        calls.append((kind, height, device))
        labels = [0, 1, 1, 2] if kind != 'dense' else [0, 1, 2, 2]
        return dict(
            seconds=dict(sparse=1.0, torch=0.5, dense=10.0)[kind],
            peak_mb=3.0,
            device=device,
            labels=labels,
        )

    monkeypatch.setattr(walk_benchmark, 'measure', fake_measure)
    rows = walk_benchmark.compare(
        sizes=[(8, 8)], sparse_only=[(16, 16)], progress=False, torch_device='cpu'
    )
    assert calls == [
        ('sparse', 8, 'cpu'),
        ('torch', 8, 'cpu'),
        ('dense', 8, 'cpu'),
        ('sparse', 16, 'cpu'),
        ('torch', 16, 'cpu'),
    ]
    assert rows[0]['torch_s'] == 0.5 and rows[0]['torch_agreement'] == 1.0
    assert rows[0]['speedup'] == 10.0 and rows[0]['agreement'] == 0.75
    assert 'dense_s' not in rows[1] and rows[1]['torch_device'] == 'cpu'
