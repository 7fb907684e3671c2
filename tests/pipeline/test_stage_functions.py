import json
import os.path as osp

import numpy as np
import pytest
from mmengine.hooks import Hook
from mmengine.registry import HOOKS
from PIL import Image

from mmwsss.datasets.fashionpaste import generate_fashionpaste
from mmwsss.pipeline import all_background_miou, run_train_test_stage
from mmwsss.utils.map_file import load_map_file

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = osp.join(ROOT, 'configs/cam/cam_effl0_1xb16-8e_fashionpaste-160.py')


def test_all_background_miou_hand_case(tmp_path):
    a = np.zeros((2, 4), np.uint8)
    a[0, :2] = 1  # 6 bg, 2 class-1
    b = np.full((2, 4), 255, np.uint8)
    b[1] = [0, 2, 2, 0]  # 2 bg, 2 class-2, 4 ignored
    paths = []
    for name, mask in (('a', a), ('b', b)):
        Image.fromarray(mask).save(tmp_path / f'{name}.png')
        paths.append(str(tmp_path / f'{name}.png'))
    # bg IoU = 8 / 12; classes 0, 1, 2 present -> mean over 3
    assert all_background_miou(paths, 4) == pytest.approx(100 * (8 / 12) / 3)


@HOOKS.register_module(force=True)
class _CountValRuns(Hook):
    runs = 0

    def before_val(self, runner):
        type(self).runs += 1


def _seed_miou(cam_dir, data_root, bg_score, num_classes=11):
    """mIoU (%) of the seeds in ``cam_dir`` against the train masks: the
    metric's definition written out independently."""
    conf = np.zeros((num_classes, num_classes), np.int64)
    for image_id in (
        open(f'{data_root}/ImageSets/Segmentation/train.txt').read().split()
    ):
        gt = np.asarray(Image.open(f'{data_root}/SegmentationClass/{image_id}.png'))
        keys, maps = load_map_file(f'{cam_dir}/{image_id}.npz', ('high_res',))
        cams = maps['high_res']
        pred = np.zeros(gt.shape, np.int64)
        if len(keys):
            best = cams.max(axis=0)
            pred = np.where(best > bg_score, keys[cams.argmax(axis=0)], 0)
        valid = gt != 255
        np.add.at(conf, (gt[valid], pred[valid]), 1)
    union = conf.sum(0) + conf.sum(1) - np.diag(conf)
    present = union > 0
    return 100 * float(np.mean(np.diag(conf)[present] / union[present]))


def _cam(work, data, options):
    return run_train_test_stage(
        CONFIG, work, data, options, manifest='cam_stage.json', validate=True
    )


@pytest.mark.slow
def test_cam_train_test_then_skip(tmp_path):
    data = str(tmp_path / 'data')
    generate_fashionpaste(data, size='tiny', seed=0, source='subset', progress=False)
    options = {
        'model.backbone.pretrained': False,
        'model.test_cfg.scales': (1.0,),
        'train_cfg.max_epochs': 1,
        'param_scheduler.0.end': 1,
        'train_dataloader.batch_size': 4,
        'custom_hooks': [
            dict(type='WSSSClassNumCheckHook'),
            dict(type='_CountValRuns'),
        ],
    }
    for name in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        options[f'{name}.num_workers'] = 0
        options[f'{name}.persistent_workers'] = False
    work = str(tmp_path / 'work')
    first = _cam(work, data, options)
    assert first['finished'] and not first['skipped']
    assert _CountValRuns.runs == 1  # validated once, not also inside training
    assert first['num_images'] == 8
    assert first['test']['seed/mIoU'] <= first['test']['seed/mIoU_best']
    # the reported seed mIoU is that of the exported files: recomputed here
    # with plain numpy (background 0.15, IoU over the classes present)
    assert first['test']['seed/mIoU'] == pytest.approx(
        _seed_miou(first['out_dir'], data, 0.15), abs=0.5
    )
    assert 'cls/mAP' in first['val']
    with open(osp.join(work, 'cam_stage.json')) as f:
        assert json.load(f)['test'] == first['test']
    second = _cam(work, data, options)
    assert second['skipped'] and second['test'] == first['test']
    # another config is another stage: it runs again
    third = _cam(work, data, {**options, 'model.test_cfg.flip': False})
    assert not third['skipped']


def test_set_transform_args_reaches_every_pipeline():
    from mmengine.config import Config

    from mmwsss.pipeline import set_transform_args

    cfg = Config.fromfile(CONFIG)
    assert set_transform_args(cfg, 'LoadImageFromFileChecked', to_float32=True) == 3
    for name in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        assert cfg[name].dataset.pipeline[0].to_float32 is True
    assert set_transform_args(cfg, 'NoSuchTransform', x=1) == 0


def _toy_stage(config, work):
    from mmwsss.pipeline import run_train_test_stage

    return run_train_test_stage(str(config), str(work), manifest='toy.json')


def test_train_test_stage_resumes_same_config_and_restarts_another(tmp_path):
    from toy_export import CONFIG, ToyStageProbe

    from mmwsss.utils.provenance import PROVENANCE, read_provenance

    config, work = tmp_path / 'toy.py', tmp_path / 'work'
    config.write_text(CONFIG)
    ToyStageProbe.starts = []
    # interrupted in iteration 3 (iter_2.pth saved), then after one test batch
    ToyStageProbe.fail_train_iter = 2
    with pytest.raises(RuntimeError, match='training iteration 2'):
        _toy_stage(config, work)
    assert (work / PROVENANCE).exists() and (work / 'iter_2.pth').exists()
    ToyStageProbe.fail_train_iter, ToyStageProbe.fail_test_batch = None, 0
    with pytest.raises(RuntimeError, match='test batch 0'):
        _toy_stage(config, work)
    assert ToyStageProbe.starts == [0, 2]  # the same config resumed
    exported = {p.name: p.stat().st_mtime_ns for p in (work / 'preds').glob('*.png')}
    assert len(exported) == 2

    # resumed again: training is over, the export of the same weights resumes
    ToyStageProbe.fail_test_batch = None
    result = _toy_stage(config, work)
    assert ToyStageProbe.starts == [0, 2, 4]
    assert result['finished'] and result['num_images'] == 4
    # every iteration timed once over the three parts: the two before iter_2.pth
    # (kept in its message hub), the two after it; the killed one not at all
    iterations = result['iterations']
    assert iterations['count'] == 4
    assert 0 < iterations['median_s'] <= iterations['sum_s'] / 2
    # the loss at the start and the end of the same four iterations
    assert set(result['loss']) == {'first', 'last', 'max', 'diverged'}
    assert result['loss']['max'] >= result['loss']['first'] > 0
    after = {p.name: p.stat().st_mtime_ns for p in (work / 'preds').glob('*.png')}
    assert len(after) == 4 and all(after[n] == t for n, t in exported.items())
    assert not list(tmp_path.glob('work.old-*'))
    digest = read_provenance(str(work))['digest']
    assert digest == result['config_digest']

    # the file's content changes: the old work dir is kept aside, and training
    # starts from scratch instead of resuming its checkpoint
    config.write_text(CONFIG.replace('lr=0.1', 'lr=0.05'))
    result = _toy_stage(config, work)
    assert ToyStageProbe.starts == [0, 2, 4, 0]
    assert not result['skipped'] and result['config_digest'] != digest
    (old,) = tmp_path.glob('work.old-*')
    assert (old / 'iter_4.pth').exists() and (old / 'toy.json').exists()
    assert read_provenance(str(work))['digest'] == result['config_digest']
    assert len(list((work / 'preds').glob('*.png'))) == 4


def test_train_test_load_from_starts_the_whole_model_from_a_stage(
    tmp_path, monkeypatch
):
    """``load_from='cam'`` hands mmengine the cam stage's checkpoint (the
    whole model, e.g. SEAM fine-tuning the CAM classifier); a stage without a
    checkpoint is named."""
    from mmwsss.pipeline import MissingInputError, PipelineContext, run_stage
    from mmwsss.pipeline.stages import base

    ckpt = tmp_path / 'cam' / 'epoch_8.pth'
    ckpt.parent.mkdir()
    ckpt.write_bytes(b'weights')
    ctx = PipelineContext(str(tmp_path / 'data'), str(tmp_path))
    ctx.results['cam'] = dict(finished=True, checkpoint=str(ckpt))
    ctx.results['bare'] = dict(finished=True, checkpoint=None)
    seen = {}

    def fake_run(config, work_dir, data_root, cfg_options, **kwargs):
        seen.update(cfg_options)
        raise RuntimeError('stop before training')

    monkeypatch.setattr(base, 'run_train_test_stage', fake_run)
    seam = osp.join(ROOT, 'configs/seam/seam_effl0_1xb16-8e_fashionpaste-160.py')
    stage = dict(name='seam', type='TrainTest', config=seam)
    with pytest.raises(RuntimeError, match='stop before training'):
        run_stage(ctx, dict(stage, load_from='cam'))
    assert seen['load_from'] == str(ckpt)
    with pytest.raises(MissingInputError, match="stage 'bare'"):
        run_stage(ctx, dict(stage, load_from='bare'))


def test_run_test_stage_with_tta_wraps_the_model(tmp_path, monkeypatch):
    """``tta=True`` tests with the config's TTA model and pipeline (DeepLab's
    multi-scale + flip + CRF), and the digest differs from the plain test."""
    from mmwsss.pipeline import runner_stage

    ckpt = tmp_path / 'iter_2000.pth'
    ckpt.write_bytes(b'weights')
    built = []

    def fake_from_cfg(cfg):
        built.append(cfg)
        raise RuntimeError('stop before testing')

    monkeypatch.setattr(runner_stage.Runner, 'from_cfg', fake_from_cfg)
    config = osp.join(
        ROOT, 'configs/deeplabv2/deeplabv2_effl0-d16_1xb8-2000it_fashionpaste-160.py'
    )
    for tta in (False, True):
        with pytest.raises(RuntimeError, match='stop before testing'):
            runner_stage.run_test_stage(config, str(ckpt), str(tmp_path), tta=tta)
    plain, wrapped = built
    assert plain.model.type == 'EncoderDecoder'
    assert wrapped.model.type == 'CRFSegTTAModel'
    assert wrapped.model.module.type == 'EncoderDecoder'
    assert wrapped.test_dataloader.dataset.pipeline[1].type == 'TestTimeAug'


def test_load_from_starts_fresh_and_an_interrupted_run_resumes_its_own(
    tmp_path, monkeypatch
):
    """A stage with ``load_from`` (whole-model start, e.g. SEAM from the CAM
    classifier) trains fresh from those weights: mmengine's resume would load
    that checkpoint's optimizer and epoch too. Once the stage has checkpoints
    of its own, an interrupted run resumes from them, not from load_from."""
    from mmwsss.pipeline import runner_stage

    start = tmp_path / 'cam.pth'
    start.write_bytes(b'weights')
    work = tmp_path / 'seam'
    built = []

    def fake_from_cfg(cfg):
        built.append((cfg.resume, cfg.load_from))
        raise RuntimeError('stop before training')

    monkeypatch.setattr(runner_stage.Runner, 'from_cfg', fake_from_cfg)
    config = osp.join(ROOT, 'configs/seam/seam_effl0_1xb16-8e_fashionpaste-160.py')
    options = {'load_from': str(start)}
    with pytest.raises(RuntimeError, match='stop before training'):
        runner_stage.run_train_test_stage(config, str(work), cfg_options=options)
    assert built[-1] == (False, str(start))
    # the same config, interrupted after its first checkpoint
    (work / 'epoch_1.pth').write_bytes(b'own')
    (work / 'last_checkpoint').write_text(str(work / 'epoch_1.pth'))
    with pytest.raises(RuntimeError, match='stop before training'):
        runner_stage.run_train_test_stage(config, str(work), cfg_options=options)
    assert built[-1] == (True, None)
    assert (work / 'epoch_1.pth').exists()  # kept: same config
