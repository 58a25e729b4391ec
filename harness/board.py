"""The leaderboard: ``python -m harness.board store=results.db [format=github] [html=board.html]``

Reads every case of a results store (``Store.case_rows()``) and tabulates, for each run label
and level, plus an ``all`` row per label:

  problems  distinct problem ids in the group.
  samples   cases (problem, sample) in the group.
  k         the most samples any one problem of the group has: the k of best-of-k.
  compiled  share of SAMPLES whose outcome is not no_code, load_error or compile_error (code that
            built and then raised, crashed or timed out counts as compiled).
  correct   share of SAMPLES whose outcome is ok. Flags are not considered here: a flagged pass
            is "correct" but never a win; fast_0 is the honest share.
  fast_p    share of PROBLEMS with at least one sample that is a win (``Verdict.win``: outcome ok
            and no flag) and, for p > 0, has a measured speedup > p. fast_0 is the share of
            problems with any win, timed or not. Best-of-k: one qualifying sample among a
            problem's k is enough.
  geomean   geometric mean, over the problems that have a timed win, of the best win's speedup
            (per-problem metrics use the best sample), with a 95% percentile bootstrap CI: the
            problems are resampled with replacement ``bootstrap`` times under a fixed seed, so
            the same store always prints the same interval. Problems without a win are left
            out, so read it next to fast_0.
  flagged   samples carrying at least one flag. A flagged case never counts as a win, however
            fast; a second table counts flagged cases per flag name.

Shares are over samples for compiled/correct, over problems for fast_p. A speedup counts only if
it is finite and > 0. When a store holds verdicts from more than one hardware, each (label,
hardware) pair is its own run and a hardware column appears: speedups from different machines
are never pooled. When the same (label, problem, sample, hardware) was scored under several
configs, the newest verdict is kept (``Board.superseded`` counts the others).

Runs are listed best first by fast_1 (the first p > 0 when 1 is not among ``p_values``) over all
levels, then fast_0, then label.

The computing functions (``compute``, ``summarize``, ``fast_p``, ``geomean_ci``, ...) are pure
and take lists of ``(Case, Verdict)``; rendering (``render``, ``render_page``) only formats a
``Board``.
"""
from __future__ import annotations

import csv
import datetime as _dt
import html as _html
import io
import math
import sqlite3
import sys
import textwrap
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Optional, Sequence

import hydra
import numpy as np
from tabulate import tabulate

from .config import register
from .store import Case, Store
from .verdict import FLAG_DOCS, Outcome, Verdict

NOT_COMPILED = frozenset({Outcome.NO_CODE, Outcome.LOAD_ERROR, Outcome.COMPILE_ERROR})
FORMATS = ("terminal", "github", "latex", "html", "csv")
BOOTSTRAP_SEED = 0
ALL = "all"
CurvePoint = tuple[float, float]


# ---------------------------------------------------------------------------------------------
# computing: pure functions over (Case, Verdict)
# ---------------------------------------------------------------------------------------------
def valid_speedup(v: Verdict) -> Optional[float]:
    """The verdict's speedup if it is a usable number (finite, > 0), else None."""
    s = v.speedup
    if s is None or not isinstance(s, (int, float)) or not math.isfinite(s) or s <= 0:
        return None
    return float(s)


def best_per_problem(cases: Iterable[tuple[Case, Verdict]]) -> dict[str, Optional[float]]:
    """Problems with at least one win -> the best win's speedup (None: no win was timed)."""
    best: dict[str, Optional[float]] = {}
    for case, v in cases:
        if not v.win:
            continue
        s = valid_speedup(v)
        cur = best.get(case.problem_id, None)
        if case.problem_id not in best or (s is not None and (cur is None or s > cur)):
            best[case.problem_id] = s
    return best


def fast_p(best: dict[str, Optional[float]], n_problems: int, p: float) -> float:
    """Share of the n_problems whose best win beats p (p <= 0: has a win at all)."""
    if n_problems <= 0:
        return 0.0
    if p <= 0:
        hits = len(best)
    else:
        hits = sum(1 for s in best.values() if s is not None and s > p)
    return hits / n_problems


def geomean_ci(speedups: Sequence[float], n_boot: int = 2000, seed: int = BOOTSTRAP_SEED,
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
    # drop repeated corners (same point twice in a row)
    out = [pts[0]]
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
    hardware: str = ""
    best: dict[str, Optional[float]] = field(default_factory=dict, repr=False)


@dataclass
class FlagRow:
    label: str
    hardware: str
    flag: str
    cases: int                       # cases carrying this flag
    share: float                     # ... as a share of the run's samples
    passed: int                      # ... whose outcome was ok: passes that do not count


@dataclass
class Run:
    """Everything the page needs about one run (label, hardware)."""
    label: str
    hardware: str
    rows: list[Row]                  # per level, then "all"
    speedups: list[float]            # every timed win (samples, not problems): the histogram

    @property
    def total(self) -> Row:
        return self.rows[-1]


@dataclass
class Board:
    runs: list[Run]
    flag_rows: list[FlagRow]
    p_values: list[float]
    hardware: list[str]              # distinct hardware in the tabulated cases
    superseded: int = 0              # cases dropped for a newer verdict of the same sample

    @property
    def rows(self) -> list[Row]:
        return [r for run in self.runs for r in run.rows]

    @property
    def multi_hardware(self) -> bool:
        return len(self.hardware) > 1

    def row(self, label: str, level: Any = ALL, hardware: Optional[str] = None) -> Row:
        for r in self.rows:
            if r.label == label and r.level == _level_name(level) and \
                    (hardware is None or r.hardware == hardware):
                return r
        raise KeyError((label, level, hardware))


def _level_name(level: Any) -> str:
    if level is None:
        return "-"
    return str(level)


def _level_key(level: Optional[int]) -> tuple[int, int]:
    return (1, 0) if level is None else (0, int(level))


def summarize(cases: Sequence[tuple[Case, Verdict]], p_values: Sequence[float],
              bootstrap: int = 2000, label: str = "", level: str = ALL,
              hardware: str = "") -> Row:
    """The metrics of one group of cases (see the module docstring for the definitions)."""
    n = len(cases)
    per_problem = Counter(c.problem_id for c, _ in cases)
    problems = len(per_problem)
    best = best_per_problem(cases)
    timed = [s for s in best.values() if s is not None]
    gm, ci = geomean_ci(timed, bootstrap)
    flags: Counter[str] = Counter()
    for _, v in cases:
        flags.update(set(v.flags))
    return Row(
        label=label, level=level, hardware=hardware,
        problems=problems, samples=n, k=max(per_problem.values(), default=0),
        compiled=sum(v.outcome not in NOT_COMPILED for _, v in cases) / n if n else 0.0,
        correct=sum(v.outcome is Outcome.OK for _, v in cases) / n if n else 0.0,
        fast={float(p): fast_p(best, problems, float(p)) for p in p_values},
        geomean=gm, ci=ci, timed=len(timed),
        flagged=sum(1 for _, v in cases if v.flags), flags=dict(sorted(flags.items())),
        best=best,
    )


def filter_cases(cases: Iterable[tuple[Case, Verdict]], hardware: Optional[str] = None,
                 label: Optional[str] = None) -> list[tuple[Case, Verdict]]:
    return [(c, v) for c, v in cases
            if (hardware is None or v.hardware == hardware) and (label is None or c.label == label)]


def _dedupe(cases: Iterable[tuple[Case, Verdict]]) -> tuple[list[tuple[Case, Verdict]], int]:
    """Keep the newest verdict per (label, hardware, problem, sample)."""
    keep: dict[tuple, tuple[Case, Verdict]] = {}
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


def compute(cases: Iterable[tuple[Case, Verdict]], p_values: Sequence[float] = (0.0, 1.0, 1.5, 2.0),
            bootstrap: int = 2000, hardware: Optional[str] = None,
            label: Optional[str] = None) -> Board:
    """The whole board from (Case, Verdict) pairs, filters applied first."""
    p_values = list(dict.fromkeys(float(p) for p in p_values))
    cases, superseded = _dedupe(filter_cases(cases, hardware, label))
    by_run: dict[tuple[str, str], list[tuple[Case, Verdict]]] = defaultdict(list)
    for c, v in cases:
        by_run[(c.label, v.hardware)].append((c, v))

    runs: list[Run] = []
    flag_rows: list[FlagRow] = []
    for (lab, hw), run_cases in by_run.items():
        by_level: dict[Optional[int], list] = defaultdict(list)
        for c, v in run_cases:
            by_level[c.level].append((c, v))
        rows = [summarize(by_level[lv], p_values, bootstrap, lab, _level_name(lv), hw)
                for lv in sorted(by_level, key=_level_key)]
        rows.append(summarize(run_cases, p_values, bootstrap, lab, ALL, hw))
        speedups = sorted(s for _, v in run_cases if v.win
                          for s in [valid_speedup(v)] if s is not None)
        runs.append(Run(lab, hw, rows, speedups))
        for flag, count in rows[-1].flags.items():
            passed = sum(1 for _, v in run_cases if flag in v.flags and v.outcome is Outcome.OK)
            flag_rows.append(FlagRow(lab, hw, flag, count, count / len(run_cases), passed))

    rp = rank_p(p_values)
    runs.sort(key=lambda r: (-fast_p(r.total.best, r.total.problems, rp),
                             -fast_p(r.total.best, r.total.problems, 0.0), r.label, r.hardware))
    order = {(r.label, r.hardware): i for i, r in enumerate(runs)}
    flag_rows.sort(key=lambda f: (order[(f.label, f.hardware)], -f.cases, f.flag))
    return Board(runs, flag_rows, p_values, sorted({v.hardware for _, v in cases}), superseded)


# ---------------------------------------------------------------------------------------------
# rendering: tables
# ---------------------------------------------------------------------------------------------
def p_name(p: float) -> str:
    return f"fast_{p:g}"


def pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def times(x: Optional[float]) -> str:
    return "-" if x is None else f"{x:.2f}x"


def ci_text(ci: Optional[tuple[float, float]]) -> str:
    return "-" if ci is None else f"{ci[0]:.2f}-{ci[1]:.2f}"


def hw_name(hw: str) -> str:
    return hw or "unknown"


def main_table(board: Board) -> tuple[list[str], list[list[Any]], tuple[str, ...]]:
    """Headers, display rows and column alignment of the main table."""
    hw = board.multi_hardware
    headers = ["label"] + (["hardware"] if hw else []) + \
        ["level", "problems", "samples", "k", "compiled", "correct"] + \
        [p_name(p) for p in board.p_values] + ["geomean", "95% CI", "flagged"]
    rows = []
    for r in board.rows:
        rows.append([r.label] + ([hw_name(r.hardware)] if hw else []) +
                    [r.level, r.problems, r.samples, r.k, pct(r.compiled), pct(r.correct)] +
                    [pct(r.fast[p]) for p in board.p_values] +
                    [times(r.geomean), ci_text(r.ci), r.flagged])
    align = ("left",) * (2 + hw) + ("right",) * (len(headers) - 2 - hw)
    return headers, rows, align


def flag_table(board: Board) -> tuple[list[str], list[list[Any]], tuple[str, ...]]:
    hw = board.multi_hardware
    headers = ["label"] + (["hardware"] if hw else []) + ["flag", "cases", "of samples", "passed"]
    rows = [[f.label] + ([hw_name(f.hardware)] if hw else []) +
            [f.flag, f.cases, pct(f.share), f.passed] for f in board.flag_rows]
    align = ("left",) * (2 + hw) + ("right",) * 3
    return headers, rows, align


def csv_table(board: Board) -> tuple[list[str], list[list[Any]]]:
    """One machine-readable table: raw shares (0-1), CI bounds apart, a column per flag seen."""
    flags = sorted({f for r in board.rows for f in r.flags})
    headers = ["label", "hardware", "level", "problems", "samples", "k", "compiled", "correct"] + \
        [p_name(p) for p in board.p_values] + \
        ["geomean", "ci_low", "ci_high", "timed", "flagged"] + [f"flag_{f}" for f in flags]
    rows = []
    for r in board.rows:
        rows.append([r.label, r.hardware, r.level, r.problems, r.samples, r.k, r.compiled,
                     r.correct] + [r.fast[p] for p in board.p_values] +
                    ["" if r.geomean is None else r.geomean,
                     "" if r.ci is None else r.ci[0], "" if r.ci is None else r.ci[1],
                     r.timed, r.flagged] + [r.flags.get(f, 0) for f in flags])
    return headers, rows


NOTES = ("compiled, correct: share of samples. fast_p: share of problems with a correct, "
         "unflagged sample more than p times faster than the reference (best of k; fast_0: any "
         "such sample). geomean: per-problem best speedup over problems with a timed win, 95% "
         "bootstrap CI. A flagged case never counts as a win.")

TABULATE = {"terminal": "simple", "github": "github", "latex": "latex_booktabs", "html": "html"}


def render(board: Board, fmt: str = "terminal", title: str = "") -> str:
    """The tables as text: terminal | github | latex | html through tabulate, csv via csv."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}: choose one of {', '.join(FORMATS)}")
    if fmt == "csv":
        headers, rows = csv_table(board)
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(headers)
        w.writerows(rows)
        return buf.getvalue()

    tf = TABULATE[fmt]
    h, rows, align = main_table(board)
    main = tabulate(rows, headers=h, tablefmt=tf, colalign=align, disable_numparse=True)
    fh, frows, falign = flag_table(board)
    flags = tabulate(frows, headers=fh, tablefmt=tf, colalign=falign, disable_numparse=True) \
        if frows else ""
    flag_title = "Flagged cases (never counted as wins)"
    if fmt == "terminal":
        parts = ([title, ""] if title else []) + [main, "", textwrap.fill(NOTES, 100), ""]
        parts += [flag_title + ":", flags] if flags else ["No flagged cases."]
    elif fmt == "github":
        parts = ([f"### {title}", ""] if title else []) + [main, "", f"_{NOTES}_", ""]
        parts += [f"**{flag_title}**", "", flags] if flags else ["No flagged cases."]
    elif fmt == "latex":
        parts = ([f"% {title}"] if title else []) + [f"% {NOTES}", main]
        if flags:
            parts += ["", f"% {flag_title}", flags]
    else:  # html fragment
        parts = ([f"<h3>{_html.escape(title)}</h3>"] if title else []) + \
            [main, f"<p>{_html.escape(NOTES)}</p>"]
        parts += [f"<h4>{flag_title}</h4>", flags] if flags else ["<p>No flagged cases.</p>"]
    return "\n".join(parts).rstrip("\n") + "\n"


# ---------------------------------------------------------------------------------------------
# rendering: the HTML page
# ---------------------------------------------------------------------------------------------
# The plots are hand-written SVG rather than matplotlib: two simple chart kinds do not justify a
# plotting stack on every GPU node, the SVG stays a few KB, uses the page's own fonts and
# colours through CSS, and comes out byte-identical for the same store (no embedded ids/dates).
PALETTE = ("#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1",
           "#ff9da7", "#9c755f", "#bab0ac")
FAST, SLOW = "#3a9b5c", "#d9822b"
P_MAX = 4.0


def _e(s: Any) -> str:
    return _html.escape(str(s), quote=True)


def _nice_step(top: float, ticks: int = 5) -> float:
    raw = max(top, 1e-9) / ticks
    mag = 10 ** math.floor(math.log10(raw))
    for m in (1, 2, 2.5, 5, 10):
        if m * mag >= raw:
            return m * mag
    return 10 * mag


def _speed_label(e: int) -> str:
    return f"{2.0 ** e:g}\u00d7" if e >= -2 else f"1/{2 ** -e}\u00d7"


def log2_range(speedups: Iterable[float]) -> tuple[int, int]:
    """Whole octaves [lo, hi] covering the speedups (at least 1/4x..4x, at most 2^-10..2^10)."""
    xs = [math.log2(min(max(s, 2.0 ** -10), 2.0 ** 10)) for s in speedups if s > 0]
    if not xs:
        return -2, 2
    lo, hi = min(-2, math.floor(min(xs))), max(2, math.ceil(max(xs)))
    if hi == max(xs) and hi < 10:
        hi += 1                       # keep a value sitting on a power of two off the edge
    return lo, hi


def svg_histogram(speedups: Sequence[float], width: int = 540, height: int = 250,
                  per_octave: int = 4, octaves: Optional[tuple[int, int]] = None) -> str:
    """Histogram of speedups on a log2 axis; bars right of 1x (faster) green, left amber.

    ``octaves`` fixes the axis (log2 of its ends), so that several runs' plots line up.
    """
    ml, mr, mt, mb = 44, 14, 24, 38
    pw, ph = width - ml - mr, height - mt - mb
    head = (f'<svg class="chart" viewBox="0 0 {width} {height}" width="{width}" '
            f'height="{height}" role="img" xmlns="http://www.w3.org/2000/svg">')
    xs = np.log2(np.clip(np.asarray([s for s in speedups if s > 0], dtype=float),
                         2.0 ** -10, 2.0 ** 10))
    if xs.size == 0:
        return (head + f'<rect x="{ml}" y="{mt}" width="{pw}" height="{ph}" class="plot-bg"/>'
                f'<text x="{ml + pw / 2}" y="{mt + ph / 2}" class="empty" text-anchor="middle">'
                'no correct, unflagged timed solutions</text></svg>')
    lo, hi = octaves or log2_range(2.0 ** xs)
    xs = np.clip(xs, lo, hi)
    edges = np.arange(lo * per_octave, hi * per_octave + 1) / per_octave
    counts, _ = np.histogram(xs, edges)
    top = max(int(counts.max()), 1)
    step = max(1, int(_nice_step(top, 4)))
    ymax = math.ceil(top / step) * step

    def X(e: float) -> float:
        return ml + (e - lo) / (hi - lo) * pw

    def Y(c: float) -> float:
        return mt + ph - c / ymax * ph

    out = [head, f'<rect x="{ml}" y="{mt}" width="{pw}" height="{ph}" class="plot-bg"/>']
    for c in range(0, ymax + 1, step):
        out.append(f'<line x1="{ml}" x2="{ml + pw}" y1="{Y(c):.1f}" y2="{Y(c):.1f}" '
                   f'class="grid"/><text x="{ml - 6}" y="{Y(c) + 4:.1f}" class="tick" '
                   f'text-anchor="end">{c}</text>')
    bar_w = pw / len(counts)
    for i, c in enumerate(counts):
        if not c:
            continue
        x0 = X(edges[i])
        colour = FAST if edges[i] >= 0 else SLOW
        out.append(f'<rect x="{x0 + 0.75:.1f}" y="{Y(c):.1f}" width="{max(bar_w - 1.5, 1):.1f}" '
                   f'height="{Y(0) - Y(c):.1f}" fill="{colour}" rx="1.5">'
                   f'<title>{_e(f"{2 ** edges[i]:.3g}-{2 ** edges[i + 1]:.3g}x: {c}")}</title>'
                   f'</rect>')
    every = 1 if hi - lo <= 10 else 2
    for e in range(lo, hi + 1):
        if (e - lo) % every:
            continue
        out.append(f'<line x1="{X(e):.1f}" x2="{X(e):.1f}" y1="{mt + ph}" y2="{mt + ph + 4}" '
                   f'class="axis"/><text x="{X(e):.1f}" y="{mt + ph + 17}" class="tick" '
                   f'text-anchor="middle">{_speed_label(e)}</text>')
    out.append(f'<line x1="{X(0):.1f}" x2="{X(0):.1f}" y1="{mt}" y2="{mt + ph}" class="parity"/>')
    out.append(f'<text x="{X(0):.1f}" y="{mt - 8}" class="note" text-anchor="middle">'
               f'\u2190 slower \u00b7 reference \u00b7 faster \u2192</text>')
    out.append(f'<line x1="{ml}" x2="{ml + pw}" y1="{mt + ph}" y2="{mt + ph}" class="axis"/>')
    out.append(f'<text x="{ml + pw / 2}" y="{height - 4}" class="axis-label" '
               f'text-anchor="middle">speedup over the reference (log scale)</text>')
    out.append(f'<text transform="translate(11 {mt + ph / 2}) rotate(-90)" class="axis-label" '
               f'text-anchor="middle">samples</text>')
    out.append("</svg>")
    return "".join(out)


def svg_fast_curves(series: Sequence[tuple[str, str, list[CurvePoint], float, str]],
                    p_marks: Sequence[float] = (), width: int = 540, height: int = 250,
                    p_max: float = P_MAX) -> str:
    """fast_p over p as step lines: series of (name, colour, fast_curve points, stroke width,
    dash pattern ("" for solid))."""
    ml, mr, mt, mb = 44, 14, 14, 38
    pw, ph = width - ml - mr, height - mt - mb

    def X(p: float) -> float:
        return ml + min(p, p_max) / p_max * pw

    def Y(s: float) -> float:
        return mt + ph - s * ph

    out = [f'<svg class="chart" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
           f'role="img" xmlns="http://www.w3.org/2000/svg">',
           f'<rect x="{ml}" y="{mt}" width="{pw}" height="{ph}" class="plot-bg"/>']
    for s in (0, 0.25, 0.5, 0.75, 1.0):
        out.append(f'<line x1="{ml}" x2="{ml + pw}" y1="{Y(s):.1f}" y2="{Y(s):.1f}" class="grid"/>'
                   f'<text x="{ml - 6}" y="{Y(s) + 4:.1f}" class="tick" text-anchor="end">'
                   f'{int(s * 100)}%</text>')
    for p in range(0, int(p_max) + 1):
        out.append(f'<line x1="{X(p):.1f}" x2="{X(p):.1f}" y1="{mt + ph}" y2="{mt + ph + 4}" '
                   f'class="axis"/><text x="{X(p):.1f}" y="{mt + ph + 17}" class="tick" '
                   f'text-anchor="middle">{p}</text>')
    if p_max >= 1:
        out.append(f'<line x1="{X(1):.1f}" x2="{X(1):.1f}" y1="{mt}" y2="{mt + ph}" '
                   f'class="parity"/>')
    for name, colour, pts, sw, dash in series:
        d = "M" + " L".join(f"{X(p):.1f},{Y(s):.1f}" for p, s in pts)
        dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
        out.append(f'<path d="{d}" fill="none" stroke="{colour}" stroke-width="{sw}"{dash_attr} '
                   f'stroke-linejoin="round"><title>{_e(name)}</title></path>')
        for p in p_marks:
            if 0 <= p <= p_max and not dash:
                s = _curve_at(pts, p)
                out.append(f'<circle cx="{X(p):.1f}" cy="{Y(s):.1f}" r="{1.5 + sw}" '
                           f'fill="{colour}" stroke="#fff" stroke-width="1.2">'
                           f'<title>{_e(f"{name}: {p_name(p)} = {pct(s)}")}</title></circle>')
    out.append(f'<line x1="{ml}" x2="{ml + pw}" y1="{mt + ph}" y2="{mt + ph}" class="axis"/>')
    out.append(f'<text x="{ml + pw / 2}" y="{height - 4}" class="axis-label" '
               f'text-anchor="middle">p (speedup threshold)</text>')
    out.append(f'<text transform="translate(11 {mt + ph / 2}) rotate(-90)" class="axis-label" '
               f'text-anchor="middle">fast_p (problems)</text>')
    out.append("</svg>")
    return "".join(out)


def _curve_at(pts: Sequence[CurvePoint], p: float) -> float:
    """The step function's value at p (fast_p with a strict >)."""
    if p <= 0:
        return pts[0][1]
    val = pts[0][1]
    for x, s in pts:
        if x <= p:
            val = s
        else:
            break
    return val


CSS = """
:root { --ink:#1f2430; --muted:#6b7280; --line:#e5e7eb; --bg:#f5f6f8; --card:#fff;
        --accent:#4e79a7; --good:#3a9b5c; }
* { box-sizing: border-box; }
body { margin:0; background:var(--bg); color:var(--ink);
       font:14px/1.45 -apple-system, BlinkMacSystemFont, "Segoe UI", Roboto, "Helvetica Neue",
       Arial, "Noto Sans", "DejaVu Sans", sans-serif; }
.wrap { max-width:1240px; margin:0 auto; padding:28px 32px 48px; }
header { display:flex; justify-content:space-between; align-items:flex-end; gap:24px;
         border-bottom:1px solid var(--line); padding-bottom:16px; margin-bottom:22px; }
h1 { font-size:26px; margin:0; letter-spacing:-0.01em; }
h1 .sub { color:var(--muted); font-weight:400; }
h2 { font-size:17px; margin:30px 0 12px; }
h3 { font-size:15px; margin:0; }
.meta { color:var(--muted); font-size:13px; text-align:right; }
.meta b { color:var(--ink); font-weight:600; }
.chip { display:inline-block; background:#e8eef6; color:#27466b; border-radius:999px;
        padding:1px 9px; margin-left:4px; font-size:12px; font-weight:600; }
.cards { display:grid; grid-template-columns:repeat(auto-fit, minmax(230px, 1fr)); gap:14px; }
.card { background:var(--card); border:1px solid var(--line); border-radius:10px;
        padding:14px 16px; box-shadow:0 1px 2px rgba(16,24,40,.04); }
.card .top { display:flex; align-items:center; gap:8px; }
.card .rank { color:var(--muted); font-size:12px; font-weight:600; }
.swatch { width:10px; height:10px; border-radius:3px; display:inline-block; flex:none; }
.big { font-size:30px; font-weight:700; margin:6px 0 0; font-variant-numeric:tabular-nums; }
.big small { font-size:13px; color:var(--muted); font-weight:500; margin-left:4px; }
.kv { display:grid; grid-template-columns:auto auto; gap:2px 12px; font-size:12.5px;
      color:var(--muted); margin-top:8px; }
.kv span:nth-child(2n) { color:var(--ink); text-align:right; font-variant-numeric:tabular-nums; }
.panel { background:var(--card); border:1px solid var(--line); border-radius:10px;
         overflow:hidden; box-shadow:0 1px 2px rgba(16,24,40,.04); }
table.board { border-collapse:collapse; width:100%; font-size:13px;
              font-variant-numeric:tabular-nums; }
table.board th { background:#f9fafb; color:#4b5563; font-weight:600; text-align:right;
                 padding:8px 10px; border-bottom:1px solid var(--line); white-space:nowrap; }
table.board td { padding:6px 10px; text-align:right; border-bottom:1px solid #f0f1f3;
                 white-space:nowrap; }
table.board th.l, table.board td.l { text-align:left; }
table.board tr.total td { font-weight:650; background-color:#f8f9fb;
                          border-bottom:1px solid var(--line); }
table.board td.run { font-weight:650; vertical-align:top; border-bottom:1px solid var(--line);
                     background:#fff; }
table.board td.pc { background-repeat:no-repeat; background-position:right 10px bottom 2px;
                    padding-bottom:8px; }
table.board td.dim { color:#9ca3af; }
table.board td.warn { color:#b45309; font-weight:600; }
table.flags td.doc { color:var(--muted); white-space:normal; text-align:left; font-size:12.5px; }
.charts { display:grid; grid-template-columns:1fr 1fr; gap:14px; }
.charts .card h4 { margin:0 0 6px; font-size:13px; color:#4b5563; font-weight:600; }
.runhead { display:flex; align-items:center; gap:10px; margin-bottom:8px; }
.runhead .muted { color:var(--muted); font-size:12.5px; }
.run { margin-bottom:18px; }
.legend { display:flex; flex-wrap:wrap; gap:6px 16px; font-size:12.5px; margin:4px 0 6px 44px; }
.legend span { display:inline-flex; align-items:center; gap:6px; }
svg.chart { width:100%; height:auto; display:block; }
svg .plot-bg { fill:#fcfcfd; }
svg .grid { stroke:#eceef1; stroke-width:1; }
svg .axis { stroke:#9ca3af; stroke-width:1; }
svg .parity { stroke:#6b7280; stroke-width:1; stroke-dasharray:4 3; }
svg .tick { fill:#6b7280; font-size:11px; }
svg .note { fill:#6b7280; font-size:10.5px; }
svg .axis-label { fill:#4b5563; font-size:11.5px; }
svg .empty { fill:#9ca3af; font-size:13px; }
.notes { color:#4b5563; font-size:13px; }
.notes dt { font-weight:650; color:var(--ink); margin-top:6px; }
.notes dd { margin:0 0 0 0; }
.notes dl { display:grid; grid-template-columns:110px 1fr; gap:4px 14px; }
.notes dl dt, .notes dl dd { margin:0; }
footer { color:var(--muted); font-size:12px; margin-top:28px; border-top:1px solid var(--line);
         padding-top:12px; }
"""

DEFINITIONS = [
    ("problems", "distinct problems in the group; <b>samples</b>: solutions scored; "
                 "<b>k</b>: the most samples one problem has (best-of-k)."),
    ("compiled", "share of samples whose code loaded and built (outcome not no_code, "
                 "load_error or compile_error)."),
    ("correct", "share of samples that ran and matched the reference (flags not considered)."),
    ("fast_p", "share of problems with at least one correct, <b>unflagged</b> sample more than "
               "p&times; faster than the reference; fast_0: any correct, unflagged sample. "
               "One qualifying sample of k is enough."),
    ("geomean", "geometric mean over problems of the best correct, unflagged sample's speedup "
                "(problems without one are left out: read it with fast_0); 95% percentile "
                "bootstrap CI over problems, fixed seed."),
    ("flagged", "samples with at least one flag. A flagged case never counts as a win."),
]


def _n(count: int, noun: str) -> str:
    return f"{count} {noun}" + ("" if count == 1 else "s")


def _times_html(x: Optional[float]) -> str:
    return "&ndash;" if x is None else f"{x:.2f}&times;"


def _pct_cell(x: float, colour: str) -> str:
    w = max(0.0, min(1.0, x)) * 100
    style = (f"background-image:linear-gradient({colour},{colour});"
             f"background-size:calc({w:.1f}% - {w * 0.2:.1f}px) 3px") if w > 0 else ""
    return f'<td class="pc" style="{style}">{pct(x)}</td>'


def _page_table(board: Board, colours: dict[tuple[str, str], str]) -> str:
    hw = board.multi_hardware
    head = ['<th class="l">run</th>'] + (['<th class="l">hardware</th>'] if hw else []) + \
        ['<th class="l">level</th>', "<th>problems</th>", "<th>samples</th>", "<th>k</th>",
         "<th>compiled</th>", "<th>correct</th>"] + \
        [f"<th>{_e(p_name(p))}</th>" for p in board.p_values] + \
        ["<th>geomean</th>", "<th>95% CI</th>", "<th>flagged</th>"]
    body = []
    for run in board.runs:
        colour = colours[(run.label, run.hardware)]
        for i, r in enumerate(run.rows):
            cells = []
            if i == 0:
                cells.append(f'<td class="l run" rowspan="{len(run.rows)}"><span class="swatch" '
                             f'style="background:{colour}"></span> {_e(r.label)}</td>')
                if hw:
                    cells.append(f'<td class="l run" rowspan="{len(run.rows)}">'
                                 f'{_e(hw_name(r.hardware))}</td>')
            cells += [f'<td class="l">{"all levels" if r.level == ALL else _e(r.level)}</td>',
                      f"<td>{r.problems}</td>", f"<td>{r.samples}</td>", f"<td>{r.k}</td>",
                      _pct_cell(r.compiled, "#c5cad3"), _pct_cell(r.correct, "#9fb8d6")]
            cells += [_pct_cell(r.fast[p], "#86c79b") for p in board.p_values]
            ci_title = f' title="{r.timed} problems with a timed win"'
            cells += [f"<td{ci_title}>{_times_html(r.geomean)}</td>",
                      f'<td class="dim"{ci_title}>{ci_text(r.ci)}</td>',
                      f'<td class="{"warn" if r.flagged else "dim"}">{r.flagged}</td>']
            cls = ' class="total"' if r.level == ALL else ""
            body.append(f"<tr{cls}>{''.join(cells)}</tr>")
    return (f'<div class="panel"><table class="board"><thead><tr>{"".join(head)}</tr></thead>'
            f'<tbody>{"".join(body)}</tbody></table></div>')


def _page_flags(board: Board) -> str:
    if not board.flag_rows:
        return '<p class="notes">No flagged cases.</p>'
    hw = board.multi_hardware
    head = ['<th class="l">run</th>'] + (['<th class="l">hardware</th>'] if hw else []) + \
        ['<th class="l">flag</th>', "<th>cases</th>", "<th>of samples</th>",
         '<th title="flagged cases whose outcome was ok: passes that do not count">passed</th>',
         '<th class="l">meaning</th>']
    body = []
    for f in board.flag_rows:
        cells = [f'<td class="l">{_e(f.label)}</td>'] + \
            ([f'<td class="l">{_e(hw_name(f.hardware))}</td>'] if hw else []) + \
            [f'<td class="l"><code>{_e(f.flag)}</code></td>', f"<td>{f.cases}</td>",
             f"<td>{pct(f.share)}</td>", f"<td>{f.passed}</td>",
             f'<td class="doc">{_e(FLAG_DOCS.get(f.flag, ""))}</td>']
        body.append(f"<tr>{''.join(cells)}</tr>")
    return (f'<div class="panel"><table class="board flags"><thead><tr>{"".join(head)}</tr>'
            f'</thead><tbody>{"".join(body)}</tbody></table></div>')


def render_page(board: Board, store: str = "", generated: Optional[str] = None,
                filters: Optional[dict[str, Any]] = None) -> str:
    """A self-contained HTML page: headline cards, the tables, and per-run plots (inline SVG)."""
    from . import __version__
    generated = generated or _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    colours = {(r.label, r.hardware): PALETTE[i % len(PALETTE)] for i, r in enumerate(board.runs)}
    rp = rank_p(board.p_values)
    multi = board.multi_hardware

    def run_name(run: Run) -> str:
        return f"{run.label} @ {hw_name(run.hardware)}" if multi else run.label

    cards = []
    for i, run in enumerate(board.runs):
        t = run.total
        kv = [("correct", pct(t.correct)), (p_name(0.0), pct(fast_p(t.best, t.problems, 0.0))),
              ("geomean", "-" if t.geomean is None else f"{t.geomean:.2f}\u00d7"),
              ("problems", f"{t.problems} \u00b7 k={t.k}")]
        if t.flagged:
            kv.append(("flagged", str(t.flagged)))
        cards.append(
            f'<div class="card"><div class="top"><span class="rank">#{i + 1}</span>'
            f'<span class="swatch" style="background:{colours[(run.label, run.hardware)]}"></span>'
            f'<h3>{_e(run_name(run))}</h3></div>'
            f'<div class="big">{pct(fast_p(t.best, t.problems, rp))}<small>{_e(p_name(rp))}</small>'
            f'</div><div class="kv">'
            + "".join(f"<span>{_e(k)}</span><span>{_e(v)}</span>" for k, v in kv)
            + "</div></div>")

    overlay = svg_fast_curves(
        [(run_name(r), colours[(r.label, r.hardware)],
          fast_curve(r.total.best, r.total.problems), 2.2, "") for r in board.runs],
        board.p_values, width=1100, height=300)
    legend = "".join(f"<span>{_line_sample(colours[(r.label, r.hardware)], 2.2, '')}"
                     f"{_e(run_name(r))}</span>" for r in board.runs)
    octaves = log2_range(s for r in board.runs for s in r.speedups)

    per_run = []
    for run in board.runs:
        colour = colours[(run.label, run.hardware)]
        levels = run.rows[:-1]
        shades = _shades(colour, len(levels))
        series = [(f"level {r.level}", shades[j], fast_curve(r.best, r.problems), 1.4,
                   DASHES[j % len(DASHES)]) for j, r in enumerate(levels)] \
            if len(levels) > 1 else []
        series.append(("all levels", colour, fast_curve(run.total.best, run.total.problems), 2.6,
                       ""))
        lg = "".join(f"<span>{_line_sample(c, w, d)}{_e(n)}</span>" for n, c, _, w, d in series)
        t = run.total
        per_run.append(
            f'<div class="run"><div class="runhead"><span class="swatch" style="background:'
            f'{colour}"></span><h3>{_e(run_name(run))}</h3><span class="muted">'
            f'{_n(t.problems, "problem")} \u00b7 {_n(t.samples, "sample")} \u00b7 '
            f'{len(run.speedups)} correct, unflagged, timed</span></div><div class="charts">'
            f'<div class="card"><h4>Speedup distribution (correct, unflagged samples)</h4>'
            f'{svg_histogram(run.speedups, octaves=octaves)}</div>'
            f'<div class="card"><h4>fast_p over p</h4><div class="legend">{lg}</div>'
            f'{svg_fast_curves(series, board.p_values)}</div></div></div>')

    hw_chips = "".join(f'<span class="chip">{_e(hw_name(h))}</span>' for h in board.hardware)
    filt = ", ".join(f"{k}={v}" for k, v in (filters or {}).items() if v is not None)
    meta = [f"generated <b>{_e(generated)}</b>", f"hardware {hw_chips}"]
    if store:
        meta.append(f"store <b>{_e(store)}</b>")
    if filt:
        meta.append(f"filter <b>{_e(filt)}</b>")
    if board.superseded:
        meta.append(f"{board.superseded} older verdicts superseded")
    defs = "".join(f"<dt>{_e(k)}</dt><dd>{v}</dd>" for k, v in DEFINITIONS)

    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>kernel-harness leaderboard</title>
<style>{CSS}</style></head>
<body><div class="wrap">
<header><div><h1>kernel-harness <span class="sub">leaderboard</span></h1>
<div class="notes">Correct, honest and fast: runs ranked by {_e(p_name(rp))}, the share of
problems with a correct, unflagged kernel more than {rp:g}&times; faster than the PyTorch
reference.</div></div>
<div class="meta">{"<br>".join(meta)}</div></header>
<section class="cards">{"".join(cards)}</section>
<h2>Results</h2>
{_page_table(board, colours)}
<h2>fast_p across runs</h2>
<div class="card"><div class="legend">{legend}</div>{overlay}</div>
<h2>Per run</h2>
{"".join(per_run)}
<h2>Flagged cases <span class="sub" style="font-weight:400;color:var(--muted)">never counted
as wins</span></h2>
{_page_flags(board)}
<h2>How to read this</h2>
<div class="notes"><dl>{defs}</dl></div>
<footer>kernel-harness {_e(__version__)} &middot; python -m harness.board</footer>
</div></body></html>
"""


DASHES = ("6 3", "2 2.5", "9 3 2 3", "1 3")


def _line_sample(colour: str, width: float, dash: str) -> str:
    """A short line in a legend, drawn like the series it names."""
    d = f' stroke-dasharray="{dash}"' if dash else ""
    return (f'<svg width="24" height="10" aria-hidden="true"><line x1="1" y1="5" x2="23" y2="5" '
            f'stroke="{colour}" stroke-width="{width}"{d}/></svg>')


def _shades(hex_colour: str, n: int) -> list[str]:
    """n lighter tints of a colour, for the per-level lines under the run's own colour."""
    r, g, b = (int(hex_colour[i:i + 2], 16) for i in (1, 3, 5))
    out = []
    for j in range(n):
        t = 0.1 + 0.3 * (j / max(n - 1, 1))
        out.append("#%02x%02x%02x" % tuple(int(c + (255 - c) * t) for c in (r, g, b)))
    return out


# ---------------------------------------------------------------------------------------------
# entry point
# ---------------------------------------------------------------------------------------------
def _err(msg: str) -> None:
    print(f"board: {msg}", file=sys.stderr)


def load_cases(path: str | Path) -> list[tuple[Case, Verdict]]:
    with Store(path) as store:
        return list(store.case_rows())


def run(cfg: Any) -> int:
    """Do what the CLI does; returns the exit code (2: bad store/format, 0 otherwise)."""
    store = str(cfg.store)
    if cfg.format not in FORMATS:
        _err(f"unknown format {cfg.format!r}: choose one of {', '.join(FORMATS)}")
        return 2
    if not Path(store).is_file():
        _err(f"results store not found: {store}")
        return 2
    try:
        cases = load_cases(store)
    except sqlite3.Error as ex:
        _err(f"cannot read results store {store}: {ex}")
        return 2
    filters = {"hardware": cfg.hardware, "label": cfg.label}
    if not cases:
        print(f"no results in {store}")
        return 0
    board = compute(cases, list(cfg.p_values), int(cfg.bootstrap), cfg.hardware, cfg.label)
    if not board.runs:
        filt = " ".join(f"{k}={v}" for k, v in filters.items() if v is not None)
        print(f"no results in {store} for {filt}")
        return 0

    title = f"kernel-harness board: {store} (hardware: " + \
        ", ".join(hw_name(h) for h in board.hardware) + ")"
    text = render(board, cfg.format, title=title)
    if cfg.out:
        Path(cfg.out).parent.mkdir(parents=True, exist_ok=True)
        Path(cfg.out).write_text(text)
        _err(f"wrote {cfg.out}")
    else:
        sys.stdout.write(text)
    if cfg.html:
        Path(cfg.html).parent.mkdir(parents=True, exist_ok=True)
        Path(cfg.html).write_text(render_page(board, store=store, filters=filters))
        _err(f"wrote {cfg.html}")
    return 0


register()


@hydra.main(version_base=None, config_path="../conf", config_name="board")
def main(cfg: Any) -> None:
    code = run(cfg)
    if code:
        sys.exit(code)


if __name__ == "__main__":
    main()
