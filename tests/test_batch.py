"""Batch scoring: discovery, resume after SIGKILL, sharding + merge, build faults."""
from __future__ import annotations

import shutil
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

from harness.build import build, ext_dir_for
from harness.config import Layout
from harness.discover import discover
from harness.store import Store
from harness.verdict import Outcome

from conftest import EXAMPLES, ROOT

PROBLEMS = ROOT / "tests" / "problems"


@pytest.fixture
def run_dir(tmp_path):
    sols = tmp_path / "my_run"
    sols.mkdir()
    # KernelBench layout against a level folder, plus the stem layout, plus junk.
    level = tmp_path / "problems" / "level1"
    level.mkdir(parents=True)
    shutil.copy(PROBLEMS / "small_relu.py", level / "1_SmallReLU.py")
    shutil.copy(PROBLEMS / "tiny_relu.py", level / "2_TinyReLU.py")
    shutil.copy(EXAMPLES / "relu_cpp.py", sols / "level_1_problem_1_sample_0_kernel.py")
    shutil.copy(EXAMPLES / "wrong_cpp.py", sols / "level_1_problem_1_sample_1_kernel.py")
    shutil.copy(EXAMPLES / "relu_cpp.py", sols / "level_1_problem_2_sample_0_kernel.py")
    shutil.copy(EXAMPLES / "exit.py", sols / "2_TinyReLU__exit.py")
    shutil.copy(EXAMPLES / "no_code.md", sols / "level_1_problem_2_sample_1_kernel.md")
    (sols / "level_1_problem_2_sample_2_kernel.py").write_bytes(b"\xff\xfe not utf8 \x00")
    (sols / "level_1_problem_9_sample_0_kernel.py").write_text("# no such problem\n")
    (sols / "notes__x.py").write_text("# matches nothing\n")
    return tmp_path


def _batch(run_dir, cache_dir, *extra, multirun=False):
    return subprocess.Popen(
        [sys.executable, "-m", "harness.batch", *(["--multirun"] if multirun else []),
         f"solutions={run_dir / 'my_run'}",
         f"problems={run_dir / 'problems'}", "layout=auto", "pairs=null", "select=*", "device=cpu",
         f"cache_dir={cache_dir}", "timing.budget_s=1", "timing.min_calls=5", "build_workers=2",
         "board=false", *extra],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _cases(db):
    with Store(db) as s:
        return {(c.problem_id, c.sample): v for c, v in s.case_rows()}


def test_discovery_lists_unmatched(run_dir):
    jobs, unmatched = discover(run_dir / "my_run", run_dir / "problems", Layout.auto)
    found = {(j.case.problem_id, j.case.sample) for j in jobs}
    assert ("level1/1_SmallReLU", "0") in found and ("level1/2_TinyReLU", "exit") in found
    assert len(jobs) == 6
    assert any("problem 9" in u for u in unmatched) and any("notes__x.py" in u for u in unmatched)


@pytest.mark.slow
def test_batch_scores_resumes_after_sigkill_and_never_twice(run_dir, cache_dir, tmp_path):
    db = tmp_path / "r.db"
    # Workers started ahead of their cases (the GPU default) must die with the runner too.
    p = _batch(run_dir, cache_dir, f"store={db}", "prestart=always")
    # Kill it hard as soon as the first verdict is in: mid-batch, builds and workers alive.
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline and p.poll() is None:
        if db.exists():
            try:
                with sqlite3.connect(db) as c:
                    if c.execute("select count(*) from cases").fetchone()[0] >= 1:
                        break
            except sqlite3.Error:
                pass
        time.sleep(0.2)
    p.send_signal(signal.SIGKILL)
    p.wait()
    first = _cases(db)
    assert 1 <= len(first) < 6
    p = _batch(run_dir, cache_dir, f"store={db}", "prestart=always")
    out, err = p.communicate(timeout=900)
    assert p.returncode == 0, err
    assert f"({len(first)} already scored" in err
    final = _cases(db)
    assert len(final) == 6
    for key, v in first.items():   # what was written before the kill is kept as it was
        assert final[key].created == v.created and final[key].solution_hash == v.solution_hash
    outcomes = {k: v.outcome for k, v in final.items()}
    assert outcomes[("level1/1_SmallReLU", "0")] is Outcome.OK
    assert outcomes[("level1/1_SmallReLU", "1")] is Outcome.INCORRECT
    assert outcomes[("level1/2_TinyReLU", "exit")] is Outcome.CRASHED
    assert outcomes[("level1/2_TinyReLU", "1")] is Outcome.NO_CODE
    assert outcomes[("level1/2_TinyReLU", "2")] is Outcome.LOAD_ERROR
    assert "done: " in err and "ok " in err
    with sqlite3.connect(db) as c:
        assert c.execute("select count(*) from verdicts").fetchone()[0] == 6
    # A third run scores nothing.
    p = _batch(run_dir, cache_dir, f"store={db}")
    _, err = p.communicate(timeout=300)
    assert "(6 already scored" in err and "done: 0 scored" in err


@pytest.mark.slow
def test_shards_merge_to_the_same_cases(run_dir, cache_dir, tmp_path):
    base = tmp_path / "s.db"
    # Hydra's multirun, the path a SLURM launcher takes (one job per shard).
    p = _batch(run_dir, cache_dir, f"store={base}", "shard=0,1", "num_shards=2",
               "timing.enabled=false", f"hydra.sweep.dir={tmp_path / 'sweep'}", multirun=True)
    _, err = p.communicate(timeout=900)
    assert p.returncode == 0, err
    shards = [tmp_path / f"s.shard{i}of2.db" for i in range(2)]
    parts = [_cases(s) for s in shards]
    assert not set(parts[0]) & set(parts[1])
    merged = tmp_path / "merged.db"
    r = subprocess.run([sys.executable, "-m", "harness.merge", str(merged), *map(str, shards)],
                       cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    whole = tmp_path / "whole.db"
    p = _batch(run_dir, cache_dir, f"store={whole}", "timing.enabled=false")
    p.communicate(timeout=900)
    m, w = _cases(merged), _cases(whole)
    assert set(m) == set(w)
    assert {k: v.outcome for k, v in m.items()} == {k: v.outcome for k, v in w.items()}
    # Merging again adds nothing.
    r = subprocess.run([sys.executable, "-m", "harness.merge", str(merged), *map(str, shards)],
                       cwd=ROOT, capture_output=True, text=True)
    assert "0 new verdict" in r.stderr


@pytest.mark.slow
def test_killed_build_leaves_no_lock_that_blocks_the_next(cache_dir, tmp_path):
    """A build killed by its limit leaves torch's lock file; the next build must not hang on it."""
    src = (EXAMPLES / "relu_cpp.py").read_text().replace("kh_ex_relu_cpp", "kh_test_lock_relu")
    sol = tmp_path / "lock_relu.py"
    sol.write_text(src)
    cache = tmp_path / "cache"
    b = build(sol, "lockhash", cache, "cpu", timeout=3)
    assert not b.ok and b.outcome is Outcome.TIMEOUT
    ext = ext_dir_for(cache, "lockhash", "cpu")
    stale = ext / "kh_test_lock_relu" / "lock"
    stale.parent.mkdir(parents=True, exist_ok=True)
    stale.write_text("")   # what torch leaves when its builder dies mid-compile
    t0 = time.monotonic()
    b = build(sol, "lockhash", cache, "cpu", timeout=300)
    assert b.ok, b.message
    assert time.monotonic() - t0 < 300


@pytest.mark.slow
def test_same_extension_name_in_two_solutions_does_not_collide(cache_dir, tmp_path):
    """Two different solutions with the same load_inline name each get their own build."""
    good = (EXAMPLES / "relu_cpp.py").read_text()
    wrong = (EXAMPLES / "wrong_cpp.py").read_text()
    name = "kh_same_name"
    import re
    a, b = tmp_path / "a.py", tmp_path / "b.py"
    a.write_text(re.sub(r'name="[^"]+"', f'name="{name}"', good))
    b.write_text(re.sub(r'name="[^"]+"', f'name="{name}"', wrong))
    from harness.case import evaluate
    from harness.device import resolve
    from conftest import SMALL, make_cfg
    cfg = make_cfg(cache_dir, **{"timing.enabled": False})
    assert evaluate(SMALL, a, cfg, resolve("cpu")).outcome is Outcome.OK
    assert evaluate(SMALL, b, cfg, resolve("cpu")).outcome is Outcome.INCORRECT
    assert evaluate(SMALL, a, cfg, resolve("cpu")).outcome is Outcome.OK


@pytest.mark.slow
@pytest.mark.parametrize("extra, named", [([], "nope"), (["prestart=soon"], "prestart")])
def test_batch_user_errors_are_one_line(tmp_path, extra, named):
    sols = tmp_path / ("nope" if named == "nope" else "sols")
    if named != "nope":
        sols.mkdir()
    r = subprocess.run([sys.executable, "-m", "harness.batch", f"solutions={sols}",
                        "layout=auto", "pairs=null", "device=cpu", f"store={tmp_path / 'x.db'}", *extra],
                       cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1 and named in r.stderr


@pytest.mark.parametrize("args", [["harness.export", "{bad}"], ["harness.merge", "{bad}", "{bad}"],
                                  ["harness.merge", "{out}", "{bad}"]])
def test_a_file_that_is_not_a_store_is_one_line(tmp_path, args):
    bad = tmp_path / "bad.db"
    bad.write_text("not sqlite")
    argv = [a.format(bad=bad, out=tmp_path / "out.db") for a in args]
    r = subprocess.run([sys.executable, "-m", *argv], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and "not a results store" in r.stderr


def _own_batch(tmp_path, names_and_problems, *extra):
    """A batch of each named problem's reference as its own solution (no compile), from its own
    cache folder; its verdicts by solution name."""
    import json
    pairs = []
    for name, prob in names_and_problems:
        sol = tmp_path / f"{name}.py"
        sol.write_text(f"# {name}\n{(PROBLEMS / f'{prob}.py').read_text()}\n\nclass ModelNew(Model):\n    pass\n")
        pairs.append({"solution": str(sol), "problem": str(PROBLEMS / f"{prob}.py"), "label": "own"})
    (tmp_path / "pairs.json").write_text(json.dumps(pairs))
    db = tmp_path / "r.db"
    r = subprocess.run([sys.executable, "-m", "harness.batch", "layout=pairs",
                        f"pairs={tmp_path / 'pairs.json'}", "select=*", "device=cpu", f"store={db}",
                        f"cache_dir={tmp_path / 'cache'}", "timing.budget_s=0.5", "timing.min_calls=5",
                        "build_workers=1", "board=false", *extra],
                       cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stderr
    with Store(db) as s:
        by = {v.solution.rsplit("/", 1)[-1][0]: v for _, v in s.case_rows()}
    assert len(by) == len(pairs) and all(v.outcome is Outcome.OK for v in by.values()), \
        {n: v.message for n, v in by.items()}
    return by


@pytest.mark.slow
def test_a_reference_stays_loaded_across_the_cases_of_its_problem(tmp_path):
    """Workers started ahead (the GPU default): a case scored right after one of its problem
    reuses that case's reference worker, its init seed and nothing else; a case of another
    problem gets a fresh reference. Every verdict is what a fresh pair would give."""
    by = _own_batch(tmp_path, [("a", "small_relu"), ("b", "small_relu"), ("c", "tiny_relu"),
                               ("d", "small_relu")], "prestart=always")
    kept = {n for n, v in by.items() if v.details.get("reference")}
    # The order they were scored in (each case takes seconds: `created` tells them apart); the
    # engine takes the last problem's cases first, so at least b or d follows a case of its own.
    order = sorted(by, key=lambda n: by[n].created)
    follows = {n for before, n in zip(order, order[1:]) if by[n].problem == by[before].problem}
    assert kept == follows and kept, (order, kept)
    for before, n in zip(order, order[1:]):
        if n in kept:
            assert by[n].seeds["init"] == by[before].seeds["init"]
            assert set(by[n].seeds["trials"]).isdisjoint(by[before].seeds["trials"])
        else:
            assert by[n].seeds["init"] != by[before].seeds["init"]
    assert not list((tmp_path / "cache" / "scratch").glob("case-*"))   # every folder gone with its worker


@pytest.mark.slow
def test_evaluators_sharing_a_device_never_time_at_once(tmp_path):
    """engine.per_device=2: two evaluators on one device; their correctness requests may run
    side by side, their timing stages never do (each verdict records its window)."""
    by = _own_batch(tmp_path, [("a", "small_relu"), ("b", "tiny_relu"), ("c", "small_relu"),
                               ("d", "tiny_relu")], "per_device=2")
    windows = sorted(v.details["alone"] for v in by.values())
    assert all(end <= nxt_start for (_, end), (nxt_start, _) in zip(windows, windows[1:])), windows
