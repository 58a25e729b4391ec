"""Every known trick, judged through the real pipeline on CPU, against solutions/expected.json.

Entries that target problems/level1/relu.py run on tests/problems/small_relu.py instead (same
operator, 256x256): the tricks do not depend on the size, and CI has two cores.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from harness import selftest
from harness.case import evaluate

from conftest import ROOT, SMALL, make_cfg

EXPECTED = ROOT / "solutions" / "expected.json"
# Triton solutions are judged in test_triton.py, native escapes (they need the OS sandbox) in
# test_sandbox.py as one batch, each with checks of their own on the same verdicts.
ENTRIES = [e for e in selftest.load(EXPECTED, "cpu")
           if not e.solution.endswith("_triton.py") and not e.sandbox] if EXPECTED.exists() else []
SUBSTITUTE = {"problems/level1/relu.py": SMALL}


@pytest.mark.slow
@pytest.mark.parametrize("entry", ENTRIES, ids=[e.id for e in ENTRIES])
def test_cpu_verdict_matches_expectation(entry, cache_dir, cpu):
    problem = SUBSTITUTE.get(entry.problem, ROOT / entry.problem)
    # limits.load_s stays at its default: a fallback solution compiles again at import, which
    # takes a minute on a loaded 2-core machine; the candidate's other limits follow the
    # reference's own time.
    cfg = make_cfg(cache_dir)
    v = evaluate(problem, ROOT / entry.solution, cfg, cpu)
    ok, why = selftest.check(v, entry)
    assert ok, f"{why} | message: {v.message[:300]} | details: {v.details}"


def test_expectations_cover_every_solution_file():
    listed = {Path(e.solution).name for e in selftest.load(EXPECTED)}
    files = {p.name for d in ("examples", "adversarial") for p in (ROOT / "solutions" / d).iterdir()
             if p.suffix in (".py", ".md")}
    assert files <= listed, f"no expectation for {sorted(files - listed)}"


@pytest.mark.slow
def test_flagged_pass_is_never_a_win(cache_dir, cpu):
    v = evaluate(SMALL, ROOT / "solutions/adversarial/torch_only.py", make_cfg(cache_dir), cpu)
    assert v.outcome.value == "ok" and "no_custom_kernel" in v.flags and not v.win
