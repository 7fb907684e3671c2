import os

import numpy as np
import pytest
import torch
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample
from PIL import Image

from mmwsss.engine import CompositeExporter, LabelPNGExporter, ScoreMapExporter


def _sample(img_path, label=None):
    sample = SegDataSample(metainfo=dict(img_path=img_path))
    if label is not None:
        sample.pred_sem_seg = PixelData(data=torch.as_tensor(label)[None])
    return sample


def test_label_png_exporter_round_trip(tmp_path):
    exporter = LabelPNGExporter(out_dir='{work_dir}/pseudo')
    open(tmp_path / 'stale.png.part', 'w').close()
    os.makedirs(tmp_path / 'pseudo', exist_ok=True)
    open(tmp_path / 'pseudo' / 'stale.png.part', 'w').close()
    exporter.prepare(str(tmp_path))
    assert not (tmp_path / 'pseudo' / 'stale.png.part').exists()

    label = np.array([[0, 3, 255], [12, 0, 1]], dtype=np.int64)
    sample = _sample('/data/JPEGImages/2007_000032.jpg', label)
    assert not exporter.exists(sample.metainfo)
    exporter.save(sample)
    path = tmp_path / 'pseudo' / '2007_000032.png'
    assert exporter.exists(sample.metainfo) and path.exists()
    with Image.open(path) as image:
        assert image.mode == 'P'
        assert np.array_equal(np.array(image), label)
        # VOC palette: class 1 is dark red
        assert image.getpalette()[3:6] == [128, 0, 0]
    loaded = exporter.load(_sample('/data/JPEGImages/2007_000032.jpg'))
    assert torch.equal(loaded.pred_sem_seg.data[0], torch.as_tensor(label))


def test_label_png_exporter_rejects_out_of_range(tmp_path):
    exporter = LabelPNGExporter(out_dir=str(tmp_path))
    exporter.prepare(str(tmp_path))
    with pytest.raises(ValueError, match='0..255'):
        exporter.save(_sample('a.jpg', np.array([[0, 300]])))
    assert not list(tmp_path.iterdir())


def test_composite_exporter_needs_every_file(tmp_path):
    exporter = CompositeExporter(
        exporters=[
            dict(type='LabelPNGExporter', out_dir='{work_dir}/a'),
            dict(type='LabelPNGExporter', out_dir='{work_dir}/b'),
        ]
    )
    exporter.prepare(str(tmp_path))
    sample = _sample('x/img_1.jpg', np.array([[0, 2]]))
    exporter.save(sample)
    assert exporter.exists(sample.metainfo)
    os.remove(tmp_path / 'b' / 'img_1.png')
    assert not exporter.exists(sample.metainfo)
    assert 'a' in exporter.out_dir and 'b' in exporter.out_dir
    with pytest.raises(ValueError, match='at least one'):
        CompositeExporter(exporters=[])


def test_score_map_exporter_round_trip(tmp_path):
    exporter = ScoreMapExporter(out_dir=str(tmp_path))
    exporter.prepare(str(tmp_path))
    sample = _sample('x/img_7.jpg')
    scores = torch.rand(2, 5, 6)
    sample.walk_scores = PixelData(data=scores)
    sample.cam_keys = torch.tensor([3, 9])
    exporter.save(sample)
    loaded = exporter.load(_sample('x/img_7.jpg'))
    assert loaded.cam_keys.tolist() == [3, 9]
    assert torch.allclose(loaded.walk_scores.data, scores, atol=1e-3)  # float16
    # the saved sample holds the stored (rounded) values, so a metric scores a
    # fresh export exactly as it scores a resumed one
    assert torch.equal(sample.walk_scores.data, loaded.walk_scores.data)
    assert not torch.equal(sample.walk_scores.data, scores)
