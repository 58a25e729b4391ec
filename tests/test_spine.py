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

    from harness.proc import Worker
    w = Worker("reference", tmp_path / "w", {"CUDA_VISIBLE_DEVICES": ""})
    try:
        load = w.request({"op": "load", "problem": str(SMALL), "device": "cpu", "init_seed": 1}, 120)
        assert load.get("ok"), load
        assert w.request({"op": "warm", "seed": 2}, 60).get("ok")
        run = w.request({"op": "run", "seeds": [5], "reuse": False, "delay_s": 0.0,
                         "profile": False}, 60)
        ordered = w.request({"op": "ordered", "seed": 5}, 60)
        assert "error" not in ordered, ordered
        tols = to_table(EvalCfg().check.tolerances)
        key = run["trials"][0]["key"]
        same = w.request({"op": "compare", "tolerances": tols, "keep": True,
                          "pairs": [{"ref": key, "other": ordered["output"]}]}, 60)["matches"]
        assert same[0]["ok"], same
        timed = w.request({"op": "time", "n": 3, "check_seeds": [9], "warmup": True,
                           "warmup_calls": 1, "warmup_s": 0.0, "cache": "warm", "rotate_sets": 1,
                           "flush_bytes": 0, "set_seeds": [7]}, 60)
        assert len(timed["device_ms"]) == 3 and len(timed["checks"]) == 1
        # An output sent in (shared, as the runner forwards a candidate's) against a kept one.
        wrong = w.request({"op": "compare", "tolerances": tols, "pairs": [
            {"ref": key, "out": torch.zeros(4)}, {"ref": timed["checks"][0], "out": 1.5}]}, 60)
        assert [m["ok"] for m in wrong["matches"]] == [False, False], wrong
        assert "shape" in wrong["matches"][0]["message"]
        weak = w.request({"op": "weak", "keys": [key], "tolerances": tols, "margin": 10.0}, 60)
        assert "error" in weak   # compared without keep: the key is gone
        probe = w.request({"op": "probe", "seed": 7, "cache": "warm", "flush_bytes": 0,
                           "peaks": False}, 60)
        assert probe["bytes"] > 0 and probe["overhead_ms"] > 0
        assert w.request({"op": "finish"}, 30)["tampered"] == []
        assert "error" in w.request({"op": "no_such_op"}, 30)
    finally:
        w.close()


@pytest.mark.slow
def test_a_request_to_a_stopped_worker_is_a_failure_not_an_oserror(tmp_path):
    """An interrupted batch kills every worker at once; a case still talking to one must end
    as a worker failure (the runner records it), not an OSError that kills the evaluator."""
    from harness.proc import Worker, WorkerFailed
    w = Worker("reference", tmp_path / "w", {"CUDA_VISIBLE_DEVICES": ""})
    w.kill()
    with pytest.raises(WorkerFailed, match="stopped"):
        w.request({"op": "finish"}, 5)
