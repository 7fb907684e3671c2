"""BENCHMARKS.md from the benchmarks' results files and what they declare.

The generic renderer of ``tools/benchmark.py``: it knows no stage. Each results
file holds the stage manifests of a bench pipeline's run and the pipeline
config's ``benchmark`` declaration, copied when the benchmark ran, and this
module interprets that declaration.

A declaration is ``dict(blocks=[...], samples=dict(stages=[...], context=[...],
labels=True), curve=dict(stages=[...], file=NAME))``; each block renders as a
paragraph and a blank line, and one that lacks a value is left out:

- a template: a line of text;
- ``dict(kind='section', blocks=[...], when=EXPR)``: its blocks where EXPR holds;
- ``dict(kind='table', header=[...], rows=[...], min_rows=1, previous=INDEX)``:
  a row is a list of cell templates or ``dict(cells=[...], when=EXPR,
  each=EXPR)`` (a row per element, ``item``, of the list EXPR); a row that
  lacks a value is left out, the table too if fewer than ``min_rows`` remain;
  with ``previous``, where the benchmark has a previous run (``render``'s
  ``previous``: the same pipeline on the old bench set), cell INDEX of each
  row is filled again from that run's results into a column of its own after
  it ('-' where that run lacks the value), and a row that only the previous run
  fills is shown with its value there and "not run yet" in cell INDEX;
- ``dict(kind='columns', stub=..., rows=EXPR, columns={title: EXPR}, cell=...)``:
  a column per list EXPR that exists, a row per element of ``rows``, each
  value through the template ``cell`` (as ``item``);
- ``dict(kind='grid', stub=..., stages=[...], row=EXPR, col=EXPR, cell=...)``:
  the finished stages (each as ``item``) tabled by two of their values;
- ``dict(kind='json', file=PATH, blocks=[...])``: its blocks with the name
  ``file`` bound to the JSON file PATH's content (PATH relative to the root;
  the block is left out where it does not exist), e.g. a table with
  ``each='file'`` rows;
- kinds ``speed`` (``images``: EXPR of the train images, ``exclude``: stages,
  optional ``chain``: ``title``, ``stages``, ``budget_h``, ``caption``: their
  total time at each seed that ran, against the budget),
  ``missing`` (planned stages without results), ``absent`` (benchmarks without
  results), ``bench`` (another benchmark's blocks, ``bench=NAME``), ``samples``
  (``caption``) and ``curve`` (``caption``, ``alt``): the pictures.

A template is a string of ``{EXPR:format}`` fields, or a list of parts joined,
where a part that is a list is a choice: its first alternative that fills (``''``
makes a part optional). EXPR is a small subset of Python: names are the finished
stages' manifests and ``results`` (the results file), ``stages``, ``benches``
(each benchmark's names), ``item``; keys as ``.key`` or ``['key']``; + - * /,
comparisons, ``and`` / ``or`` / ``not``, ``has(EXPR)``, ``tally(MAPPING)`` and
``join(SEP, LIST)``. A value that is not there (an unfinished stage, an absent
key, None, a division by zero) fails the template; a field whose value is a
bool is a condition: it fails the template when false and shows nothing when
true.

A stage run again at other training seeds (``{name}@{seed}`` stages, a
pipeline's ``repeat``) is one name whose values are runs: arithmetic pairs the
runs of the same seed, a comparison or condition reads their mean, and a
field shows ``mean ± sd`` (sample standard deviation) with ``(n runs)`` where
fewer than the most runs of any stage finished; a difference of two such
values (``a - b``) under two of its sds shows ``(tie)``. Its runs at other
seeds are read even where its own run has not finished (a spread run first).
A field that reads such a stage and a stage run once that is made from it
(through the stages its manifest's ``inputs`` name: PtReCl's masks from IRN's
at seed 0) reads the repeated stage at seed 0, the run the other was made
from; a difference there shows ``(seed 0; runs' sd S over n seeds)``, S the
sd of the difference over the repeated stage's seeds, and ``(tie)`` under
two sds of a difference of two runs (2 x S x sqrt 2).
"""

from __future__ import annotations

import ast
import copy
import operator
import os.path as osp
import string


class Missing(LookupError):
    """A template needs a value the results do not hold."""


class Runs:
    """The values of one quantity in the runs of a repeated stage, by seed
    (0: the pipeline's own run).

    Args:
        values (dict): ``{seed: value}``.
        expected (int): The most runs any stage of the results has.
    """

    def __init__(
        self,
        values: dict,
        expected: int,
        difference: bool = False,
        spread: dict | None = None,
    ) -> None:
        self.values, self.expected = values, expected
        self.difference = difference
        # a row read at the seed of a stage run once (see _row_seeds): the
        # values at every sound seed, whose sd says how far runs stray
        self.spread = spread

    def map(self, fn, difference: bool = False) -> Runs:
        """``fn`` of each run's value; the runs that lack it left out."""
        out = _map_values(fn, self.values)
        if not out:
            raise Missing('every run')
        spread = _map_values(fn, self.spread) if self.spread else None
        return Runs(out, self.expected, difference, spread or None)

    def mean(self):
        values = list(self.values.values())
        if not all(isinstance(v, int | float) for v in values):
            return values[0]
        return sum(values) / len(values)

    def __format__(self, spec: str) -> str:
        values = list(self.values.values())
        if self.spread is not None and len(values) == 1:
            return self._one_seed(values[0], spec)
        if len(values) == 1 and self.expected > 1 and _number(values[0]):
            return f'{format(values[0], spec)} (1 run)'
        if (
            len(values) == 1
            or not all(isinstance(v, int | float) for v in values)
            or len(set(values)) == 1  # the same at every seed (an image count)
        ):
            return format(values[0], spec)
        mean, sd = _mean_sd(values)
        text = f"{format(mean, spec)} ± {format(sd, spec.replace('+', ''))}"
        if self.difference and abs(mean) < 2 * sd:
            text += ' (tie)'
        return text + (f' ({len(values)} runs)' if len(values) < self.expected else '')

    def _one_seed(self, value, spec: str) -> str:
        """A value of a row read at one seed because it shows a stage run
        once: plain; a difference with the sd of the repeated stage it reads
        (over its sound seeds) and ``(tie)`` under two sds of a difference
        of two such runs (sd x sqrt 2)."""
        if not (self.difference and _number(value)):
            return format(value, spec)
        others = [v for v in self.spread.values() if _number(v)]
        if len(others) < 2:
            return format(value, spec)
        _, sd = _mean_sd(others)
        (seed,) = self.values
        text = (
            f"{format(value, spec)} (seed {seed}; runs' sd "
            f"{format(sd, spec.replace('+', ''))} over {len(others)} seeds)"
        )
        return text + (' (tie)' if abs(value) < 2 * sd * 2**0.5 else '')


def _mean_sd(values: list) -> tuple[float, float]:
    """Mean and sample standard deviation of two or more numbers."""
    mean = sum(values) / len(values)
    return mean, (sum((v - mean) ** 2 for v in values) / (len(values) - 1)) ** 0.5


def _map_values(fn, values: dict) -> dict:
    """``{seed: fn(value)}``, the seeds whose value ``fn`` lacks left out."""
    out = {}
    for seed, value in values.items():
        try:
            out[seed] = fn(value)
        except Missing:
            continue
    return out


def _number(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _combine(fn, left, right):
    """``fn(left, right)`` run by run where either is :class:`Runs`."""
    if isinstance(left, Runs) and isinstance(right, Runs):
        seeds = [seed for seed in left.values if seed in right.values]
        if not seeds:
            raise Missing('runs of the same seed')
        spread = None
        if left.spread is not None or right.spread is not None:
            # two repeated stages read at one seed: the spread of their
            # difference where both ran
            lhs, rhs = left.spread or left.values, right.spread or right.values
            spread = {seed: fn(lhs[seed], rhs[seed]) for seed in lhs if seed in rhs}
        return Runs(
            {seed: fn(left.values[seed], right.values[seed]) for seed in seeds},
            max(left.expected, right.expected),
            difference=fn is operator.sub,
            spread=spread,
        )
    difference = fn is operator.sub
    if isinstance(left, Runs):
        return left.map(lambda value: fn(value, right), difference)
    if isinstance(right, Runs):
        return right.map(lambda value: fn(left, value), difference)
    return fn(left, right)


def _plain(value):
    """A value for a comparison or a condition: the mean of runs."""
    return value.mean() if isinstance(value, Runs) else value


class Names:
    """What the names of a template mean for one results file (module doc).

    Args:
        results (dict): The results file.
        benches (dict): Every benchmark's :class:`Names`.
        **extra: More reserved names (``item``, ``draw_score``).
    """

    def __init__(self, results: dict, benches: dict, **extra) -> None:
        self.stages = {
            name: manifest
            for name, manifest in results['stages'].items()
            if manifest and manifest.get('finished')
        }
        self.reserved = dict(
            results=results, stages=self.stages, benches=benches, **extra
        )
        # the repeats of a stage at other seeds ('{name}@{seed}'), beside its
        # own run (seed 0) where that has finished: a spread run may come first
        from mmwsss.pipeline.repeat import base_name

        self.all_runs = {}
        for name, manifest in self.stages.items():
            stem, seed = base_name(name)
            if seed is not None:
                own = {0: self.stages[stem]} if stem in self.stages else {}
                self.all_runs.setdefault(stem, own)[seed] = manifest
        self.expected = max((len(r) for r in self.all_runs.values()), default=1)
        # a mean over seeds reads the sound runs only, where there is one
        # (the runs of an old config beside those of the current one)
        self.sound = {
            stem: {s for s, m in runs.items() if not _stale(m)}
            for stem, runs in self.all_runs.items()
        }
        self.runs = {
            stem: {s: m for s, m in runs.items() if s in self.sound[stem]} or runs
            for stem, runs in self.all_runs.items()
        }
        # the seeds a row reads every repeated stage at (see _rows), or None;
        # whether because the row shows a stage run once (its runs' spread
        # kept beside: Runs.spread)
        self.only: set[int] | None = None
        self.once = False
        self._from_repeated: dict[str, bool] = {}
        # the stages a cell read (a set while a row is filled: see _rows)
        self.used: set[str] | None = None

    def runs_of(self, name: str) -> dict | None:
        """The runs of a repeated stage that a value reads, by seed: its
        sound ones (all where none is), at the row's seeds where it has them;
        None for a stage run once."""
        if name not in self.runs:
            return None
        if self.only is not None:
            picked = {s: m for s, m in self.all_runs[name].items() if s in self.only}
            if picked:
                return picked
        return self.runs[name]

    def __getitem__(self, name: str):
        if name in self.reserved:
            return self.reserved[name]
        if self.used is not None and (name in self.stages or name in self.all_runs):
            if name in self.stages:
                self.used.add(name)
            # a repeated stage is read at every seed it ran (a stale run
            # left out of its mean is named under the table too)
            seeds = self.all_runs.get(name, {})
            self.used.update(f'{name}@{seed}' for seed in seeds if seed)
        runs = self.runs_of(name)
        if runs is not None:
            spread = self.runs[name] if self.once else None
            return Runs(runs, self.expected, spread=spread)
        return self.stages[name]

    def from_repeated(self, name: str) -> bool:
        """Whether the stage ``name`` is a repeated one or, run once, is made
        (through the stages its manifest's ``inputs`` name) from a repeated
        stage's own run: PtReCl's masks from IRN's, a DeepLabV2 trained once
        on masks of a CAM run at seed 0."""
        if name in self.runs:
            return True
        if name not in self._from_repeated:
            self._from_repeated[name] = False  # a cycle reads as not made
            inputs = (self.stages.get(name) or {}).get('inputs') or {}
            refs = []
            for value in inputs.values():
                refs += [value] if isinstance(value, str) else list(value or [])
            self._from_repeated[name] = any(
                self.from_repeated(ref.split('.')[0])
                for ref in refs
                if isinstance(ref, str)
            )
        return self._from_repeated[name]

    def bind(self, **extra) -> Names:
        """These names and ``extra`` ones."""
        bound = copy.copy(self)
        bound.reserved = {**self.reserved, **extra}
        return bound


def _key(owner, key):
    """``owner[key]``; Missing where it has none (or None)."""
    if isinstance(owner, Runs):
        return owner.map(lambda value: _key(value, key))
    try:
        found = owner[key]
    except (KeyError, IndexError, TypeError) as e:
        raise Missing(key) from e
    if found is None:
        raise Missing(key)
    return found


def _some(text: str) -> str:
    """``text``; Missing where it is empty (nothing to list)."""
    if not text:
        raise Missing('an empty list')
    return text


_OPERATORS = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.USub: operator.neg,
    ast.Not: operator.not_,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.Eq: operator.eq,
    ast.In: lambda a, b: a in b,
}
_FUNCTIONS = {
    'tally': lambda counts: _some(
        ', '.join(f'{n} {k}' for k, n in counts.items() if n)
    ),
    'join': lambda sep, items: _some(sep.join(item for item in items if item)),
}


def evaluate(expr: str, names: Names):
    """The value of a template expression (module doc).

    Raises:
        Missing: The results lack a value it needs.
        ValueError: It is no expression of the template language.
    """
    return _eval(ast.parse(expr.strip(), mode='eval').body, names)


def _eval(node: ast.AST, names: Names):
    """The value of an expression's node (:func:`evaluate`)."""
    ops = _OPERATORS
    match node:
        case ast.Constant(value=value):
            return value
        case ast.Name(id=name):
            return _key(names, name)
        case ast.Attribute(value=owner, attr=key):
            return _key(_eval(owner, names), key)
        case ast.Subscript(value=owner, slice=key):
            return _key(_eval(owner, names), _plain(_eval(key, names)))
        case ast.List(elts=items):
            return [_eval(item, names) for item in items]
        case ast.BinOp(left=left, op=op, right=right) if type(op) in ops:
            try:
                return _combine(ops[type(op)], _eval(left, names), _eval(right, names))
            except ZeroDivisionError as e:
                raise Missing('a division by zero') from e
        case ast.UnaryOp(op=ast.Not(), operand=operand):
            return not _plain(_eval(operand, names))
        case ast.UnaryOp(op=op, operand=operand) if type(op) in ops:
            value = _eval(operand, names)
            if isinstance(value, Runs):
                return value.map(ops[type(op)])
            return ops[type(op)](value)
        case ast.Compare(left=left, ops=[op], comparators=[right]) if type(op) in ops:
            return ops[type(op)](
                _plain(_eval(left, names)), _plain(_eval(right, names))
            )
        case ast.BoolOp(op=op, values=[*first, last]):
            for value in first:
                found = _plain(_eval(value, names))
                if bool(found) != isinstance(op, ast.And):
                    return found
            return _plain(_eval(last, names))
        case ast.Call(func=ast.Name(id='has'), args=[arg]):
            try:
                _eval(arg, names)
            except Missing:
                return False
            return True
        case ast.Call(func=ast.Name(id=name), args=args) if name in _FUNCTIONS:
            return _FUNCTIONS[name](*(_eval(arg, names) for arg in args))
    raise ValueError(f'{ast.unparse(node)!r} is not in the template language')


class _Formatter(string.Formatter):
    """``str.format`` with fields that are template expressions, and bools as
    conditions."""

    def __init__(self, names: Names) -> None:
        super().__init__()
        self.names = names

    def get_field(self, field_name, args, kwargs):
        probe = self.names.bind()
        probe.used = set()
        value = evaluate(field_name, probe)
        if self.names.used is not None:
            self.names.used |= probe.used
        if _once_and_repeated(probe.used, self.names):
            # a stage run once with a repeated one it is made from: both at
            # seed 0, the repeated stage's spread beside (Runs._one_seed)
            at_zero = self.names.bind()
            at_zero.only, at_zero.once = {0}, True
            value = evaluate(field_name, at_zero)
        return value, field_name

    def format_field(self, value, format_spec):
        if isinstance(value, Runs) and len(value.values) == 1:
            single = next(iter(value.values.values()))
            # one run of several shows as such (Runs' format); a condition or
            # a value of a stage run once is the value itself
            if isinstance(single, bool) or value.expected <= 1:
                value = single
        if isinstance(value, bool):
            if not value:
                raise Missing('a condition')
            return ''
        return format(value, format_spec)


def fill(template: str | list, names: Names) -> str:
    """The text of a template (module doc).

    Raises:
        Missing: The results lack a value it needs.
    """
    if isinstance(template, str):
        return _Formatter(names).vformat(template, (), {})
    parts = []
    for part in template:
        if not isinstance(part, list | tuple):
            parts.append(fill(part, names))
            continue
        for alternative in part:
            try:
                parts.append(fill(alternative, names))
                break
            except Missing:
                continue
        else:
            raise Missing('every alternative')
    return ''.join(parts)


def _value(expr: str, names: Names, default=None):
    """:func:`evaluate`, or ``default`` where the results lack a value."""
    try:
        return evaluate(expr, names)
    except Missing:
        return default


# ---------------------------------------------------------------- rendering


def _table(header: list, rows: list[list]) -> list[str]:
    """A Markdown table of ``rows`` under ``header``, and a blank line."""
    lines = [f"| {' | '.join(map(str, row))} |" for row in [header, *rows]]
    return [lines[0], '|' + '---|' * len(header), *lines[1:], '']


#: The current-run cell of a row that only the previous run has.
PENDING = 'not run yet'


def _pending(row: dict, item, index: int, old: Names) -> list[list[str]]:
    """A row that the previous run fills and this one not yet: its first two
    cells (what and which stage) and last (the published reference) as the
    previous run has them, the previous value beside ``PENDING``, '-' in the
    cells that describe this run (settings, notes)."""
    try:
        before = [fill(cell, old.bind(item=item)) for cell in row['cells']]
    except Missing:
        return []
    cells = [
        value if i < 2 or i == len(before) - 1 else '-'
        for i, value in enumerate(before)
    ]
    cells[index] = PENDING
    cells.insert(index + 1, before[index])
    return [cells]


def _rows(block: dict, names: Names, ctx: dict) -> list[str]:
    """A ``table`` block: its rows that fill, if at least ``min_rows``; with
    ``previous``, the previous run's value of that cell in a column after it."""
    rows, stale = [], set()
    index = block.get('previous')
    old = ctx.get('previous', {}).get(ctx.get('bench'))
    beside = index is not None and old is not None  # the previous run's column
    for row in block['rows']:
        row = row if isinstance(row, dict) else dict(cells=row)
        try:
            wanted = evaluate(row.get('when', 'True'), names)
        except Missing:  # a stage of the condition has not run (yet)
            if beside and 'each' not in row:
                if _value(row.get('when', 'True'), old, False):
                    rows.extend(_pending(row, None, index, old))
            continue
        if not wanted:
            continue
        for item in _value(row['each'], names, []) if 'each' in row else [None]:
            bound = names.bind(item=item)
            bound.used = set()
            try:
                cells = [fill(cell, bound) for cell in row['cells']]
                seeds = _row_seeds(bound.used, names)
                if seeds is not None:  # again, every stage at the same seeds
                    bound = names.bind(item=item)
                    bound.used, bound.only = set(), seeds
                    cells = [fill(cell, bound) for cell in row['cells']]
            except Missing:
                if beside:
                    rows.extend(_pending(row, item, index, old))
                continue
            marked = _stale_read(bound.used, names)
            if marked:
                cells[0] = f'{cells[0]} {STALE_MARK}'
                stale.update(marked)
            if beside:
                try:
                    before = fill(row['cells'][index], old.bind(item=item))
                except Missing:
                    before = '-'
                cells.insert(index + 1, before)
            rows.append(cells)
    header = list(block['header'])
    if beside:
        header.insert(index + 1, f"{header[index]}, {ctx['previous_title']}")
    if len(rows) < block.get('min_rows', 1):
        return []
    return _table(header, rows) + _stale_note(sorted(stale), names)


def _once_and_repeated(used: set[str], names: Names) -> bool:
    """Whether a field that read the stages ``used`` reads a stage run once
    that is made from a repeated stage's own run (PtReCl's masks, made from
    IRN's at seed 0) and a repeated stage, each of whose runs includes seed
    0: then PtReCl's gain over IRN is the gain over the IRN it was made from,
    not over IRN's mean, and the field reads every stage at seed 0."""
    from mmwsss.pipeline.repeat import base_name

    stems = {base_name(n)[0] for n in used} & set(names.runs)
    if not stems or not all(0 in names.all_runs[s] for s in stems):
        return False
    return any(
        n in names.stages
        and n not in names.runs
        and base_name(n)[1] is None
        and names.from_repeated(n)
        for n in used
    )


def _row_seeds(used: set[str], names: Names) -> set[int] | None:
    """The seeds at which a row must read the repeated stages it read, so
    that its values are of the same runs (IRN's masks beside the DeepLabV2
    trained on them): where their sound runs differ, the seeds they share
    among those, else among all their runs; None where they agree already
    (or share no seed)."""
    from mmwsss.pipeline.repeat import base_name

    stems = {base_name(n)[0] for n in used} & set(names.runs)
    if len(stems) < 2:
        return None
    shared = set.intersection(*(names.sound[s] for s in stems)) or set.intersection(
        *(set(names.all_runs[s]) for s in stems)
    )
    if not shared or all(set(names.runs[s]) == shared for s in stems):
        return None
    return shared


#: The mark of a row that shows a stage kept from an earlier collect which
#: does not match the stages of this one (``mmwsss.pipeline.merge``).
STALE_MARK = '†'


def _stale(stage: dict) -> list[str]:
    """Why ``stage`` is not made from the stages and configs beside
    it: kept by a merge from a work dir that is gone, or outdated in its own
    work dir (``mmwsss.pipeline.merge.outdated_stages``); [] for one that
    matches."""
    return (stage.get('merged') or {}).get('stale') or stage.get('outdated') or []


def _stale_read(used: set[str], names: Names) -> list[str]:
    """The stages among ``used`` (those a cell or column read) that are
    stale kept ones, sorted."""
    return [n for n in sorted(used) if _stale(names.stages[n])]


def _collected(stage: dict) -> str:
    """Where and when a kept stage was collected."""
    from mmwsss.utils.machine import machine_label

    where = (stage.get('merged') or {}).get('collected') or {}
    parts = [machine_label(where)] if where.get('cpu') else []
    parts += [f"commit `{where['commit']}`"] if where.get('commit') else []
    parts += [where['date']] if where.get('date') else []
    return ', '.join(parts) or 'not recorded'


def _stale_note(marked: list[str], names: Names) -> list[str]:
    """The line under a table that says why its marked rows do not compare
    with the others."""
    if not marked:
        return []
    each = '; '.join(
        f"`{n}`: {', '.join(_stale(names.stages[n]))} ({_origin(names, n)})"
        for n in marked
    )
    return [
        f'{STALE_MARK} The row reads a stage that is not made from the configs '
        f'and stages shown beside it (a mean over seeds leaves such runs out '
        f'where there are sound ones, and a row reads all its stages at the '
        f'same seeds): {each}.',
        '',
    ]


def _origin(names: Names, name: str) -> str:
    """Where a stale stage comes from, for its note."""
    stage = names.stages[name]
    if stage.get('merged'):
        return f'kept from the collect on {_collected(stage)}, its work dir gone'
    return 'in its work dir, to be rerun'


def _kept_lines(benches: dict[str, Names]) -> list[str]:
    """A line per bench whose results keep stages of earlier collects
    (``tools/benchmark.py --merge``): which, from where, and which of them
    do not match the stages beside them."""
    lines = []
    for bench, names in benches.items():
        kept = [n for n, s in names.stages.items() if s.get('merged')]
        if not kept:
            continue
        where = {}
        for n in kept:
            where.setdefault(_collected(names.stages[n]), []).append(f'`{n}`')
        text = '; '.join(
            f"{', '.join(ns)} (collected on {w})" for w, ns in where.items()
        )
        stale = [n for n in kept if _stale(names.stages[n])]
        lines += [
            f'The {bench} bench keeps stages of earlier collects whose work dirs '
            f'are gone: {text}.'
            + (
                f" Not made from the stages shown beside them ({STALE_MARK} in "
                f"the tables): {', '.join(f'`{n}`' for n in stale)}."
                if stale
                else ' Each matches the stages of this work dir it is made from.'
            ),
            '',
        ]
    return lines


def _columns(block: dict, names: Names, ctx: dict) -> list[str]:
    """A ``columns`` block: a column per list that exists; the title of a
    column that shows a stale kept stage is marked, with the note under it."""
    titles, stale, rows = {}, set(), []
    for title, expr in block['columns'].items():
        bound = names.bind()
        bound.used = set()
        values = _value(expr, bound)
        if values:
            titles[title] = (values, bound.used)
    if not titles:
        return []
    for i, label in enumerate(evaluate(block['rows'], names)):
        row = [label]
        for values, used in titles.values():
            bound = names.bind(item=_item(values, i))
            bound.used = used
            row.append(fill(block['cell'], bound))
        rows.append(row)
    header = [block['stub']]
    for title, (_, used) in titles.items():
        marked = _stale_read(used, names)
        stale.update(marked)
        header.append(f'{title} {STALE_MARK}' if marked else title)
    return _table(header, rows) + _stale_note(sorted(stale), names)


def _item(values, index: int):
    """``values[index]``, run by run where ``values`` are the :class:`Runs`
    of a repeated stage (a column of per-class values at several seeds)."""
    if isinstance(values, Runs):
        return values.map(lambda value: _key(value, index))
    return values[index]


def _grid(block: dict, names: Names, ctx: dict) -> list[str]:
    """A ``grid`` block: the finished stages by their ``row`` and ``col``."""
    cells, stale = {}, set()
    for name in block['stages']:
        try:
            scope = names.bind(item=_key(names, name))
            scope.used = {name} if name in names.stages else set()
            key = evaluate(block['row'], scope), evaluate(block['col'], scope)
            cells[key] = fill(block['cell'], scope)
        except Missing:
            continue
        marked = _stale_read(scope.used, names)
        if marked:
            cells[key] = f'{cells[key]} {STALE_MARK}'
            stale.update(marked)
    if not cells:
        return []
    rows, cols = (sorted({key[i] for key in cells}) for i in (0, 1))
    table = [[r, *(cells.get((r, c), '-') for c in cols)] for r in rows]
    return _table([block['stub'], *cols], table) + _stale_note(sorted(stale), names)


def _speed(block: dict, names: Names, ctx: dict) -> list[str]:
    """Each finished stage's time: training and export rate, a test-only
    stage's rate, a per-image stage's rate or its seconds."""
    # the image count of this run's stages, not a mean over its other seeds
    single = copy.copy(names)
    single.runs = {}
    images, rows = _value(block['images'], single, '?'), []
    tags = _machine_tags(names)
    for name, stage in names.stages.items():
        rate = stage.get('export_images_per_s')
        if name in block['exclude']:
            continue
        if 'train_s' in stage and not stage['train_s'] and rate:
            run = stage.get('num_images', images)
            row = f'(test only, {run} images)', f'{rate:.2f} images/s'
        elif 'train_s' in stage:
            resumed = ' (resumed run: its last part only)' * bool(stage.get('resumed'))
            row = (
                f'training ({images} images)',
                f"{stage['train_s']:.0f} s{resumed}{_iterations(stage)}; "
                f'test / export {rate:.2f} images/s',
            )
        elif stage.get('images_per_s'):
            # results from before the pool size was recorded used 2
            processes = stage.get('workers_per_rank', 2)
            row = (
                f"({stage['kind']}, {processes} processes)",
                f"{stage['images_per_s']:.1f} images/s",
            )
        elif 'seconds' in stage:
            row = f"({stage['kind']})", f"{stage['seconds']:.0f} s"
        else:
            continue
        rows.append([f'`{name}` {row[0]}', row[1] + tags.get(name, '')])
    chain = block.get('chain')
    return _table(['stage', 'time'], rows) + (_chain(chain, names) if chain else [])


def _machine_tags(names: Names, keys=None) -> dict[str, str]:
    """`` (on MACHINE)`` for each stage (of ``keys``, default all) where its
    stages ran on more than one machine, on another than the results' (a
    bench resumed on a new machine) or on one not recorded; {} where all ran
    where it was collected. A stage that predates the record of its machine
    but was kept from an earlier collect is named with where that collect
    ran (its work dir lived there)."""
    from mmwsss.utils.machine import machine_label, same_machine

    stages = {k: names.stages[k] for k in keys or names.stages if k in names.stages}
    here = names['results'].get('machine')

    def collected(stage):
        where = (stage.get('merged') or {}).get('collected') or {}
        return where if where.get('cpu') else None

    # one that predates the record and was not kept ran where its work dir
    # was collected
    ran = [s.get('machine') or collected(s) or here for s in stages.values()]
    distinct = []
    for machine in ran:
        if machine and not any(same_machine(machine, m) for m in distinct):
            distinct.append(machine)
    if all(ran) and len(distinct) < 2 and all(same_machine(m, here) for m in distinct):
        return {}
    tags = {}
    for name, stage in stages.items():
        if stage.get('machine'):
            tags[name] = f" (on {machine_label(stage['machine'])})"
        elif collected(stage):
            tags[name] = f' (collected on {machine_label(collected(stage))})'
        else:
            tags[name] = ' (machine not recorded)'
    return tags


def _iterations(stage: dict) -> str:
    """A training stage's iteration times (over every part of a resumed run:
    ``mmwsss.pipeline.iteration_time``), or ''."""
    it = stage.get('iterations')
    if not it:
        return ''
    return (
        f"; {it['count']} iterations: {it['sum_s'] / 60:.0f} min summed over "
        f"all parts, {it['count'] * it['median_s'] / 60:.0f} min at their median "
        f"{it['median_s']:.2f} s"
    )


def _stage_times(stage: dict) -> tuple[float, float]:
    """A stage's time (training: every iteration over all parts, then its
    test / export) and the same with its training at its median iteration time
    (the shared cores' bursts left out)."""
    it = stage.get('iterations')
    train = float(stage.get('train_s', 0.0))
    seconds = float(stage.get('seconds', train + stage.get('export_s', 0.0)))
    if not it or 'train_s' not in stage:
        return seconds, seconds
    rest = max(seconds - train, 0.0)
    return it['sum_s'] + rest, it['count'] * it['median_s'] + rest


def _chain(chain: dict, names: Names) -> list[str]:
    """A ``chain`` of a speed block (``title``, ``stages``, ``budget_h``):
    its total time at each seed that ran, against the budget, or the stages it
    still lacks."""
    # every seed that ran, outdated runs too: their times are measurements
    seeds = sorted({0} | {s for runs in names.all_runs.values() for s in runs})
    lines = []
    for seed in seeds:
        keys = [name if not seed else f'{name}@{seed}' for name in chain['stages']]
        missing = [key for key in keys if key not in names.stages]
        if missing:
            lines.append(
                f"{chain['title']}, seed {seed}: not complete (to run: "
                f"{', '.join(missing)})."
            )
            continue
        summed, median = map(sum, zip(*(_stage_times(names.stages[k]) for k in keys)))
        verdict = 'within' if median <= chain['budget_h'] * 3600 else 'over'
        machines = sorted(set(_machine_tags(names, keys).values()))
        mixed = machines[0] if len(machines) == 1 else ''
        if len(machines) > 1:
            labels = '; '.join(m.strip(' ()') for m in machines)
            mixed = f' (its stages ran on different machines: {labels})'
        lines.append(
            f"{chain['title']}, seed {seed}: {summed / 3600:.2f} h summed, "
            f"{median / 3600:.2f} h with each training at its median iteration "
            f"time{mixed}: {verdict} the budget of {chain['budget_h']:g} h."
        )
    return [' '.join([chain.get('caption', '')] + lines).strip(), '']


def _missing(block: dict, names: Names, ctx: dict) -> list[str]:
    """A ``missing`` block: the planned stages that have no result."""
    planned = names['results'].get('planned', [])
    missing = [
        name
        for name in planned
        if name not in names.stages and name not in names.all_runs
    ]
    return (
        [f"Stages not in this results file: {', '.join(missing)}.", '']
        if missing
        else []
    )


def _absent(block: dict, names: Names, ctx: dict) -> list[str]:
    """An ``absent`` block: the benchmarks without a results file."""
    absent = ctx['absent']
    if not absent:
        return []
    runs = ', '.join(f'`python tools/benchmark.py --bench {name}`' for name in absent)
    benches = ' and '.join(f'{name} benchmark' for name in absent)
    return [f'No results yet for the {benches} ({runs}).', '']


def _samples(block: dict, names: Names, ctx: dict) -> list[str]:
    """A ``samples`` block: the benchmark's sample picture, if drawn."""
    path = samples_path(ctx['bench'], ctx['root'])
    if not osp.exists(path):
        return []
    from mmwsss.pipeline.report import DRAW_SCORE

    caption = fill(block['caption'], names.bind(draw_score=DRAW_SCORE))
    return [
        f"Sample train images ({ctx['bench']} benchmark): {caption}.",
        '',
        f"![{ctx['bench']} samples](benchmarks/{osp.basename(path)})",
        '',
    ]


def _curve(block: dict, names: Names, ctx: dict) -> list[str]:
    """A ``curve`` block: the picture of the declaration's ``curve``, if drawn."""
    name = names['results']['benchmark']['curve']['file']
    if not osp.exists(osp.join(ctx['root'], 'benchmarks', name)):
        return []
    return [block['caption'], '', f"![{block['alt']}](benchmarks/{name})", '']


def _json(block: dict, names: Names, ctx: dict) -> list[str]:
    """A ``json`` block: its blocks with ``file``, the JSON file's content."""
    import json

    path = osp.join(ctx['root'], block['file'])
    if not osp.exists(path):
        return []
    with open(path) as f:
        data = json.load(f)
    return _blocks(block['blocks'], names.bind(file=data), ctx)


def _blocks(blocks: list, names: Names, ctx: dict) -> list[str]:
    """The lines of ``blocks``; a block that lacks a value is left out."""
    lines = []
    for block in blocks:
        try:
            if not isinstance(block, dict):
                lines += [fill(block, names), '']
            elif _value(block.get('when', 'True'), names, False):
                lines += _KINDS[block['kind']](block, names, ctx)
        except Missing:
            continue
    return lines


def _document(bench: str, ctx: dict) -> list[str]:
    """The lines of benchmark ``bench``'s declaration."""
    names = ctx['benches'][bench]
    blocks = names['results']['benchmark']['blocks']
    return _blocks(blocks, names, dict(ctx, bench=bench))


_KINDS = dict(
    section=lambda block, names, ctx: _blocks(block['blocks'], names, ctx),
    table=_rows,
    columns=_columns,
    grid=_grid,
    speed=_speed,
    missing=_missing,
    absent=_absent,
    bench=lambda block, names, ctx: (
        _document(block['bench'], ctx) if block['bench'] in ctx['benches'] else []
    ),
    samples=_samples,
    curve=_curve,
    json=_json,
)


def samples_path(bench: str, root: str = '.') -> str:
    """Where a benchmark's sample picture lives (beside its results)."""
    return osp.join(root, 'benchmarks', f'samples_{bench}.png')


def render(
    benches: dict[str, dict | None],
    root: str = '.',
    previous: dict[str, dict] | None = None,
    previous_title: str = 'previous run',
) -> str:
    """BENCHMARKS.md's text.

    Args:
        benches (dict): Every benchmark's results file by name, None where it
            has none; the first one's declaration is the document, which
            places the others' (``bench`` blocks).
        root (str): The folder that holds benchmarks/ (its pictures).
        previous (dict, optional): A previous run's results files by
            benchmark name (e.g. the same pipelines on an older bench set),
            shown beside the tables' ``previous`` cells.
        previous_title (str): Their column's title suffix.

    Returns:
        str: The Markdown.
    """
    found = {name: results for name, results in benches.items() if results}
    names, old = {}, {}
    for name, results in found.items():
        names[name] = Names(results, names)
    for name, results in (previous or {}).items():
        old[name] = Names(results, old)
    main = next(iter(benches))
    ctx = dict(
        root=root,
        benches=names,
        absent=[n for n in benches if n not in found],
        previous=old,
        previous_title=previous_title,
    )
    m = found[main]['machine']
    cpu = m['cpu'] + (f" ({m['cpu_id']})" if m.get('cpu_id') else '')
    return '\n'.join(
        [
            '# BENCHMARKS',
            '',
            '<!-- Generated by tools/benchmark.py from benchmarks/results*.json. '
            'Do not edit by hand. -->',
            '',
            *_document(main, ctx),
            '## Machine and command',
            '',
            f"{cpu}, {m['cores']} cores, torch {m['torch']} "
            f"({m['threads']} threads), CUDA {'yes' if m['cuda'] else 'no'}, "
            f"Python {m['python']}, commit `{m['commit']}`, {m['date']} (where "
            'the results were collected; a stage that ran elsewhere is named '
            'with its machine in the tables of times).',
            '',
            *_kept_lines(names),
            f"Regenerate every number with `{found[main]['command']}` (`make setup` "
            'first; `--from STAGE` / `--only STAGE` rerun part of the pipeline, '
            '`--render-only` rewrites this file from the JSON).',
            '',
        ]
    )
