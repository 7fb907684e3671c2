import os
import os.path as osp
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from scipy.ndimage import gaussian_filter

from mmwsss.datasets.fashionpaste import generate_fashionpaste
from mmwsss.evaluation import score_label_dir
from mmwsss.pipeline import make_label_dir
from mmwsss.pipeline.per_image import cpus_per_rank
from mmwsss.utils.provenance import write_provenance

NUM_CLASSES = 11


@pytest.fixture(scope='module')
def data(tmp_path_factory):
    """Tiny FashionPaste train split and CAMs faked from its GT masks: each
    class's mask blurred and shifted by 2 pixels, max-normalised."""
    root = tmp_path_factory.mktemp('refine')
    data_root = str(root / 'data')
    generate_fashionpaste(
        data_root, size='tiny', seed=0, source='subset', progress=False
    )
    with open(osp.join(data_root, 'ImageSets/Segmentation/train.txt')) as f:
        ids = f.read().split()
    cam_dir = root / 'cams'
    cam_dir.mkdir()
    for image_id in ids:
        gt = np.asarray(
            Image.open(osp.join(data_root, 'SegmentationClass', image_id + '.png'))
        )
        keys = np.array([c for c in np.unique(gt) if 0 < c < 255], np.int16)
        cams = np.stack(
            [
                gaussian_filter(np.roll(gt == k, 2, axis=1).astype(np.float32), 2)
                for k in keys
            ]
        ).reshape(len(keys), *gt.shape)
        cams /= cams.max(axis=(1, 2), keepdims=True) + 1e-5
        np.savez(
            cam_dir / f'{image_id}.npz', keys=keys, cam=cams[:, ::4, ::4], high_res=cams
        )
    return dict(root=root, data_root=data_root, ids=ids, cam_dir=str(cam_dir))


def _score(data, out_dir):
    gt_dir = osp.join(data['data_root'], 'SegmentationClass')
    return score_label_dir(out_dir, gt_dir, data['ids'], NUM_CLASSES)


def test_labels_beat_the_all_background_floor(data):
    img_dir = osp.join(data['data_root'], 'JPEGImages')
    floor_dir = data['root'] / 'floor'
    floor_dir.mkdir()
    for image_id in data['ids']:
        size = Image.open(osp.join(img_dir, image_id + '.jpg')).size
        Image.fromarray(np.zeros(size[::-1], np.uint8)).save(
            floor_dir / f'{image_id}.png'
        )
    floor = _score(data, str(floor_dir))['mIoU']
    for kind, workers in (('ir', 2), ('psa', 1), ('crf', 1), ('cam', 1)):
        out_dir = str(data['root'] / kind)
        counts = make_label_dir(
            kind,
            data['cam_dir'],
            img_dir,
            data['ids'],
            out_dir,
            workers=workers,
            progress=False,
        )
        assert (counts['written'], counts['reused']) == (len(data['ids']), 0)
        label = Image.open(osp.join(out_dir, data['ids'][0] + '.png'))
        assert label.mode == 'P'
        result = _score(data, out_dir)
        assert result['mIoU_labelled'] > floor + 20, (kind, result, floor)
        if kind in ('crf', 'cam'):
            assert result['coverage'] == 100 and result['mIoU'] > floor + 20
        else:
            # confidence labels leave some pixels unsure and are precise elsewhere
            assert 50 < result['coverage'] < 100
            assert result['precision'] > 90


def test_resume_keeps_outputs_and_drops_partials(data, tmp_path):
    img_dir = osp.join(data['data_root'], 'JPEGImages')
    out_dir = tmp_path / 'out'
    ids = data['ids'][:3]
    make_label_dir(
        'crf', data['cam_dir'], img_dir, ids, str(out_dir), workers=1, progress=False
    )
    kept = out_dir / f'{ids[0]}.png'
    os.utime(kept, (1_000_000, 1_000_000))
    os.remove(out_dir / f'{ids[1]}.png')
    stale = out_dir / f'{ids[1]}.png.part'
    stale.write_bytes(b'half a png')
    counts = make_label_dir(
        'crf', data['cam_dir'], img_dir, ids, str(out_dir), workers=1, progress=False
    )
    assert (counts['written'], counts['reused'], counts['moved_to']) == (1, 2, None)
    assert os.stat(kept).st_mtime == 1_000_000
    assert not stale.exists()
    assert (out_dir / f'{ids[1]}.png').exists()


def test_missing_inputs_raise_before_work(data, tmp_path):
    img_dir = osp.join(data['data_root'], 'JPEGImages')
    cam_dir = tmp_path / 'cams'
    shutil.copytree(data['cam_dir'], cam_dir)
    missing = cam_dir / f'{data["ids"][-1]}.npz'
    os.remove(missing)
    out_dir = tmp_path / 'out'
    with pytest.raises(FileNotFoundError, match=str(missing)):
        make_label_dir(
            'ir', str(cam_dir), img_dir, data['ids'], str(out_dir), progress=False
        )
    assert not any(out_dir.glob('*.png'))
    shutil.copy(cam_dir / f'{data["ids"][0]}.npz', cam_dir / 'nope.npz')
    with pytest.raises(FileNotFoundError, match='nope.jpg'):
        make_label_dir(
            'ir', str(cam_dir), img_dir, ['nope'], str(out_dir), progress=False
        )
    with pytest.raises(ValueError, match='kind'):
        make_label_dir('walk', data['cam_dir'], img_dir, data['ids'], str(out_dir))


def test_other_options_or_cams_start_afresh(data, tmp_path):
    img_dir = osp.join(data['data_root'], 'JPEGImages')
    ids = data['ids'][:3]
    cam_dir, out_dir = tmp_path / 'cams', tmp_path / 'labels'
    shutil.copytree(data['cam_dir'], cam_dir)
    write_provenance(str(cam_dir), dict(kind='export', weights='a'))

    def run(**options):
        return make_label_dir(
            'cam',
            str(cam_dir),
            img_dir,
            ids,
            str(out_dir),
            workers=1,
            progress=False,
            **options,
        )

    def stamps(folder):
        return {p.name: p.stat().st_mtime_ns for p in Path(folder).glob('*.png')}

    first = run()
    assert (first['written'], first['reused'], first['moved_to']) == (3, 0, None)
    written = stamps(out_dir)
    # the default spelled out is the same option: everything reused
    again = run(bg_score=0.15)
    assert (again['written'], again['reused'], again['moved_to']) == (0, 3, None)
    assert again['provenance'] == first['provenance'] and stamps(out_dir) == written
    # another threshold: the old folder is kept aside, every PNG made afresh
    other = run(bg_score=0.3)
    assert (other['written'], other['reused']) == (3, 0)
    assert other['provenance'] != first['provenance']
    assert stamps(other['moved_to']) == written
    # other CAMs (another provenance of the CAM folder): afresh again
    write_provenance(str(cam_dir), dict(kind='export', weights='b'))
    fresh = run(bg_score=0.3)
    assert (fresh['written'], fresh['reused']) == (3, 0)
    assert fresh['moved_to'] and fresh['provenance'] != other['provenance']
    assert len(list(tmp_path.glob('labels.old-*'))) == 2
    with pytest.raises(TypeError, match='bg_score'):
        run(fg_thr=0.5)


def test_labels_do_not_depend_on_the_worker_count(data, tmp_path):
    img_dir = osp.join(data['data_root'], 'JPEGImages')
    ids = data['ids'][:6]
    for kind in ('ir', 'psa', 'crf', 'cam'):
        found = {}
        for workers in (1, 3, None):  # None: every CPU of this process
            out_dir = tmp_path / f'{kind}_{workers}'
            counts = make_label_dir(
                kind,
                data['cam_dir'],
                img_dir,
                ids,
                str(out_dir),
                workers=workers,
                progress=False,
            )
            assert counts['written'] == len(ids)
            assert counts['workers_per_rank'] == (workers or cpus_per_rank())
            found[workers] = {
                i: np.asarray(Image.open(out_dir / f'{i}.png')) for i in ids
            }
        for workers in (3, None):
            for i in ids:
                assert np.array_equal(found[workers][i], found[1][i]), (kind, i)
