"""The board's numbers: pure functions from ``(CaseKey, Verdict)`` pairs to a ``Board``.

No I/O, no formatting: every definition here is listed in the package docstring, and each is
unit-tested on canned verdicts.
"""
from __future__ import annotations

import math
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Optional, Sequence

import numpy as np

from ..config import BoardCfg
from ..store import CaseKey
from ..verdict import Outcome, Verdict

NOT_COMPILED = frozenset({Outcome.NO_CODE, Outcome.LOAD_ERROR, Outcome.COMPILE_ERROR})
BOOTSTRAP = BoardCfg.bootstrap
BOOTSTRAP_SEED = 0
ALL = "all"
CurvePoint = tuple[float, float]
Pair = tuple[CaseKey, Verdict]


def valid_speedup(v: Verdict) -> Optional[float]:
    """The verdict's speedup if it is a usable number (finite, > 0), else None."""
    s = v.speedup
    if s is None or not isinstance(s, (int, float)) or not math.isfinite(s) or s <= 0:
        return None
    return float(s)


def counted_speedup(v: Verdict) -> Optional[float]:
    """The speedup the board counts: a ~1x one (95% CI contains 1) counts as at most 1x, so it
    is never "faster than the reference"; below 1 its point estimate stands."""
    s = valid_speedup(v)
    if s is not None and v.speedup_uncertain:
        return min(s, 1.0)
    return s


def best_wins(cases: Iterable[Pair]) -> dict[str, Verdict]:
    """Problems with at least one win -> the best win: the highest counted speedup (a timed
    win before an untimed one), an uncaveated win before a caveated one of the same speedup."""
    best: dict[str, tuple[tuple[bool, float, bool], Verdict]] = {}
    for case, v in cases:
        if not v.win:
            continue
        s = counted_speedup(v)
        key = (s is not None, s or 0.0, not v.shown_caveats)
        if case.problem_id not in best or key > best[case.problem_id][0]:
            best[case.problem_id] = (key, v)
    return {p: v for p, (_, v) in best.items()}


def best_per_problem(cases: Iterable[Pair]) -> dict[str, Optional[float]]:
    """Problems with at least one win -> the best win's counted speedup (None: not timed)."""
    return {p: counted_speedup(v) for p, v in best_wins(cases).items()}


def fast_p(best: dict[str, Optional[float]], n_problems: int, p: float) -> float:
    """Share of the n_problems whose best win beats p (p <= 0: has a win at all)."""
    if n_problems <= 0:
        return 0.0
    if p <= 0:
        hits = len(best)
    else:
        hits = sum(1 for s in best.values() if s is not None and s > p)
    return hits / n_problems


def geomean_ci(speedups: Sequence[float], n_boot: int = BOOTSTRAP, seed: int = BOOTSTRAP_SEED,
               level: float = 0.95) -> tuple[Optional[float], Optional[tuple[float, float]]]:
    """Geometric mean and its percentile-bootstrap CI (values resampled with replacement)."""
    x = np.log(np.asarray([s for s in speedups if s is not None and s > 0], dtype=float))
    if x.size == 0:
        return None, None
    gm = float(np.exp(x.mean()))
    if x.size == 1 or n_boot <= 0:
        return gm, (gm, gm)
    rng = np.random.default_rng(seed)
    means = np.empty(n_boot)
    chunk = max(1, 2_000_000 // x.size)          # bound memory for very large groups
    for start in range(0, n_boot, chunk):
        stop = min(n_boot, start + chunk)
        idx = rng.integers(0, x.size, size=(stop - start, x.size))
        means[start:stop] = x[idx].mean(axis=1)
    a = (1 - level) / 2
    lo, hi = np.quantile(means, [a, 1 - a])
    return gm, (float(np.exp(lo)), float(np.exp(hi)))


def about_one(ci: Optional[tuple[float, float]]) -> bool:
    """A speedup whose 95% CI contains 1 shows neither side faster: printed as ~1x."""
    return ci is not None and ci[0] <= 1.0 <= ci[1]


def fast_curve(best: dict[str, Optional[float]], n_problems: int,
               p_max: float = 4.0) -> list[CurvePoint]:
    """fast_p over p in [0, p_max] as the corners of a step function: (p, share) points.

    Left-to-right: (0, fast_0), (0, fast_0+) when untimed wins drop out just after 0, then a
    drop at every best speedup in (0, p_max] (fast_p uses a strict >), ending at (p_max, share).
    """
    if n_problems <= 0:
        return [(0.0, 0.0), (p_max, 0.0)]
    timed = sorted(s for s in best.values() if s is not None)
    pts: list[CurvePoint] = [(0.0, len(best) / n_problems)]
    above = len(timed)
    pts.append((0.0, above / n_problems))
    for s in timed:
        if s > p_max:
            break
        above -= 1
        pts.append((s, pts[-1][1]))
        pts.append((s, above / n_problems))
    pts.append((p_max, above / n_problems))
    out = [pts[0]]                               # drop repeated corners
    for pt in pts[1:]:
        if pt != out[-1]:
            out.append(pt)
    return out


@dataclass
class Row:
    """One line of the main table."""
    label: str
    level: str                       # "1", "2", ..., "-" (no level recorded) or "all"
    problems: int
    samples: int
    k: int
    compiled: float
    correct: float
    fast: dict[float, float]         # p -> fast_p
    geomean: Optional[float]
    ci: Optional[tuple[float, float]]
    timed: int                       # problems in the geomean (with a timed win)
    flagged: int                     # samples with at least one flag
    flags: dict[str, int]            # flag -> samples carrying it
    caveated: int = 0                # wins (samples) carrying at least one caveat
    caveats: dict[str, int] = field(default_factory=dict)   # caveat -> samples carrying it
    marked: bool = False             # a problem's best win (behind fast_p, geomean) is caveated
    hardware: str = ""
    best: dict[str, Optional[float]] = field(default_factory=dict, repr=False)


@dataclass
class TagRow:
    """One line of the flag table or of the caveat table: one flag or caveat in one run."""
    label: str
    hardware: str
    name: str
    cases: int                       # cases carrying it
    share: float                     # ... as a share of the run's samples
    passed: int                      # ... whose outcome was ok
    wins: int                        # ... that count as wins (0 for a flag: a flag voids a win)


@dataclass
class Run:
    """Everything the page needs about one run (label, hardware)."""
    label: str
    hardware: str
    rows: list[Row]                  # per level, then "all"
    speedups: list[float]            # every timed win's counted speedup: the histogram

    @property
    def total(self) -> Row:
        return self.rows[-1]


@dataclass
class Board:
    runs: list[Run]
    flag_rows: list[TagRow]
    p_values: list[float]
    hardware: list[str]              # distinct hardware in the tabulated cases
    superseded: int = 0              # cases dropped for a newer verdict of the same sample
    caveat_rows: list[TagRow] = field(default_factory=list)

    @property
    def rows(self) -> list[Row]:
        return [r for run in self.runs for r in run.rows]

    @property
    def multi_hardware(self) -> bool:
        return len(self.hardware) > 1

    def row(self, label: str, level: Any = ALL, hardware: Optional[str] = None) -> Row:
        for r in self.rows:
            if r.label == label and r.level == level_name(level) and \
                    (hardware is None or r.hardware == hardware):
                return r
        raise KeyError((label, level, hardware))


def level_name(level: Any) -> str:
    return "-" if level is None else str(level)


def _level_key(level: Optional[int]) -> tuple[int, int]:
    return (1, 0) if level is None else (0, int(level))


def summarize(cases: Sequence[Pair], p_values: Sequence[float], bootstrap: int = BOOTSTRAP,
              label: str = "", level: str = ALL, hardware: str = "") -> Row:
    """The metrics of one group of cases (see the package docstring for the definitions)."""
    n = len(cases)
    per_problem = Counter(c.problem_id for c, _ in cases)
    problems = len(per_problem)
    wins = best_wins(cases)
    best = {p: counted_speedup(v) for p, v in wins.items()}
    timed = [s for s in best.values() if s is not None]
    gm, ci = geomean_ci(timed, bootstrap)
    flags: Counter[str] = Counter()
    caveats: Counter[str] = Counter()
    for _, v in cases:
        flags.update(set(v.flags))
        caveats.update(set(v.shown_caveats))
    return Row(
        label=label, level=level, hardware=hardware,
        problems=problems, samples=n, k=max(per_problem.values(), default=0),
        compiled=sum(v.outcome not in NOT_COMPILED for _, v in cases) / n if n else 0.0,
        correct=sum(v.outcome is Outcome.OK for _, v in cases) / n if n else 0.0,
        fast={float(p): fast_p(best, problems, float(p)) for p in p_values},
        geomean=gm, ci=ci, timed=len(timed),
        flagged=sum(1 for _, v in cases if v.flags), flags=dict(sorted(flags.items())),
        caveated=sum(1 for _, v in cases if v.win and v.shown_caveats),
        caveats=dict(sorted(caveats.items())),
        marked=any(v.shown_caveats for v in wins.values()),
        best=best,
    )


def filter_cases(cases: Iterable[Pair], hardware: Optional[str] = None,
                 label: Optional[str] = None) -> list[Pair]:
    return [(c, v) for c, v in cases
            if (hardware is None or v.hardware == hardware) and (label is None or c.label == label)]


def _dedupe(cases: Iterable[Pair]) -> tuple[list[Pair], int]:
    """Keep the newest verdict per (label, hardware, problem, sample)."""
    keep: dict[tuple, Pair] = {}
    dropped = 0
    for c, v in cases:
        key = (c.label, v.hardware, c.problem_id, c.sample)
        if key in keep:
            dropped += 1
            if (v.created or "") <= (keep[key][1].created or ""):
                continue
        keep[key] = (c, v)
    return list(keep.values()), dropped


def rank_p(p_values: Sequence[float]) -> float:
    """The p that orders the runs: 1 if listed, else the first p > 0, else 0."""
    ps = [float(p) for p in p_values]
    if 1.0 in ps:
        return 1.0
    return next((p for p in ps if p > 0), 0.0)


def _tag_rows(label: str, hw: str, cases: list[Pair], counts: dict[str, int],
              tags_of: Callable[[Verdict], list[str]]) -> list[TagRow]:
    return [TagRow(label, hw, name, n, n / len(cases),
                   sum(1 for _, v in cases if name in tags_of(v) and v.outcome is Outcome.OK),
                   sum(1 for _, v in cases if name in tags_of(v) and v.win))
            for name, n in counts.items()]


def compute(cases: Iterable[Pair], p_values: Sequence[float] = tuple(BoardCfg().p_values),
            bootstrap: int = BOOTSTRAP, hardware: Optional[str] = None,
            label: Optional[str] = None) -> Board:
    """The whole board from (CaseKey, Verdict) pairs, filters applied first."""
    p_values = list(dict.fromkeys(float(p) for p in p_values))
    cases, superseded = _dedupe(filter_cases(cases, hardware, label))
    by_run: dict[tuple[str, str], list[Pair]] = defaultdict(list)
    for c, v in cases:
        by_run[(c.label, v.hardware)].append((c, v))

    runs: list[Run] = []
    flag_rows: list[TagRow] = []
    caveat_rows: list[TagRow] = []
    for (lab, hw), run_cases in by_run.items():
        by_level: dict[Optional[int], list[Pair]] = defaultdict(list)
        for c, v in run_cases:
            by_level[c.level].append((c, v))
        rows = [summarize(by_level[lv], p_values, bootstrap, lab, level_name(lv), hw)
                for lv in sorted(by_level, key=_level_key)]
        rows.append(summarize(run_cases, p_values, bootstrap, lab, ALL, hw))
        speedups = sorted(s for _, v in run_cases if v.win
                          for s in [counted_speedup(v)] if s is not None)
        runs.append(Run(lab, hw, rows, speedups))
        flag_rows += _tag_rows(lab, hw, run_cases, rows[-1].flags, lambda v: v.flags)
        caveat_rows += _tag_rows(lab, hw, run_cases, rows[-1].caveats, lambda v: v.shown_caveats)

    rp = rank_p(p_values)
    runs.sort(key=lambda r: (-fast_p(r.total.best, r.total.problems, rp),
                             -fast_p(r.total.best, r.total.problems, 0.0), r.label, r.hardware))
    order = {(r.label, r.hardware): i for i, r in enumerate(runs)}
    for tags in (flag_rows, caveat_rows):
        tags.sort(key=lambda f: (order[(f.label, f.hardware)], -f.cases, f.name))
    return Board(runs, flag_rows, p_values, sorted({v.hardware for _, v in cases}), superseded,
                 caveat_rows)
