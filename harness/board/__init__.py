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
            and no flag; caveats do not matter) and, for p > 0, has a counted speedup > p.
            fast_0 is the share of problems with any win, timed or not. Best-of-k: one
            qualifying sample among a problem's k is enough.
  geomean   geometric mean, over the problems that have a timed win, of the best win's counted
            speedup (per-problem metrics use the best sample), with a 95% percentile bootstrap
            CI: the problems are resampled with replacement ``bootstrap`` times under a fixed
            seed, so the same store always prints the same interval. Problems without a win are
            left out, so read it next to fast_0.
  flagged   samples carrying at least one flag. A flagged case never counts as a win, however
            fast; a second table counts flagged cases per flag name.
  caveated  wins carrying at least one caveat (``Verdict.caveats``: launch_bound,
            speedup_uncertain, not_converged): facts about the problem or the measurement, not
            about the solution, so they count as wins; a third table counts caveated cases per
            caveat, and how many of them are wins.

"~1x" and counted speedups, precisely. A speedup is *uncertain* when its verdict carries
``speedup_uncertain`` or, for a verdict judged before that caveat existed, its 95% CI contains
1 (lo <= 1 <= hi); it then counts as at most 1x: min(speedup, 1). So an uncertain 1.03x is a
win for fast_0 and for fast_p with p < 1, never for fast_1 or above, and enters the geomean and
the histogram as 1.0; an uncertain 0.9x stays 0.9 (capping only ever lowers a number, so noise
never makes a kernel look faster). The same rule prints: a geomean whose bootstrap CI contains
1 (inclusive) reads "~1x" instead of its digits (the CI column still shows the interval; CSV
keeps raw numbers), and ``report.render_text`` and the batch progress line print an uncertain
case speedup as "~1x". A geomean is marked "*" when the best win of at least one of its
problems carries a caveat.

Shares are over samples for compiled/correct, over problems for fast_p. A speedup counts only if
it is finite and > 0. When a store holds verdicts from more than one hardware, each (label,
hardware) pair is its own run and a hardware column appears: speedups from different machines
are never pooled. When the same (label, problem, sample, hardware) was scored under several
configs, the newest verdict is kept (``Board.superseded`` counts the others).

Runs are listed best first by fast_1 (the first p > 0 when 1 is not among ``p_values``) over all
levels, then fast_0, then label.

Modules: ``metrics`` (pure: ``compute``, ``summarize``, ``fast_p``, ``geomean_ci``, ... over
lists of ``(CaseKey, Verdict)``), ``tables`` (text formats), ``svg`` and ``page`` (the HTML page,
its stylesheet ``board.css`` as package data), ``cli`` (the entry point).
"""
from .cli import run
from .metrics import (ALL, Board, Row, Run, TagRow, best_per_problem, best_wins, compute,
                      counted_speedup, fast_curve, fast_p, geomean_ci, summarize)
from .page import render_page
from .tables import render

__all__ = ["ALL", "Board", "Row", "Run", "TagRow", "best_per_problem", "best_wins", "compute",
           "counted_speedup", "fast_curve", "fast_p", "geomean_ci", "render", "render_page",
           "run", "summarize"]
