"""WISE in a pipeline: PRM classifier -> thresholds -> proposals -> one
instance per peak -> merged COCO json, scored against the ground truth."""

import json
import os
import os.path as osp

import numpy as np
import pytest
import torch
from PIL import Image
from test_stage_runner import CONFIGS, tiny_pipeline

import mmwsss  # noqa: F401
from mmwsss.evaluation.instance_ap import decode_mask, encode_mask
from mmwsss.models.heads import PRMHead
from mmwsss.ops.peaks import peak_stimulation
from mmwsss.pipeline import run_pipeline
from mmwsss.pipeline.stages.proposals import proposal_metrics
from mmwsss.pipeline.wise import SKIP_KEYS, load_proposals, make_wise_dir

PRM = f'{CONFIGS}/prm/prm_effl0_1xb16-8e_fashionpaste-160.py'


def test_prm_head_scores_by_peak_stimulation():
    torch.manual_seed(0)
    head = PRMHead(in_channels=4, num_classes=3)
    head.init_weights()
    feats = torch.randn(2, 4, 6, 6)
    torch.testing.assert_close(head(feats), peak_stimulation(head.cam(feats)))
    up = PRMHead(in_channels=4, num_classes=3, upsample=2)
    up.load_state_dict(head.state_dict())
    maps = torch.nn.functional.interpolate(
        head.cam(feats), scale_factor=2, mode='bilinear', align_corners=True
    )  # PRM's sub-pixel peak locating
    torch.testing.assert_close(up.response_maps(feats), maps)
    torch.testing.assert_close(up(feats), peak_stimulation(maps))
    with pytest.raises(ValueError, match='upsample'):
        PRMHead(in_channels=4, num_classes=3, upsample=0)


def test_prm_head_bias_offsets_every_map_and_learns():
    """PRM's classifier has a per-class bias: it shifts a class's whole map
    (so its peaks' score) and receives the loss's gradient."""
    torch.manual_seed(0)
    head = PRMHead(in_channels=4, num_classes=3)
    head.init_weights()
    feats = torch.rand(2, 4, 6, 6)
    before = head.cam(feats)
    with torch.no_grad():
        head.bias.copy_(torch.tensor([-1.0, 0.0, 2.0]))
    after = head.cam(feats)
    torch.testing.assert_close(
        after - before,
        torch.tensor([-1.0, 0.0, 2.0]).view(1, 3, 1, 1).expand_as(before),
    )
    torch.testing.assert_close(head(feats), peak_stimulation(after))
    loss = head.loss(feats, torch.tensor([[1, 0, 0], [0, 0, 1]]))
    sum(loss.values()).backward()
    assert head.bias.grad is not None and head.bias.grad.abs().sum() > 0


def wise_pipeline(data_root, work_dir):
    cfg = tiny_pipeline(data_root, work_dir)
    stages = {s['name']: s for s in cfg.stages}
    prm = dict(stages['cam'], name='prm', config=PRM)
    # PRM's rates are constant: no scheduler to shorten
    options = prm['cfg_options']
    prm['cfg_options'] = {
        k: v for k, v in options.items() if not k.startswith('param_scheduler')
    }
    cfg.stages = [
        stages['data'],
        prm,
        dict(name='prm_thresholds', type='Thresholds', cams='prm'),
        dict(name='proposals', type='Proposals', workers=1),
        dict(
            name='wise',
            type='WISE',
            cams='prm',
            proposals='proposals',
            thresholds='prm_thresholds',
            min_score='auto:bg_score',
            workers=1,
        ),
    ]
    cfg.report = dict(num_samples=0)
    return cfg


@pytest.mark.slow
def test_wise_pipeline_writes_scored_pseudo_instances(shared_pipeline):
    cfg = wise_pipeline(*shared_pipeline)
    results = run_pipeline(cfg)
    ids = open(osp.join(cfg.data_root, 'ImageSets/Segmentation/train.txt')).read()
    ids = ids.split()
    proposals = results['proposals']
    assert proposals['written'] == len(ids) and proposals['images_per_s'] > 0
    masks, scores = load_proposals(osp.join(proposals['out_dir'], ids[0] + '.json'))
    assert masks.dtype == bool and len(masks) == len(scores) > 0
    assert np.all(np.diff(scores) <= 0)
    wise = results['wise']
    # the threshold is the PRM maps' own ground-truth-free background score
    assert (
        wise['options']['min_score']
        == results['prm_thresholds']['thresholds']['bg_score']
    )
    with open(wise['outputs']['pseudo_instances_coco']) as f:
        coco = json.load(f)
    assert [i['file_name'] for i in coco['images']] == [f'{i}.jpg' for i in ids]
    assert len(coco['annotations']) == wise['instances'] > 0
    labels = json.load(open(osp.join(cfg.data_root, 'cls_labels.json')))
    for ann in coco['annotations']:  # only the images' own classes
        image = coco['images'][ann['image_id'] - 1]
        assert ann['category_id'] in labels[image['file_name'][:-4]]
    assert set(wise['skipped']) == set(SKIP_KEYS)
    # the PRM stage's peak responses were read, and the peaks kept are counted
    assert wise['cues'] == 'peak responses'
    assert wise['peaks'] > 0
    metrics = wise['metrics']
    for key in (
        'AP50',
        'AP75',
        'AP',
        'voc_AP25',
        'voc_AP50',
        'voc_AP75',
        'ABO',
        'precision50',
        'recall50',
    ):
        assert 0 <= metrics[f'instance/{key}'] <= 100, key
    assert metrics['peaks/per_object'] == pytest.approx(
        wise['peaks'] / sum(1 for _ in _gt_objects(cfg.data_root, ids)), abs=1e-3
    )
    assert 0 <= metrics['peaks/objects_hit'] <= 100
    assert 0 < proposals['metrics']['proposals/ABO'] <= 100
    assert 0 <= proposals['metrics']['proposals/recall50'] <= 100
    # a rerun reuses both stages
    again = run_pipeline(cfg)
    assert again['wise']['digest'] == wise['digest']


def _gt_objects(data_root, ids):
    for image_id in ids:
        objects = np.asarray(
            Image.open(osp.join(data_root, 'SegmentationObject', image_id + '.png'))
        )
        yield from (v for v in np.unique(objects) if v not in (0, 255))


def _write_proposals(path, masks, scores):
    h, w = masks.shape[1:] if len(masks) else (8, 8)
    with open(path, 'w') as f:
        json.dump(
            dict(
                file_name=osp.basename(path),
                height=h,
                width=w,
                proposals=[
                    dict(segmentation=encode_mask(m), score=float(s))
                    for m, s in zip(masks, scores)
                ],
            ),
            f,
        )


def test_bad_proposal_inputs_are_named_or_counted(tmp_path):
    """A missing proposal file names the image; an empty one and a peak that
    no proposal holds are counted skips; an image whose classes have no peak
    is counted."""
    root, cams, props, out = (tmp_path / n for n in ('data', 'cams', 'props', 'out'))
    for folder in (root, cams, props):
        folder.mkdir()
    labels = {'a': [1], 'b': [2], 'c': [1]}
    (root / 'cls_labels.json').write_text(json.dumps(labels))
    maps = np.zeros((1, 8, 8), np.float32)
    maps[0, 2, 2] = 1.0
    for i, key in (('a', 1), ('b', 2), ('c', 1)):
        np.savez(cams / f'{i}.npz', keys=np.array([key]), high_res=maps)
    square = np.zeros((1, 8, 8), bool)
    square[0, 1:4, 1:4] = True
    _write_proposals(props / 'a.json', square, [0.9])
    _write_proposals(props / 'b.json', np.zeros((0, 8, 8), bool), [])  # empty
    with pytest.raises(FileNotFoundError, match="'c'"):
        make_wise_dir(str(cams), str(props), str(root), ['a', 'b', 'c'], str(out))
    far = np.zeros((1, 8, 8), bool)
    far[0, 6:, 6:] = True
    _write_proposals(props / 'c.json', far, [0.5])  # misses the peak
    ids = ['a', 'b', 'c']
    counts = make_wise_dir(
        str(cams), str(props), str(root), ids, str(out), workers=1, candidates='holding'
    )
    assert counts['instances'] == 1  # image a's square
    assert counts['skipped']['peak_without_proposal'] == 2  # b (empty) and c
    # PRM's retrieval (the default) lets c's peak take the proposal it misses
    counts = make_wise_dir(
        str(cams), str(props), str(root), ids, str(tmp_path / 'prm'), workers=1
    )
    assert counts['instances'] == 2
    assert counts['skipped']['peak_without_proposal'] == 1  # b (empty)
    # an image labelled with a class whose map has no peak above min_score
    out2 = tmp_path / 'out2'
    counts = make_wise_dir(
        str(cams), str(props), str(root), ['a'], str(out2), min_score=2.0, workers=1
    )
    assert counts['instances'] == 0 and counts['skipped']['image_without_peak'] == 1
    assert sorted(os.listdir(out2)) == ['a.json', 'provenance.json']


def _squares():
    """Two 4x4 squares of a 16x16 image: (2:6, 2:6) and (9:13, 8:12)."""
    a = np.zeros((16, 16), bool)
    a[2:6, 2:6] = True
    b = np.zeros((16, 16), bool)
    b[9:13, 8:12] = True
    return a, b


def test_wise_from_peak_response_files(tmp_path):
    """A PRM stage's peak responses: each kept peak retrieves the proposal its
    response map points at (not the most objectlike one), scored by the
    sigmoid of its response; peaks under min_score times their class map's
    maximum are left out; the peaks kept are recorded per image."""
    root, prm, props, out = (tmp_path / n for n in ('data', 'prm', 'props', 'out'))
    for folder in (root, prm, props):
        folder.mkdir()
    (root / 'cls_labels.json').write_text(json.dumps({'a': [1, 2]}))
    a, b = _squares()
    both = a | b
    _write_proposals(props / 'a.json', np.stack([both, b, a]), [0.9, 0.5, 0.4])
    prms = np.zeros((3, 8, 8), np.float16)  # stored at stride 2
    prms[0, 1:3, 1:3] = 1.0  # square a
    prms[1, 5, 4:6] = 1.0  # square b
    prms[2, 7, 7] = 1.0
    class_maps = np.zeros((2, 4, 4), np.float32)
    class_maps[0, 1, 1], class_maps[1, 2, 2] = 2.0, 4.0
    np.savez_compressed(
        prm / 'a.npz',
        keys=np.array([1, 2], np.int16),
        prm_class_maps=class_maps,
        peak_labels=np.array([1, 2, 2], np.int16),
        peak_points=np.array([[3, 3], [10, 9], [15, 15]], np.int32),
        peak_values=np.array([2.0, 4.0, 1.0], np.float32),
        peak_responses=prms,
    )
    counts = make_wise_dir(
        str(tmp_path / 'unused'),
        str(props),
        str(root),
        ['a'],
        str(out),
        min_score=0.3,  # the third peak has 1 / 4 of its class's maximum
        workers=1,
        peak_dir=str(prm),
    )
    assert counts['instances'] == 2 and counts['peaks'] == 2
    record = json.load(open(out / 'a.json'))
    got = [(i['category_id'], i['score']) for i in record['instances']]
    assert sorted(got) == [
        (1, pytest.approx(1 / (1 + np.exp(-2.0)))),
        (2, pytest.approx(1 / (1 + np.exp(-4.0)))),
    ]
    masks = {
        i['category_id']: decode_mask(i['segmentation']) for i in record['instances']
    }
    assert np.array_equal(masks[1], a) and np.array_equal(masks[2], b)
    assert [p[:3] for p in record['peaks']] == [[1, 3, 3], [2, 10, 9]]
    assert counts['skipped']['peak_without_proposal'] == 0


def test_proposal_metrics_ceiling_and_recall(tmp_path):
    a, b = _squares()
    objects = np.zeros((16, 16), np.uint8)
    objects[a], objects[b] = 1, 2
    classes = np.zeros_like(objects)
    classes[a], classes[b] = 3, 4
    for folder, array in (
        ('SegmentationObject', objects),
        ('SegmentationClass', classes),
    ):
        (tmp_path / folder).mkdir()
        Image.fromarray(array).save(tmp_path / folder / 'x.png')
    props = tmp_path / 'props'
    props.mkdir()
    half = a.copy()
    half[2:4] = False  # IoU 0.5 with a
    _write_proposals(props / 'x.json', np.stack([a, half]), [0.5, 0.9])
    _write_proposals(props / 'y.json', np.stack([a]), [0.5])  # no ground truth
    out = proposal_metrics(str(tmp_path), ['x', 'y'], str(props))
    # a found exactly, b by nothing: ABO (1 + 0) / 2, recall 1 of 2
    assert out == {
        'proposals/ABO': 50.0,
        'proposals/recall50': 50.0,
        'proposals/per_image': 2.0,
        'proposals/scored_images': 1,
    }
    assert proposal_metrics(str(tmp_path), ['y'], str(props)) == {}


def test_prm_cues_without_the_instance_cue_score_with_the_class_map():
    """``instance_cue=False``: the peaks and backgrounds stay PRM's, each
    peak's response map becomes its class's map (bicubic to the image size,
    clipped at 0, summing to 1), the same for two peaks of one class."""
    from mmwsss.pipeline.wise import prm_cues

    maps = np.zeros((2, 4, 4), np.float32)
    maps[0, 1, 1] = 4.0
    maps[0, 2, 3] = 3.0
    maps[1, 3, 0] = 2.0
    peaks = np.zeros((3, 8, 8), np.float32)
    for i, (y, x) in enumerate(((2, 2), (5, 6), (7, 0))):
        peaks[i, y, x] = 1.0  # each peak response map: its own pixel
    cues = dict(
        keys=np.array([3, 5]),
        prm_class_maps=maps,
        peak_labels=np.array([3, 3, 5]),
        peak_points=np.array([[2, 2], [5, 6], [7, 0]]),
        peak_values=np.array([4.0, 3.0, 2.0], np.float32),
        peak_responses=peaks,
    )
    found, responses, bgs = prm_cues(cues, (8, 8), 0.5, 0.95)
    assert [p[:3] for p in found] == [(3, 2, 2), (3, 5, 6), (5, 7, 0)]
    np.testing.assert_allclose(responses, peaks)
    found2, responses2, bgs2 = prm_cues(cues, (8, 8), 0.5, 0.95, instance_cue=False)
    assert found2 == found
    assert all(np.array_equal(bgs[k], bgs2[k]) for k in bgs)
    up = torch.nn.functional.interpolate(
        torch.from_numpy(maps)[:, None], size=(8, 8), mode='bicubic'
    )[:, 0].clamp(min=0)
    up = (up / up.sum(dim=(1, 2), keepdim=True)).numpy()
    np.testing.assert_allclose(responses2, up[[0, 0, 1]], rtol=1e-5, atol=1e-7)
    assert (responses2 >= 0).all()
    np.testing.assert_allclose(responses2.sum(axis=(1, 2)), 1.0, rtol=1e-5)
