"""tools/benchmark.py renders every stage's row from a results JSON."""

import os.path as osp

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def _results():
    cam_test = {'seed/mIoU': 25.0, 'seed/mIoU_best': 37.0, 'seed/best_bg_score': 0.47}
    labels = dict(mIoU=40.0, coverage=50.0, precision=90.0, images_per_s=5.0)
    stage = dict(train_s=100.0, export_images_per_s=4.0)
    return {
        'dataset': dict(
            size='bench',
            source='subset',
            counts=dict(train=2000, val=500),
            image_size=[160, 160],
            generate_s=None,
        ),
        'all_background_miou': 7.2,
        'cam': dict(
            config='configs/cam/c.py',
            test=cam_test,
            val={'cls/mAP': 75.0},
            train_s=1200.0,
            export_images_per_s=4.6,
            num_images=2000,
            export_s=436.0,
        ),
        'ir_labels': labels,
        'psa_labels': labels,
        'cam_labels': dict(labels, mIoU=30.0),
        'irn': dict(stage, config='configs/irn/i.py', test={'mIoU': 45.0}),
        'affinitynet': dict(stage, config='configs/a/a.py', test={'mIoU': 42.0}),
        'deeplabv2': {
            key: dict(
                config='configs/deeplabv2/d.py',
                test={'mIoU': miou},
                train_s=500.0,
                export_images_per_s=20.0,
            )
            for key, miou in (('cam_labels', 30.0), ('irn', 40.0), ('gt', 50.0))
        },
        'machine': dict(
            cpu='cpu',
            cores=2,
            torch='2',
            threads=2,
            cuda=False,
            python='3.11',
            commit='abc',
            date='2026-12-01',
        ),
        'command': 'python tools/benchmark.py --size bench',
    }


def test_render_has_every_stage(import_tool, monkeypatch):
    monkeypatch.syspath_prepend(osp.join(ROOT, 'tools'))
    text = import_tool('benchmark').render(_results())
    assert '| CAM seeds |' in text and '| IRN |' in text and '| AffinityNet |' in text
    assert 'DeepLabV2 on IRN masks' in text and 'val 40.0 (80% of ground truth)' in text
    assert 'DeepLabV2 on CAM seed masks' in text and '(60% of ground truth)' in text
    assert '| DeepLabV2 on ground truth |' in text and 'val 50.0' in text
    # no DeepLabV2 run on AffinityNet masks in these results: no row for it
    assert 'DeepLabV2 on AffinityNet' not in text
    assert 'DeepLabV2 training on IRN masks (2000 images) | 500 s' in text
