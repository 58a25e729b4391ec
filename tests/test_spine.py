"""Every outcome of one evaluation, reached by a real example through the real pipeline on CPU."""
from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest

from harness.case import evaluate
from harness.config import EvalCfg
from harness.tolerance import to_table
from harness.verdict import Outcome

from conftest import EXAMPLES, ROOT, SMALL, make_cfg


def _eval(cache_dir, cpu, solution, **overrides):
    return evaluate(SMALL, EXAMPLES / solution, make_cfg(cache_dir, **overrides), cpu)


@pytest.mark.slow
def test_honest_cpp_is_ok_with_timing(cache_dir, cpu):
    v = _eval(cache_dir, cpu, "relu_cpp.py")
    assert v.outcome is Outcome.OK, v.message
    assert v.flags == [], v.details
    t = v.timing
    assert t is not None and t.ref_calls >= 5 and t.cand_calls >= 5
    assert t.ref_ci_ms[0] <= t.ref_median_ms <= t.ref_ci_ms[1]
    assert t.speedup_ci[0] <= t.speedup <= t.speedup_ci[1]
    assert t.clock == "host" and t.cache == "cold"
    assert v.errors is not None and v.errors.rel_norm == 0.0
    assert len(v.seeds["trials"]) == 5 and v.seeds["reuse"]
    assert v.details["kernels"]["extension_calls"] >= 6


@pytest.mark.slow
def test_second_evaluation_is_a_build_cache_hit(cache_dir, cpu):
    _eval(cache_dir, cpu, "relu_cpp.py", **{"timing.enabled": False})
    v = _eval(cache_dir, cpu, "relu_cpp.py", **{"timing.enabled": False})
    assert v.details["build"]["cached"] is True
    assert v.durations["build"] < 2.0


@pytest.mark.slow
def test_seeds_are_fresh_unless_given(cache_dir, cpu):
    a = _eval(cache_dir, cpu, "relu_cpp.py", **{"timing.enabled": False})
    b = _eval(cache_dir, cpu, "relu_cpp.py", **{"timing.enabled": False})
    assert a.seeds["trials"] != b.seeds["trials"]
    c = _eval(cache_dir, cpu, "relu_cpp.py", **{"timing.enabled": False, "seed": 7})
    d = _eval(cache_dir, cpu, "relu_cpp.py", **{"timing.enabled": False, "seed": 7})
    assert c.seeds == d.seeds


@pytest.mark.parametrize("solution, outcome, words", [
    ("compile_error_cpp.py", Outcome.COMPILE_ERROR, "error"),
    ("wrong_cpp.py", Outcome.INCORRECT, "trial 1"),
    ("crash_cpp.py", Outcome.CRASHED, "SIGSEGV"),
    ("exit.py", Outcome.CRASHED, "without sending a result"),
    ("runtime_error_cpp.py", Outcome.RUNTIME_ERROR, "forward"),
    ("load_error.py", Outcome.LOAD_ERROR, "ModelNew"),
    ("no_code.md", Outcome.NO_CODE, "ModelNew"),
])
@pytest.mark.slow
def test_failure_outcomes(cache_dir, cpu, solution, outcome, words):
    v = _eval(cache_dir, cpu, solution)
    assert v.outcome is outcome, (v.outcome, v.message)
    assert words in v.message
    assert v.timing is None


@pytest.mark.slow
def test_compile_error_carries_the_compilers_own_lines(cache_dir, cpu):
    v = _eval(cache_dir, cpu, "compile_error_cpp.py")
    assert "error:" in v.message
    assert "Traceback" not in v.message and "Error building extension" not in v.message


@pytest.mark.slow
def test_hang_is_killed_within_its_limit(cache_dir, cpu):
    """The limit follows from the reference's own time (limits.cand_floor_s at least), not one
    fixed allowance: a hang on a fast problem costs seconds."""
    floor = 4.0
    v = _eval(cache_dir, cpu, "hang_cpp.py", **{"limits.cand_floor_s": floor})
    assert v.outcome is Outcome.TIMEOUT, v.message
    limit = float(re.search(r"no answer within ([\d.]+) s", v.message).group(1))
    ref_warm = v.details["requests"]["reference.warm"]   # the same request on the reference
    assert limit == pytest.approx(max(floor, 20 * ref_warm), rel=0.01, abs=0.01)
    assert v.details["requests"]["candidate.warm"] < limit + 5, v.details["requests"]


@pytest.mark.slow
def test_raw_reply_uses_the_last_modelnew_block(cache_dir, cpu):
    v = _eval(cache_dir, cpu, "relu_reply.md", **{"timing.enabled": False})
    assert v.outcome is Outcome.OK, v.message
    assert v.code_block is not None and v.code_block >= 1


@pytest.mark.slow
def test_runner_survives_every_failure_and_the_next_case_works(cache_dir, cpu):
    for bad in ("crash_cpp.py", "exit.py"):
        assert _eval(cache_dir, cpu, bad).outcome is Outcome.CRASHED
    v = _eval(cache_dir, cpu, "relu_cpp.py", **{"timing.enabled": False})
    assert v.outcome is Outcome.OK


def _cli(*args, timeout=600):
    return subprocess.run([sys.executable, "-m", "harness.eval", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout)


@pytest.mark.slow
def test_cli_json_verdict_on_last_line(cache_dir):
    r = _cli(f"problem={SMALL}", f"solution={EXAMPLES / 'wrong_cpp.py'}", "device=cpu",
             "format=json", f"cache_dir={cache_dir}")
    assert r.returncode == 0, r.stderr
    verdict = json.loads(r.stdout.strip().splitlines()[-1])
    assert verdict["outcome"] == "incorrect" and verdict["win"] is False
    assert verdict["versions"]["torch"] and verdict["config_hash"]


@pytest.mark.parametrize("args, words", [
    (["problem=nope.py"], "nope.py: no such problem file"),
    (["solution=missing.py"], "missing.py: no such solution file"),
    ([f"problem={ROOT / 'README.md'}"], "README.md"),
    (["device=tpu"], "device='tpu'"),
    (["format=xml"], "format='xml'"),
])
@pytest.mark.slow
def test_cli_user_errors_are_one_line(args, words):
    r = _cli("device=cpu", *args)
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and words in lines[0], r.stderr
    assert "Traceback" not in r.stderr


@pytest.mark.slow
def test_worker_answers_every_request_the_runner_sends(tmp_path):
    """The protocol itself, against a real reference worker on CPU: each op the runner uses."""
    import torch

    from harness import protocol as P
    from harness.proc import WorkerProcess
    w = WorkerProcess("reference", tmp_path / "w", {"CUDA_VISIBLE_DEVICES": ""})
    try:
        assert isinstance(w.request(P.Load(str(SMALL), "cpu", 1), 120), P.Loaded)
        assert isinstance(w.request(P.Warm(2), 60), P.Done)
        run = w.request(P.Run((5,)), 60)
        ordered = w.request(P.Ordered(5), 60)
        assert isinstance(run, P.Trials) and isinstance(ordered, P.Output), ordered
        tols = to_table(EvalCfg().check.tolerances)
        key = run.trials[0].key
        same = w.request(P.Compare(tols, (P.Pair(key, other=ordered.output),), keep=True), 60)
        assert isinstance(same, P.Matches) and same.matches[0]["ok"], same
        timed = w.request(P.Time(3, (7,), "warm", 0, 0.0, True, 1, 0.0, check_seeds=(9,)), 60)
        assert isinstance(timed, P.Timed) and len(timed.device_ms) == 3 and len(timed.checks) == 1
        # An output sent in (shared, as the runner forwards a candidate's) against a kept one.
        wrong = w.request(P.Compare(tols, (P.Pair(key, torch.zeros(4)), P.Pair(timed.checks[0], 1.5))), 60)
        assert isinstance(wrong, P.Matches) and [m["ok"] for m in wrong.matches] == [False, False], wrong
        assert "shape" in wrong.matches[0]["message"]
        weak = w.request(P.Weak((key,), tols, 10.0), 60)
        assert isinstance(weak, P.Error)   # compared without keep: the key is gone
        probe = w.request(P.Probe(7, "warm", 0, 8), 60)
        assert isinstance(probe, P.Probed) and probe.work["bytes"] > 0 and probe.overhead_ms > 0
        assert w.request(P.Finish(), 30) == P.Finished((), (), 0)
        # Not a request at all: the worker says so and stays up.
        from harness import channel
        channel.send(w._w, {"type": "no_such_request"}, w.sock)
        bad = channel.read_message(w._r, None, w.max_bytes, w.sock, share=True)
        assert bad["type"] == "error" and bad["kind"] == "protocol", bad
        assert isinstance(w.request(P.Warm(3), 60), P.Done)
    finally:
        w.close()


@pytest.mark.slow
def test_a_request_to_a_stopped_worker_is_a_failure_not_an_oserror(tmp_path):
    """An interrupted batch kills every worker at once; a case still talking to one must end
    as a worker failure (the runner records it), not an OSError that kills the evaluator."""
    from harness import protocol as P
    from harness.proc import WorkerProcess, WorkerFailed
    w = WorkerProcess("reference", tmp_path / "w", {"CUDA_VISIBLE_DEVICES": ""})
    w.kill()
    with pytest.raises(WorkerFailed, match="stopped"):
        w.request(P.Finish(), 5)


def test_a_niced_worker_and_its_children_run_at_lower_priority(tmp_path):
    """Builders are started niced (build.nice) so that compiles yield the cores to a worker
    being timed; the priority is set before exec, so the compilers it spawns inherit it."""
    import os

    from harness.proc import WorkerProcess
    base = os.getpriority(os.PRIO_PROCESS, 0)
    w = WorkerProcess("build", tmp_path / "w", {"CUDA_VISIBLE_DEVICES": ""}, nice=7)
    try:
        assert os.getpriority(os.PRIO_PROCESS, w.proc.pid) == min(19, base + 7)
    finally:
        w.kill()
    plain = WorkerProcess("build", tmp_path / "p", {"CUDA_VISIBLE_DEVICES": ""})
    try:
        assert os.getpriority(os.PRIO_PROCESS, plain.proc.pid) == base
    finally:
        plain.kill()


@pytest.mark.slow
def test_a_reference_that_fails_is_the_problems_failure(cache_dir, cpu, tmp_path):
    """The reference's side ending a case (here its forward raises) is never the solution's
    outcome: the runner raises ProblemError, which batch and serve record against the problem."""
    from harness.problem import ProblemError
    bad = tmp_path / "bad_ref.py"
    bad.write_text(SMALL.read_text().replace("return torch.relu(x)", "raise RuntimeError('broken reference')"))
    own = tmp_path / "own.py"
    own.write_text(SMALL.read_text() + "\n\nclass ModelNew(Model):\n    pass\n")
    with pytest.raises(ProblemError, match="the reference failed: .*broken reference"):
        evaluate(bad, own, make_cfg(cache_dir), cpu)
