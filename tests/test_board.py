"""The leaderboard: numbers worked out by hand on a small real store, formats, CLI, page."""
from __future__ import annotations

import csv
import io
import math
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from harness.board import ALL, compute, fast_curve, fast_p, geomean_ci, render, render_page
from harness.board.svg import curve_at
from harness.board.tables import geomean_text
from harness.report import render_text
from harness.store import CaseKey, Store
from harness.verdict import (BEYOND_ROOFLINE, LAUNCH_BOUND, NOT_CONVERGED, SPEEDUP_UNCERTAIN,
                             UNSYNCED_WORK, Outcome, Timing, Verdict)

ROOT = Path(__file__).resolve().parent.parent
P = [0.0, 0.5, 1.0, 1.5, 2.0]
OK, INC, CE, NC = Outcome.OK, Outcome.INCORRECT, Outcome.COMPILE_ERROR, Outcome.NO_CODE

# (label, level, problem, sample, outcome, speedup or None, flags)
CASES = [
    # A, level 1
    ("A", 1, "p1", "0", OK, 2.0, []),
    ("A", 1, "p1", "1", INC, None, []),
    ("A", 1, "p1", "2", OK, 0.5, []),
    ("A", 1, "p2", "0", CE, None, []),
    ("A", 1, "p2", "1", OK, 10.0, [BEYOND_ROOFLINE]),   # the fastest case, but flagged
    ("A", 1, "p2", "2", OK, 0.8, []),
    ("A", 1, "p3", "0", CE, None, []),
    # A, level 2
    ("A", 2, "p4", "0", OK, 4.0, []),
    ("A", 2, "p5", "0", NC, None, []),
    ("A", 2, "p5", "1", OK, 1.5, [UNSYNCED_WORK]),      # p5's only pass is flagged
    # B, level 1
    ("B", 1, "q1", "0", OK, 3.0, []),
    ("B", 1, "q2", "0", INC, None, []),
    ("B", 1, "q3", "0", OK, None, []),                  # a win that was not timed
]


def timing(speedup: float, ci=None) -> Timing:
    return Timing(ref_median_ms=1.0, cand_median_ms=1.0 / speedup, ref_iqr_ms=0.0,
                  cand_iqr_ms=0.0, ref_ci_ms=(1.0, 1.0), cand_ci_ms=(1.0, 1.0), ref_calls=10,
                  cand_calls=10, speedup=speedup, speedup_ci=ci or (speedup, speedup),
                  cache="cold", clock="host")


def verdict(label, problem, sample, outcome, speedup, flags, hardware="H1", config="c1",
            created="2025-01-01T00:00:00+00:00", caveats=(), ci=None) -> Verdict:
    v = Verdict(problem=f"{problem}.py", solution=f"{label}/{problem}/{sample}.py",
                outcome=outcome, problem_hash=f"ph-{problem}",
                solution_hash=f"sh-{label}-{problem}-{sample}", hardware=hardware,
                config_hash=config, created=created)
    if speedup is not None:
        v.timing = timing(speedup, ci)
    for f in flags:
        v.flag(f, "test")
    for c in caveats:
        v.caveat(c, f"why {c}")
    return v


def make_store(path: Path, cases=CASES, **kw) -> Path:
    with Store(path) as st:
        runs = {}
        for label, level, problem, sample, outcome, speedup, flags in cases:
            if label not in runs:
                runs[label] = st.start_run(label)
            st.record(verdict(label, problem, sample, outcome, speedup, flags, **kw),
                      CaseKey(label, problem, sample, level), runs[label])
    return path


@pytest.fixture
def store(tmp_path: Path) -> Path:
    return make_store(tmp_path / "results.db")


@pytest.fixture
def board(store: Path):
    with Store(store) as st:
        return compute(list(st.case_rows()), P, bootstrap=500)


def approx(x):
    return pytest.approx(x, rel=1e-9, abs=1e-12)


# -- numbers ----------------------------------------------------------------------------------
def test_level_rows_by_hand(board):
    r = board.row("A", 1)
    assert (r.problems, r.samples, r.k) == (3, 7, 3)
    assert r.compiled == approx(5 / 7)          # two compile errors among 7 samples
    assert r.correct == approx(4 / 7)           # flagged pass is still "correct"
    # best wins: p1 -> 2.0 (of 2.0, 0.5), p2 -> 0.8 (the flagged 10x never counts), p3 none
    assert r.best == {"p1": 2.0, "p2": 0.8}
    assert r.fast[0.0] == approx(2 / 3)
    assert r.fast[0.5] == approx(2 / 3)
    assert r.fast[1.0] == approx(1 / 3)
    assert r.fast[1.5] == approx(1 / 3)
    assert r.fast[2.0] == approx(0.0)           # strict: 2.0 is not > 2
    assert r.geomean == approx(math.sqrt(2.0 * 0.8))
    assert r.timed == 2 and r.flagged == 1

    r2 = board.row("A", 2)
    assert (r2.problems, r2.samples, r2.k) == (2, 3, 2)
    assert r2.compiled == approx(2 / 3) and r2.correct == approx(2 / 3)
    assert r2.fast[0.0] == approx(1 / 2)        # p5's only pass is flagged
    assert r2.fast[2.0] == approx(1 / 2)
    assert r2.geomean == approx(4.0) and r2.ci == (approx(4.0), approx(4.0))


def test_all_row_and_best_of_k(board):
    r = board.row("A", ALL)
    assert (r.problems, r.samples, r.k) == (5, 10, 3)
    assert r.compiled == approx(7 / 10) and r.correct == approx(6 / 10)
    assert [r.fast[p] for p in P] == [approx(3 / 5), approx(3 / 5), approx(2 / 5),
                                      approx(2 / 5), approx(1 / 5)]
    assert r.geomean == approx((2.0 * 0.8 * 4.0) ** (1 / 3))
    lo, hi = r.ci
    assert 0.8 <= lo <= r.geomean <= hi <= 4.0
    assert r.flags == {BEYOND_ROOFLINE: 1, UNSYNCED_WORK: 1}
    # p1 has samples at 2.0x and 0.5x: best-of-3 counts it for fast_1 although 1 of 3 is slow
    assert fast_p({"p1": 2.0}, 1, 1.0) == 1.0


def test_untimed_win_counts_only_for_fast_0(board):
    r = board.row("B", 1)
    assert (r.problems, r.samples, r.k) == (3, 3, 1)
    assert r.best == {"q1": 3.0, "q3": None}
    assert r.fast[0.0] == approx(2 / 3)
    assert r.fast[0.5] == approx(1 / 3)
    assert r.geomean == approx(3.0) and r.timed == 1
    assert [x.level for x in board.runs[1].rows] == ["1", ALL]


def test_flagged_fast_case_never_counts(tmp_path):
    cases = [("F", 1, "x", "0", OK, 50.0, [BEYOND_ROOFLINE]),
             ("F", 1, "x", "1", OK, 40.0, [UNSYNCED_WORK, BEYOND_ROOFLINE])]
    with Store(make_store(tmp_path / "f.db", cases)) as st:
        b = compute(list(st.case_rows()), P, bootstrap=100)
    r = b.row("F", ALL)
    assert r.correct == 1.0                     # they passed the check...
    assert all(r.fast[p] == 0.0 for p in P)     # ...but never win
    assert r.geomean is None and r.ci is None and r.best == {}
    assert b.runs[0].speedups == []
    assert {(f.name, f.cases, f.passed) for f in b.flag_rows} == {
        (BEYOND_ROOFLINE, 2, 2), (UNSYNCED_WORK, 1, 1)}


def test_flag_table_and_ranking(board):
    assert [r.label for r in board.runs] == ["A", "B"]      # fast_1: 2/5 > 1/3
    assert [(f.label, f.name, f.cases, f.passed) for f in board.flag_rows] == [
        ("A", BEYOND_ROOFLINE, 1, 1), ("A", UNSYNCED_WORK, 1, 1)]
    assert board.flag_rows[0].share == approx(1 / 10)


def test_geomean_ci_reproducible():
    xs = [0.5, 1.0, 2.0, 3.0, 8.0]
    gm, ci = geomean_ci(xs, 1000)
    assert gm == approx(math.prod(xs) ** (1 / 5))
    assert geomean_ci(xs, 1000) == (gm, ci)                 # fixed seed
    assert ci[0] < gm < ci[1] and 0.5 <= ci[0] and ci[1] <= 8.0
    assert geomean_ci([], 100) == (None, None)


def test_fast_curve_steps():
    pts = fast_curve({"a": 2.0, "b": 0.8, "c": None}, 4, p_max=4.0)
    assert pts == [(0.0, 0.75), (0.0, 0.5), (0.8, 0.5), (0.8, 0.25), (2.0, 0.25), (2.0, 0.0),
                   (4.0, 0.0)]
    best = {"a": 2.0, "b": 0.8, "c": None}
    for p in (0.0, 0.3, 0.8, 1.0, 2.0, 3.0):
        assert curve_at(pts, p) == approx(fast_p(best, 4, p))


def test_filters_and_hardware_split(tmp_path):
    path = make_store(tmp_path / "r.db")
    with Store(path) as st:                      # the same run on a second machine
        st.record(verdict("A", "p1", "0", OK, 9.0, [], hardware="H2"), CaseKey("A", "p1", "0", 1))
        cases = list(st.case_rows())
    both = compute(cases, P, bootstrap=100)
    assert both.multi_hardware and both.hardware == ["H1", "H2"]
    assert both.row("A", ALL, "H1").problems == 5        # never pooled with H2
    assert both.row("A", ALL, "H2").geomean == approx(9.0)
    assert "hardware" in render(both, "github").splitlines()[0]
    only = compute(cases, P, bootstrap=100, hardware="H1", label="B")
    assert [(r.label, r.hardware) for r in only.runs] == [("B", "H1")]
    assert compute(cases, P, hardware="nope").runs == []


def test_newest_config_supersedes(tmp_path):
    path = make_store(tmp_path / "r.db", [("A", 1, "p1", "0", INC, None, [])])
    with Store(path) as st:
        st.record(verdict("A", "p1", "0", OK, 2.0, [], config="c2",
                          created="2025-02-01T00:00:00+00:00"), CaseKey("A", "p1", "0", 1))
        b = compute(list(st.case_rows()), P, bootstrap=100)
    assert b.superseded == 1
    assert b.row("A", ALL).samples == 1 and b.row("A", ALL).fast[1.0] == 1.0


# -- caveats --------------------------------------------------------------------------------
def caveat_board(rows, p=P):
    """rows: (problem, sample, outcome, speedup, ci, flags, caveats), all in run "C", level 1."""
    pairs = [(CaseKey("C", prob, sample, 1),
              verdict("C", prob, sample, outcome, speedup, flags, caveats=caveats, ci=ci))
             for prob, sample, outcome, speedup, ci, flags, caveats in rows]
    return compute(pairs, p, bootstrap=200)


def test_caveated_win_counts_and_is_shown():
    b = caveat_board([("x", "0", OK, 2.0, None, [], [LAUNCH_BOUND]),
                      ("y", "0", OK, 3.0, None, [], []),
                      ("z", "0", OK, 5.0, None, [BEYOND_ROOFLINE], [LAUNCH_BOUND])])
    r = b.row("C", ALL)
    assert r.best == {"x": 2.0, "y": 3.0}                  # the caveat does not void x's win...
    assert r.fast[1.5] == approx(2 / 3) and r.caveated == 1 and r.marked
    assert r.caveats == {LAUNCH_BOUND: 2}                  # ...and z's flag voids z's
    assert [(t.name, t.cases, t.passed, t.wins) for t in b.caveat_rows] == [(LAUNCH_BOUND, 2, 2, 1)]
    gh = render(b, "github")
    main = [ln for ln in gh.splitlines() if ln.startswith("| C ") and ln.count("|") > 10]
    assert len(main) == 2 and all(f"{math.sqrt(6.0):.2f}x*" in ln for ln in main)   # marked geomean
    assert "caveated" in gh.splitlines()[0] and "Caveated cases" in gh
    assert any(ln.startswith("| C ") and "launch_bound" in ln and ln.rstrip("| ").endswith("1")
               for ln in gh.splitlines())
    rows = list(csv.DictReader(io.StringIO(render(b, "csv"))))
    assert rows[-1]["caveated"] == "1" and rows[-1]["caveat_launch_bound"] == "2"
    page = render_page(b, generated="x")
    assert page.count("<table") == 3 and 'class="mark"' in page and "launch_bound" in page


def test_uncaveated_twin_of_the_same_speed_is_the_best():
    b = caveat_board([("x", "0", OK, 2.0, None, [], [NOT_CONVERGED]),
                      ("x", "1", OK, 2.0, None, [], [])])
    r = b.row("C", ALL)
    assert r.caveated == 1 and not r.marked and geomean_text(r) == "2.00x"


def test_speedup_whose_ci_contains_1_is_about_1x():
    # 1.3x with CI 0.9-1.8 (no caveat recorded: read off the CI); 0.9x with CI 0.8-1.05 (caveat);
    # 1.2x with CI 1.1-1.3 (shown faster)
    b = caveat_board([("x", "0", OK, 1.3, (0.9, 1.8), [], []),
                      ("y", "0", OK, 0.9, (0.8, 1.05), [], [SPEEDUP_UNCERTAIN]),
                      ("w", "0", OK, 1.2, (1.1, 1.3), [], [])])
    r = b.row("C", ALL)
    assert r.best == {"x": 1.0, "y": 0.9, "w": 1.2}        # at most 1x; below 1 it stands
    assert r.fast[0.0] == 1.0 and r.fast[0.5] == 1.0       # still wins...
    assert r.fast[1.0] == approx(1 / 3)                    # ...never faster than the reference
    assert r.caveats == {SPEEDUP_UNCERTAIN: 2} and r.caveated == 2 and r.marked
    assert b.runs[0].speedups == [0.9, 1.0, 1.2]
    assert r.geomean == approx((1.0 * 0.9 * 1.2) ** (1 / 3))
    assert r.ci[0] <= 1 <= r.ci[1]
    line = next(ln for ln in render(b, "github").splitlines() if ln.startswith("| C       | all"))
    assert "~1x*" in line and f"{r.geomean:.2f}x" not in line
    assert "~1&times;" in render_page(b, generated="x")


def test_speedup_ci_clear_of_1_prints_its_digits():
    b = caveat_board([("w", "0", OK, 1.2, (1.1, 1.3), [], [])])
    r = b.row("C", ALL)
    assert not r.marked and r.caveated == 0 and b.caveat_rows == []
    line = next(ln for ln in render(b, "github").splitlines() if ln.startswith("| C       | all"))
    assert "1.20x" in line and "~1x" not in line and "*" not in line
    assert "No caveated cases." in render_page(b, generated="x")


def test_render_text_shows_each_caveat_with_its_reason():
    v = verdict("C", "x", "0", OK, 1.3, [], caveats=[LAUNCH_BOUND], ci=(0.9, 1.8))
    v.details[LAUNCH_BOUND] = "reference 0.01 ms is within\n3x of the empty forward"
    text = render_text(v)
    lines = text.splitlines()
    assert "caveat    launch_bound: reference 0.01 ms is within 3x of the empty forward" in lines
    assert any(ln.startswith("caveat    speedup_uncertain: ") and "contains 1" in ln for ln in lines)
    assert any(ln.startswith("speedup   ~1x: 1.300x") for ln in lines)
    assert "flagged" not in text                              # a caveated pass is a win


# -- formats ----------------------------------------------------------------------------------
def test_formats_render(board):
    gh = render(board, "github")
    assert "| A " in gh and "fast_1.5" in gh and "40.0%" in gh and "|--" in gh
    assert "beyond_roofline" in gh
    tex = render(board, "latex")
    assert r"\begin{tabular}" in tex and r"\end{tabular}" in tex and r"40.0\%" in tex
    html = render(board, "html")
    assert html.count("<table>") == 2 and "<td" in html
    term = render(board, "terminal")
    assert "fast_0" in term and "|" not in term.splitlines()[0]
    with pytest.raises(ValueError):
        render(board, "pdf")


def test_csv_parses_back(board):
    rows = list(csv.DictReader(io.StringIO(render(board, "csv"))))
    assert [(r["label"], r["level"]) for r in rows] == [
        ("A", "1"), ("A", "2"), ("A", "all"), ("B", "1"), ("B", "all")]
    a = rows[2]
    assert int(a["problems"]) == 5 and int(a["samples"]) == 10 and a["hardware"] == "H1"
    assert float(a["fast_1"]) == approx(0.4) and float(a["fast_2"]) == approx(0.2)
    assert float(a["geomean"]) == approx(6.4 ** (1 / 3))
    assert float(a["ci_low"]) <= float(a["geomean"]) <= float(a["ci_high"])
    assert int(a["flag_beyond_roofline"]) == 1 and int(a["flagged"]) == 2
    assert rows[3]["flag_unsynced_work"] == "0"


def test_page(board):
    page = render_page(board, store="results.db", generated="2025-01-01 00:00 UTC")
    assert page.startswith("<!DOCTYPE html>") and "</html>" in page
    assert page.count("<table") == 2 and page.count("<svg") >= 5   # overlay + 2 per run
    assert "2025-01-01 00:00 UTC" in page and "H1" in page and "results.db" in page
    assert "beyond_roofline" in page and "<style>" in page
    assert "http://" not in page.replace("http://www.w3.org/2000/svg", "")  # self-contained
    assert render_page(board, generated="x") == render_page(board, generated="x")


# -- CLI --------------------------------------------------------------------------------------
def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "harness.board", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)


def test_cli_github_and_html(store, tmp_path):
    page = tmp_path / "out" / "board.html"
    res = cli(f"store={store}", "format=github", "bootstrap=200", f"html={page}")
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    assert any(ln.startswith("| A ") and "40.0%" in ln for ln in lines)
    assert any(ln.startswith("| B ") for ln in lines)
    text = page.read_text()
    assert "<table" in text and "<svg" in text


def test_cli_out_csv_and_filter(store, tmp_path):
    out = tmp_path / "b.csv"
    res = cli(f"store={store}", "format=csv", f"out={out}", "label=B", "p_values=[0,3]")
    assert res.returncode == 0, res.stderr
    assert res.stdout == ""
    rows = list(csv.DictReader(out.open()))
    assert {r["label"] for r in rows} == {"B"} and "fast_3" in rows[0]
    assert float(rows[-1]["fast_3"]) == 0.0     # 3.0 is not > 3


def test_cli_missing_store(tmp_path):
    missing = tmp_path / "nope.db"
    res = cli(f"store={missing}")
    assert res.returncode == 2
    err = res.stderr.strip().splitlines()
    assert len(err) == 1 and str(missing) in err[0] and "Traceback" not in res.stderr
    assert not missing.exists()                 # looking did not create it


def test_cli_empty_store(tmp_path):
    empty = tmp_path / "empty.db"
    Store(empty).close()
    res = cli(f"store={empty}")
    assert res.returncode == 0
    assert res.stdout.strip() == f"no results in {empty}"


def test_cli_bad_format(store):
    res = cli(f"store={store}", "format=pdf")
    assert res.returncode == 2 and len(res.stderr.strip().splitlines()) == 1
    assert "format='pdf'" in res.stderr and "expected one of [terminal, github" in res.stderr


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("chromium") is None, reason="needs chromium")
def test_screenshot_script(tmp_path):
    res = subprocess.run([sys.executable, str(ROOT / "bench" / "board_screenshot.py"),
                          "--out-dir", str(tmp_path)], cwd=ROOT, capture_output=True, text=True,
                         timeout=300)
    assert res.returncode == 0, res.stderr
    png = Path(res.stdout.strip().splitlines()[-1])
    assert png == tmp_path / "board.png" and png.stat().st_size > 30_000
