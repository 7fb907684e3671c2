"""The runner's provenance rules on stage kinds defined here (fast, no model):
a stage reruns exactly when something it depends on changed, by content."""

import json
import os
import os.path as osp

import pytest
from mmengine.config import Config

from mmwsss.pipeline import MissingInputError, run_pipeline, runner
from mmwsss.pipeline.context import Input
from mmwsss.pipeline.stages import BaseStage, ConfigStage
from mmwsss.registry import STAGES
from mmwsss.utils.provenance import write_provenance

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
#: How often each stage's ``run`` was called, by stage name.
CALLS: dict[str, int] = {}
#: What the ``Make`` stages write, by stage name (a test changes it to make a
#: producer's rerun write other content).
CONTENT: dict[str, str] = {}


def _count(name):
    CALLS[name] = CALLS.get(name, 0) + 1


@STAGES.register_module()
class MakeData(BaseStage):
    """Writes a generated set's manifest into the data root (as FashionPaste)."""

    makes_data = True

    def run(self, ctx, seed: int = 0) -> dict:
        _count(self.name)
        with open(osp.join(ctx.data_root, 'fashionpaste.json'), 'w') as f:
            json.dump(dict(seed=seed, finished=True), f)
        return dict(kind='dataset', out_dir=ctx.data_root)


@STAGES.register_module()
class Make(BaseStage):
    """Writes ``CONTENT[name]`` (or ``text``) into ``{stage}/out/a.txt`` with a
    provenance record of what made it (as label folders and exports have),
    and reports its length as a metric."""

    def run(self, ctx, text: str = 'x') -> dict:
        _count(self.name)
        text = CONTENT.get(self.name, text)
        out = osp.join(ctx.stage_dir(self.name), 'out')
        os.makedirs(out, exist_ok=True)
        with open(osp.join(out, 'a.txt'), 'w') as f:
            f.write(text)
        write_provenance(out, dict(text=text))
        return dict(out_dir=out, outputs=dict(out=out), metrics=dict(size=len(text)))


@STAGES.register_module()
class Read(BaseStage):
    """Reads another stage's folder (``src``) and maybe an oracle value."""

    inputs = dict(src=Input('text'))

    def run(self, ctx, src: str, option=None) -> dict:
        _count(self.name)
        with open(osp.join(src, 'a.txt')) as f:
            text = f.read()
        return dict(out_dir=ctx.stage_dir(self.name), metrics=dict(read=text))


class UpperInput(Input):
    """An input kind defined outside the runner: the producer's text, upper
    case, digested by its value."""

    def resolve(self, ctx, consumer, ref):
        with open(osp.join(ctx.output_of(consumer, ref, self.what), 'a.txt')) as f:
            return f.read().upper()

    def digest(self, value):
        return value


@STAGES.register_module()
class Shout(BaseStage):
    """A new kind with a new kind of input, in one class: no runner edit."""

    inputs = dict(words=UpperInput('words'))

    def run(self, ctx, words: str) -> dict:
        _count(self.name)
        return dict(out_dir=ctx.stage_dir(self.name), metrics=dict(words=words))


def _pipeline(tmp_path, *stages):
    (tmp_path / 'data').mkdir(parents=True, exist_ok=True)
    return Config(
        dict(
            data_root=str(tmp_path / 'data'),
            work_dir=str(tmp_path / 'work'),
            stages=list(stages),
        )
    )


@pytest.fixture(autouse=True)
def _fresh_counts():
    CALLS.clear()
    CONTENT.clear()


def test_a_retrained_producer_reruns_its_consumers_and_nothing_else(tmp_path):
    cfg = _pipeline(
        tmp_path,
        dict(name='a', type='Make'),
        dict(name='b', type='Make', text='b'),
        dict(name='read_a', type='Read', src='a'),
        dict(name='read_b', type='Read', src='b.out'),
    )
    run_pipeline(cfg, report=False)
    assert CALLS == dict(a=1, b=1, read_a=1, read_b=1)
    CONTENT['a'] = 'new'  # the rerun of 'a' writes other content
    run_pipeline(cfg, only='a', report=False)
    assert CALLS == dict(a=2, b=1, read_a=1, read_b=1)
    results = run_pipeline(cfg, report=False)
    assert CALLS == dict(a=2, b=1, read_a=2, read_b=1)
    assert results['read_a']['metrics']['read'] == 'new'
    # a producer rerun that writes the same content changes no consumer
    run_pipeline(cfg, only='b', report=False)
    run_pipeline(cfg, report=False)
    assert CALLS == dict(a=2, b=2, read_a=2, read_b=1)
    # the manifest says what each input was
    manifest = json.load(open(tmp_path / 'work' / 'read_a' / 'stage.json'))
    assert manifest['inputs'] == dict(src='a')
    assert set(manifest['provenance']['inputs']) == {'src'}


def test_an_edited_config_file_reruns_the_stage(tmp_path):
    """The digest covers a ``config=`` file's parsed content, not its path."""

    @STAGES.register_module(force=True)
    class Configured(BaseStage):
        def config_digests(self):
            return {'config': str(Config.fromfile(self.settings['config']).pretty_text)}

        def run(self, ctx, config: str) -> dict:
            _count(self.name)
            return dict(out_dir=ctx.stage_dir(self.name))

    config = tmp_path / 'net.py'
    config.write_text('train_cfg = dict(max_epochs=1)\n')
    cfg = _pipeline(tmp_path, dict(name='net', type='Configured', config=str(config)))
    run_pipeline(cfg, report=False)
    run_pipeline(cfg, report=False)
    assert CALLS == dict(net=1)
    config.write_text('train_cfg = dict(max_epochs=2)\n')
    run_pipeline(cfg, report=False)
    assert CALLS == dict(net=2)
    assert len(list(tmp_path.glob('work/net.old-*'))) == 1


def test_a_real_config_stage_digests_the_merged_config(tmp_path):
    """TrainTest's digest part is the config with its _base_ files merged."""
    base = f'{ROOT}/configs/cam/cam_effl0_1xb16-8e_fashionpaste-160.py'
    child = tmp_path / 'cam.py'
    child.write_text(f'_base_ = [{base!r}]\ntrain_cfg = dict(max_epochs=1)\n')
    first = STAGES.build(dict(name='c', type='TrainTest', config=str(child)))
    same = STAGES.build(dict(name='c', type='TrainTest', config=str(child)))
    assert first.config_digests() == same.config_digests()
    child.write_text(child.read_text().replace('max_epochs=1', 'max_epochs=2'))
    edited = STAGES.build(dict(name='c', type='TrainTest', config=str(child)))
    assert edited.config_digests() != first.config_digests()


def test_a_moved_project_keeps_its_finished_stages(tmp_path):
    """A config stage is recorded by its file's content and name, not its
    path: the same project in another folder (a clone, a worktree) reuses the
    finished stages; another file name or content reruns."""
    base = f'{ROOT}/configs/cam/cam_effl0_1xb16-8e_fashionpaste-160.py'
    for where in ('a', 'b'):
        (tmp_path / where).mkdir()
        (tmp_path / where / 'cam.py').write_text(f'_base_ = [{base!r}]\n')
    (tmp_path / 'b' / 'other.py').write_text(f'_base_ = [{base!r}]\n')

    def record(path):
        stage = STAGES.build(dict(name='c', type='TrainTest', config=str(path)))
        return stage.recorded_settings(), stage.config_digests()

    assert record(tmp_path / 'a' / 'cam.py') == record(tmp_path / 'b' / 'cam.py')
    assert record(tmp_path / 'a' / 'cam.py')[0]['config'] == 'cam.py'
    assert record(tmp_path / 'b' / 'other.py') != record(tmp_path / 'a' / 'cam.py')


def test_data_regenerated_in_place_reruns_every_later_stage(tmp_path):
    cfg = _pipeline(
        tmp_path,
        dict(name='data', type='MakeData', seed=0),
        dict(name='a', type='Make'),
        dict(name='read_a', type='Read', src='a'),
    )
    run_pipeline(cfg, report=False)
    run_pipeline(cfg, report=False)
    assert CALLS == dict(data=1, a=1, read_a=1)
    # the same data root, another generator seed: nothing made from the old
    # set is reused
    cfg.stages[0]['seed'] = 7
    run_pipeline(cfg, report=False)
    assert CALLS == dict(data=2, a=2, read_a=2)
    # a file of a data root without a generator manifest, replaced outside
    # the pipeline, reruns the stages too
    plain = _pipeline(tmp_path / 'plain', dict(name='a', type='Make'))
    (tmp_path / 'plain' / 'data' / 'x.jpg').write_bytes(b'1')
    run_pipeline(plain, report=False)
    (tmp_path / 'plain' / 'data' / 'x.jpg').write_bytes(b'22')
    run_pipeline(plain, report=False)
    assert CALLS['a'] == 4


def test_a_new_code_version_reruns_unless_kept_and_says_so(tmp_path, monkeypatch):
    cfg = _pipeline(
        tmp_path, dict(name='a', type='Make'), dict(name='read_a', type='Read', src='a')
    )
    run_pipeline(cfg, report=False)
    monkeypatch.setattr(runner, 'code_digest', lambda: 'another-version')
    # kept on request (a change known not to touch them): recorded; 'all' as
    # the command line's list gives it
    results = run_pipeline(cfg, report=False, keep_code=['all'])
    assert CALLS == dict(a=1, read_a=1)
    (kept,) = results['a']['code_kept']
    assert kept['now'] == 'another-version' and kept['was'] != kept['now']
    manifest = json.load(open(tmp_path / 'work' / 'a' / 'stage.json'))
    assert manifest['code_kept'] == [kept]
    # the next version, not kept: every stage reruns
    monkeypatch.setattr(runner, 'code_digest', lambda: 'a-third-version')
    run_pipeline(cfg, report=False, keep_code=['read_a'])  # 'a' reruns anyway
    assert CALLS == dict(a=2, read_a=1)  # its output is the same: read_a kept
    run_pipeline(cfg, report=False)
    assert CALLS == dict(a=2, read_a=1)


#: Parts each ``Parts`` stage wrote, by stage name; and after how many newly
#: written parts it stops with an error (an interruption), by stage name.
WRITTEN: dict[str, list[int]] = {}
STOP_AFTER: dict[str, int] = {}


@STAGES.register_module()
class Parts(BaseStage):
    """Writes ``parts/{i}.txt`` for i < n under a provenance record of its own
    (as an export does), skipping the parts already there."""

    def run(self, ctx, n: int = 3) -> dict:
        from mmwsss.utils.provenance import check_or_reset

        out = osp.join(ctx.stage_dir(self.name), 'parts')
        check_or_reset(out, dict(kind='parts', stage=self.digest))
        new = WRITTEN.setdefault(self.name, [])
        for i in range(n):
            if osp.exists(osp.join(out, f'{i}.txt')):
                continue
            if len(new) == STOP_AFTER.get(self.name):
                raise RuntimeError('interrupted')
            with open(osp.join(out, f'{i}.txt'), 'w') as f:
                f.write(str(i))
            new.append(i)
        return dict(out_dir=out)


def test_an_interrupted_stage_resumes_across_a_kept_code_change(tmp_path, monkeypatch):
    from mmwsss.utils import provenance

    WRITTEN.clear()
    cfg = _pipeline(tmp_path, dict(name='p', type='Parts', n=3))
    STOP_AFTER['p'] = 1
    with pytest.raises(RuntimeError, match='interrupted'):
        run_pipeline(cfg, report=False)
    assert WRITTEN == dict(p=[0])
    manifest = json.load(open(tmp_path / 'work' / 'p' / 'stage.json'))
    assert not manifest['finished'] and manifest['provenance']['kind'] == 'Parts'
    for module in (runner, provenance):  # a new version of mmwsss
        monkeypatch.setattr(module, 'code_digest', lambda: 'next-version')
    # kept: it resumes under the record it started with (part 0 reused), and
    # is interrupted again, and resumes again
    STOP_AFTER['p'] = 2
    with pytest.raises(RuntimeError, match='interrupted'):
        run_pipeline(cfg, report=False, keep_code=['p'])
    assert WRITTEN == dict(p=[0, 1])
    del STOP_AFTER['p']
    results = run_pipeline(cfg, report=False, keep_code=['p'])
    assert WRITTEN == dict(p=[0, 1, 2])
    assert not list(tmp_path.glob('work/p.old-*'))
    (kept,) = results['p']['code_kept']
    assert kept['now'] == 'next-version' and kept['resumed'] is True
    assert results['p']['provenance']['code'] == 'next-version'
    run_pipeline(cfg, report=False)  # finished under the new version
    assert WRITTEN == dict(p=[0, 1, 2])


def test_just_runs_one_stage_as_a_plain_run_would(tmp_path):
    """``just``: one stage alone, resumed where it was interrupted (``only``
    would start it afresh) and skipped once finished; the others are neither
    run nor checked, and a stage of the pipeline is named or refused."""
    WRITTEN.clear()
    cfg = _pipeline(
        tmp_path,
        dict(name='a', type='Make'),
        dict(name='p', type='Parts', n=3),
        dict(name='q', type='Parts', n=1),
    )
    STOP_AFTER['p'] = 1
    with pytest.raises(RuntimeError, match='interrupted'):
        run_pipeline(cfg, report=False, just='p')
    assert WRITTEN == dict(p=[0]) and 'a' not in CALLS
    del STOP_AFTER['p']
    results = run_pipeline(cfg, report=False, just='p')
    assert WRITTEN == dict(p=[0, 1, 2])  # resumed: part 0 kept
    assert results['p']['finished'] and not list(tmp_path.glob('work/p.old-*'))
    run_pipeline(cfg, report=False, just='p')
    assert WRITTEN == dict(p=[0, 1, 2]) and 'q' not in WRITTEN
    # only= reruns it afresh, its folder moved aside
    run_pipeline(cfg, report=False, only='p')
    assert WRITTEN == dict(p=[0, 1, 2, 0, 1, 2])
    assert len(list(tmp_path.glob('work/p.old-*'))) == 1
    with pytest.raises(KeyError, match="'r'"):
        run_pipeline(cfg, report=False, just='r')
    with pytest.raises(ValueError, match='one of'):
        run_pipeline(cfg, report=False, just='p', only='q')


def test_an_interrupted_stage_restarts_after_a_code_change_not_kept(
    tmp_path, monkeypatch
):
    from mmwsss.utils import provenance

    WRITTEN.clear()
    cfg = _pipeline(tmp_path, dict(name='p', type='Parts', n=2))
    STOP_AFTER['p'] = 1
    with pytest.raises(RuntimeError, match='interrupted'):
        run_pipeline(cfg, report=False)
    del STOP_AFTER['p']
    for module in (runner, provenance):
        monkeypatch.setattr(module, 'code_digest', lambda: 'next-version')
    run_pipeline(cfg, report=False)
    assert WRITTEN == dict(p=[0, 0, 1])  # part 0 made again
    assert len(list(tmp_path.glob('work/p.old-*'))) == 1


def test_the_code_digest_covers_the_package_sources(tmp_path, monkeypatch):
    from mmwsss.utils import provenance

    package = tmp_path / 'pkg'
    (package / 'ops').mkdir(parents=True)
    (package / 'ops' / 'walk.py').write_text('STEP = 1\n')
    (package / 'README.md').write_text('docs')
    monkeypatch.setattr(provenance, 'PACKAGE_DIR', str(package))
    provenance.code_digest.cache_clear()
    first = provenance.code_digest()
    (package / 'README.md').write_text('other docs')  # not code
    provenance.code_digest.cache_clear()
    assert provenance.code_digest() == first
    (package / 'ops' / 'walk.py').write_text('STEP = 2\n')
    provenance.code_digest.cache_clear()
    assert provenance.code_digest() != first
    provenance.code_digest.cache_clear()


def test_an_oracle_reference_is_an_input(tmp_path):
    cfg = _pipeline(
        tmp_path,
        dict(name='a', type='Make'),
        dict(name='b', type='Make'),
        dict(name='read_b', type='Read', src='b', option='oracle:a:size'),
    )
    run_pipeline(cfg, report=False)
    CONTENT['a'] = 'longer'  # a's metric changes
    run_pipeline(cfg, only='a', report=False)
    run_pipeline(cfg, report=False)
    assert CALLS == dict(a=2, b=1, read_b=2)
    manifest = json.load(open(tmp_path / 'work' / 'read_b' / 'stage.json'))
    assert manifest['provenance']['inputs']['oracle'] == {'a:size': 6}
    # checked up front: an oracle of a later stage fails before anything runs
    CALLS.clear()
    late = _pipeline(
        tmp_path / 'late',
        dict(name='a', type='Make'),
        dict(name='read_a', type='Read', src='a', option='oracle:b:size'),
        dict(name='b', type='Make'),
    )
    with pytest.raises(ValueError, match="oracle='b:size'.*not an earlier"):
        run_pipeline(late, report=False)
    assert CALLS == {}


def test_a_new_kind_with_its_own_input_needs_no_runner_edit(tmp_path):
    cfg = _pipeline(
        tmp_path,
        dict(name='a', type='Make'),
        dict(name='shout', type='Shout', words='a'),
    )
    results = run_pipeline(cfg, report=False)
    assert results['shout']['metrics']['words'] == 'X'
    assert results['shout']['provenance']['inputs'] == dict(words='X')
    CONTENT['a'] = 'y'
    run_pipeline(cfg, only='a', report=False)
    assert run_pipeline(cfg, report=False)['shout']['metrics']['words'] == 'Y'
    # its inputs are checked up front like any other's
    bad = _pipeline(tmp_path / 'bad', dict(name='shout', type='Shout', words='a'))
    with pytest.raises(ValueError, match="words='a'.*not an earlier"):
        run_pipeline(bad, report=False)


def test_unknown_arguments_and_missing_inputs_are_named(tmp_path):
    with pytest.raises(TypeError, match=r"stage 'r' \(Read\).*'nope'.*its arguments"):
        run_pipeline(
            _pipeline(
                tmp_path,
                dict(name='a', type='Make'),
                dict(name='r', type='Read', src='a', nope=1),
            ),
            report=False,
        )
    cfg = _pipeline(
        tmp_path, dict(name='a', type='Make'), dict(name='read_a', type='Read', src='a')
    )
    with pytest.raises(MissingInputError, match="needs the text of stage 'a'"):
        run_pipeline(cfg, only='read_a', report=False)


def test_folders_of_other_code_or_other_data_are_not_reused(tmp_path, monkeypatch):
    """What tools/test.py and tools/refine_seeds.py rely on: an export or label
    folder records the code and the dataset's content it was made from."""
    from mmwsss.utils import provenance

    folder = str(tmp_path / 'labels')
    record = dict(kind='labels', cams='abc')
    assert provenance.check_or_reset(folder, record)['status'] == 'new'
    (tmp_path / 'labels' / 'a.png').write_bytes(b'png')
    assert provenance.check_or_reset(folder, record)['status'] == 'match'
    monkeypatch.setattr(provenance, 'code_digest', lambda: 'fixed-code')
    moved = provenance.check_or_reset(folder, record)
    assert moved['status'] == 'moved' and osp.isfile(
        osp.join(moved['moved_to'], 'a.png')
    )

    data = tmp_path / 'data'
    data.mkdir()
    (data / 'fashionpaste.json').write_text(json.dumps(dict(seed=0)))
    first = provenance.data_digest(str(data))
    (data / 'fashionpaste.json').write_text(json.dumps(dict(seed=7)))
    assert provenance.data_digest(str(data)) != first
    with pytest.raises(FileNotFoundError, match='dataset root'):
        provenance.data_digest(str(tmp_path / 'none'))


def test_a_config_records_the_content_of_the_files_it_reads(tmp_path):
    from mmwsss.utils.provenance import config_input_digests

    labels = tmp_path / 'labels'
    labels.mkdir()
    (labels / 'a.png').write_bytes(b'1')
    ckpt = tmp_path / 'cam.pth'
    ckpt.write_bytes(b'weights')
    cfg = Config(
        dict(
            load_from=str(ckpt),
            model=dict(backbone=dict(init_cfg=dict(checkpoint='https://x/y.pth'))),
            train_dataloader=dict(
                dataset=dict(
                    data_prefix=dict(seg_map_path=str(labels)),
                    pipeline=[dict(type='LoadCAMs', cam_dir='not/here')],
                )
            ),
        )
    )
    found = config_input_digests(cfg)
    assert set(found) == {
        'load_from',
        'train_dataloader.dataset.data_prefix.seg_map_path',
    }
    ckpt.write_bytes(b'other weights')
    (labels / 'a.png').write_bytes(b'22')
    changed = config_input_digests(cfg)
    assert all(changed[k] != found[k] for k in found)


def _session(tmp_path, tag, seed=0, until=None):
    """The five-stage pipeline run in a work dir and data root of its own,
    as a session on another machine would (``until``: the unit it runs)."""
    cfg = Config(
        dict(
            data_root=str(tmp_path / f'data_{tag}'),
            work_dir=str(tmp_path / f'work_{tag}'),
            stages=[
                dict(name='data', type='MakeData', seed=seed),
                dict(name='a', type='Make'),
                dict(name='b', type='Make', text='b'),
                dict(name='read_a', type='Read', src='a'),
                dict(name='read_b', type='Read', src='b.out'),
            ],
        )
    )
    os.makedirs(cfg.data_root, exist_ok=True)
    return cfg, run_pipeline(cfg, until=until, report=False)


def test_a_merge_keeps_earlier_stages_and_says_which_no_longer_match(tmp_path):
    """Stages of an earlier session's collect that this work dir lacks are
    kept; one made from another run of a stage rerun here (other content) is
    marked stale with why, and one whose producer is kept and sound, or made
    from nothing rerun here, is not."""
    from mmwsss.pipeline.merge import merge_stages

    _, old = _session(tmp_path, 'first')
    CONTENT['a'] = 'another run'  # the second session's `a` writes other content
    cfg, new = _session(tmp_path, 'second', until='a')
    origin = dict(cpu='CPU one', cores=2, threads=2, commit='abc', date='d')
    merged = merge_stages(cfg, new, old, origin=origin)
    assert list(merged) == ['data', 'a', 'b', 'read_a', 'read_b']
    assert merged['a'] is new['a'] and 'merged' not in merged['a']
    assert merged['read_a']['merged'] == dict(
        collected=origin, stale=['made from another run of `a`']
    )
    assert merged['b']['merged']['stale'] == []
    assert merged['read_b']['merged']['stale'] == []  # b is kept and sound
    # merged again (a third session): where it was first collected is kept
    again = merge_stages(cfg, new, merged, origin=dict(cpu='CPU two'))
    assert again['read_a']['merged']['collected'] == origin

    # a rerun that writes the same content leaves its consumers sound
    CONTENT.clear()
    cfg, same = _session(tmp_path, 'third', until='a')
    assert merge_stages(cfg, same, old)['read_a']['merged']['stale'] == []


def test_a_merge_names_other_data_other_code_and_a_lost_producer(tmp_path):
    from mmwsss.pipeline.merge import merge_stages

    _, old = _session(tmp_path, 'first')
    cfg, new = _session(tmp_path, 'other_data', seed=1, until='a')
    assert (
        'made from another data set'
        in merge_stages(cfg, new, old)['b']['merged']['stale']
    )
    cfg, new = _session(tmp_path, 'same_data', until='a')
    old['b'] = dict(old['b'], provenance=dict(old['b']['provenance'], code='older'))
    merged = merge_stages(cfg, new, old)
    assert merged['b']['merged']['stale'][0].startswith('made by other code (older')
    assert merged['read_b']['merged']['stale'] == ['made from `b`, itself stale']
    # keep_code accepts a code difference, as the runner's does
    assert merge_stages(cfg, new, old, keep_code=['b'])['b']['merged']['stale'] == []
    # a consumer whose producer neither this work dir nor the old results hold
    del old['b']
    merged = merge_stages(cfg, new, old)
    assert 'b' not in merged
    assert merged['read_b']['merged']['stale'] == [
        'made from `b`, which these results lack'
    ]


def test_a_collect_marks_the_stages_a_change_left_behind(tmp_path):
    """A collect reads the work dir's finished stages without running: one
    whose settings changed since it ran is outdated with why, so is one made
    from it; the others stay as they are, also where another run of their
    input wrote the same content."""
    from mmwsss.pipeline.merge import merge_stages, outdated_stages

    cfg, done = _session(tmp_path, 'one')
    assert all('outdated' not in m for m in outdated_stages(cfg, done).values())
    cfg.stages[2] = dict(name='b', type='Make', text='changed')
    checked = outdated_stages(cfg, done)
    assert list(checked) == list(done)
    assert checked['b']['outdated'] == ['its settings changed']
    assert checked['read_b']['outdated'] == ['made from `b`, itself outdated']
    assert all('outdated' not in checked[n] for n in ('data', 'a', 'read_a'))
    # other code: outdated unless accepted, as the runner's keep_code
    old_code = dict(done['a'], provenance=dict(done['a']['provenance'], code='old'))
    code = outdated_stages(cfg, dict(done, a=old_code))
    assert code['a']['outdated'][0].startswith('made by other code (old')
    assert 'outdated' not in outdated_stages(cfg, dict(done, a=old_code), ['all'])['a']
    # a stage kept by a merge from a consumer of an outdated one is stale
    kept = merge_stages(cfg, {k: checked[k] for k in ('data', 'a', 'b')}, done)
    assert kept['read_b']['merged']['stale'] == ['made from `b`, itself outdated']


def _project(folder):
    """A project of its own in ``folder``: a config whose default folder is
    built from its own place, as the bench configs' are."""
    (folder / 'configs' / 'net').mkdir(parents=True)
    (folder / 'configs' / 'net' / 'net.py').write_text(
        "out_dir = '{{fileDirname}}/../../work_dirs/net'\n"
        'train_cfg = dict(max_epochs=1)\n'
    )
    return folder / 'configs' / 'net' / 'net.py'


@STAGES.register_module()
class ConfiguredNet(ConfigStage):
    """A config stage that trains nothing."""

    def run(self, ctx, config: str) -> dict:
        _count(self.name)
        return dict(out_dir=ctx.stage_dir(self.name))


def test_a_moved_project_gives_its_configs_the_same_digest(tmp_path):
    """Paths a config builds from its own place are absolute; the project's
    folder is left out of the digest, so a clone elsewhere (or another
    machine's checkout) is the same config, and an edit is not."""
    from mmwsss.utils.provenance import config_digest, project_root

    here, there = _project(tmp_path / 'a'), _project(tmp_path / 'b')
    assert project_root(str(here)) == str(tmp_path / 'a')
    assert project_root(str(tmp_path / 'net.py')) is None
    first, second = Config.fromfile(str(here)), Config.fromfile(str(there))
    assert str(tmp_path / 'a') in first.pretty_text  # the path is absolute
    assert config_digest(first) == config_digest(second)
    # as parsed (the digest of records written before), the folder counts
    assert config_digest(first, root_as=None) != config_digest(second, root_as=None)
    # the digest of a config where its project lived elsewhere
    assert config_digest(second, root_as=str(tmp_path / 'a')) == config_digest(
        first, root_as=None
    )
    there.write_text(there.read_text().replace('max_epochs=1', 'max_epochs=2'))
    assert config_digest(Config.fromfile(str(there))) != config_digest(first)


def test_a_record_made_before_the_project_folder_was_left_out_is_kept(tmp_path):
    """A finished stage whose record holds the config digest as parsed (the
    form before the project's folder was left out) is the same config: it is
    skipped, its record rewritten in today's form; an edited config reruns."""
    from mmwsss.utils.provenance import config_digest, record_digest

    config = _project(tmp_path / 'project')
    cfg = _pipeline(
        tmp_path, dict(name='net', type='ConfiguredNet', config=str(config))
    )
    run_pipeline(cfg, report=False)
    path = tmp_path / 'work' / 'net' / 'stage.json'
    manifest = json.loads(path.read_text())
    record = manifest['provenance']
    legacy = dict(
        record,
        configs=dict(config=config_digest(Config.fromfile(str(config)), root_as=None)),
    )
    assert legacy != record
    path.write_text(
        json.dumps(dict(manifest, provenance=legacy, digest=record_digest(legacy)))
    )
    run_pipeline(cfg, report=False)
    assert CALLS == dict(net=1)
    assert json.loads(path.read_text())['digest'] == manifest['digest']
    config.write_text(config.read_text().replace('max_epochs=1', 'max_epochs=2'))
    run_pipeline(cfg, report=False)
    assert CALLS == dict(net=2)


def test_a_merge_checks_an_oracle_value_against_the_stage_rerun_here(tmp_path):
    """A kept stage whose oracle value (a metric of another stage) differs
    from that of the stage rerun here is marked; the same value is not."""
    from mmwsss.pipeline.merge import merge_stages

    def session(tag, until=None):
        cfg = _pipeline(
            tmp_path / tag,
            dict(name='a', type='Make'),
            dict(name='b', type='Make'),
            dict(name='read_b', type='Read', src='b', option='oracle:a:size'),
        )
        return cfg, run_pipeline(cfg, until=until, report=False)

    _, old = session('first')
    cfg, same = session('same', until='b')
    assert merge_stages(cfg, same, old)['read_b']['merged']['stale'] == []
    CONTENT['a'] = 'longer'  # a's metric (size) changes
    cfg, other = session('other', until='b')
    assert merge_stages(cfg, other, old)['read_b']['merged']['stale'] == [
        'its oracle value came from another run of `a`'
    ]


def test_a_tuple_setting_matches_its_record_read_back(tmp_path):
    """A setting given as a tuple is recorded as JSON's list; a collect that
    reads the manifest back must not call the stage outdated for it (the bench's
    WISE size limits were marked 'its settings changed' right after their run)."""
    from mmwsss.pipeline.merge import outdated_stages

    cfg = Config(
        dict(
            data_root=str(tmp_path / 'data'),
            work_dir=str(tmp_path / 'work'),
            stages=[
                dict(name='data', type='MakeData'),
                dict(name='a', type='Make'),
                dict(name='read_a', type='Read', src='a', option=(0.25, [1, 2])),
            ],
        )
    )
    os.makedirs(cfg.data_root, exist_ok=True)
    done = run_pipeline(cfg, report=False)
    assert done['read_a']['provenance']['settings']['option'] == [0.25, [1, 2]]
    assert all('outdated' not in m for m in outdated_stages(cfg, done).values())
    cfg.stages[2] = dict(name='read_a', type='Read', src='a', option=(0.5, [1, 2]))
    assert outdated_stages(cfg, done)['read_a']['outdated'] == ['its settings changed']
