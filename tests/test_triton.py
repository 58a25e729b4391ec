"""Triton solutions through the real pipeline on CPU: Triton's interpreter runs their kernels.

Every Triton entry of solutions/expected.json for the CPU (small problems under tests/problems:
the interpreter runs one program at a time in numpy), plus what only Triton has: the
interpreter's clock, launches as the proof of custom code, Triton's compile messages, and the
worker's Triton environment.
"""
from __future__ import annotations

import pytest

from harness import selftest, triton_support
from harness.case import evaluate
from harness.verdict import INTERPRETER_CLOCK, Outcome, Timing, Verdict

from conftest import ROOT, make_cfg

triton = pytest.importorskip("triton")

EXPECTED = ROOT / "solutions" / "expected.json"
ENTRIES = [e for e in selftest.load(EXPECTED, "cpu") if e.solution.endswith("_triton.py")]
RAGGED = ROOT / "tests" / "problems" / "ragged_relu.py"


def _evaluate(problem, solution, cache_dir, cpu) -> Verdict:
    return evaluate(problem, solution, make_cfg(cache_dir, **{"limits.step_s": 60}), cpu)


def test_every_triton_solution_has_a_cpu_entry():
    files = {p.name for d in ("examples", "adversarial") for p in (ROOT / "solutions" / d).glob("*_triton.py")}
    gpu_only = {"side_stream_triton.py", "mixed_cuda_triton.py"}   # streams / a CUDA extension
    assert files - gpu_only <= {e.solution.rsplit("/", 1)[1] for e in ENTRIES}


@pytest.mark.slow
@pytest.mark.parametrize("entry", ENTRIES, ids=[e.id for e in ENTRIES])
def test_cpu_verdict_matches_expectation(entry, cache_dir, cpu):
    v = _evaluate(ROOT / entry.problem, ROOT / entry.solution, cache_dir, cpu)
    ok, why = selftest.check(v, entry)
    assert ok, f"{why} | message: {v.message[:300]} | details: {v.details}"
    kernels = v.details.get("kernels", {})
    if "no_custom_kernel" in entry.flags:
        assert kernels["triton_launches"] == 0
    elif v.outcome is Outcome.OK:
        # launched in every trial, and the times are the interpreter's: no speedup anywhere
        assert kernels["triton_launches"] >= 6 and kernels["defined"]
        assert v.timing is not None and v.timing.clock == INTERPRETER_CLOCK and v.speedup is None
    if entry.solution.endswith("mixed_cpp_triton.py"):
        assert kernels["extension_calls"] >= 6
    if entry.outcomes == ("compile_error",):
        assert "arange's range must be a power of 2" in v.message and "in relu_kernel" in v.message


PROBE = '''
import os
import torch, torch.nn as nn, triton, triton.language as tl

@triton.jit
def copy_kernel(x_ptr, y_ptr, n, BLOCK: tl.constexpr):
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    tl.store(y_ptr + offs, tl.load(x_ptr + offs, mask=offs < n), mask=offs < n)

class ModelNew(nn.Module):
    def forward(self, x):
        cache = os.environ.get("TRITON_CACHE_DIR", "")
        here = os.path.dirname(os.path.abspath(__file__))
        real = os.path.realpath   # in the sandbox /kh links into the worker's tmpfs
        if not triton.knobs.runtime.interpret or real(cache) != real(os.path.join(here, "triton")) \\
                or str(triton.knobs.cache.dir) != cache:
            raise RuntimeError(f"interpret={triton.knobs.runtime.interpret} cache={cache} here={here}")
        y = torch.empty_like(x)
        copy_kernel[(triton.cdiv(x.numel(), 4096),)](x, y, x.numel(), BLOCK=4096)
        return torch.relu(y)
'''


@pytest.mark.slow
def test_candidate_runs_interpreted_with_a_triton_cache_per_solution(tmp_path, cache_dir, cpu):
    sol = tmp_path / "probe_triton.py"
    sol.write_text(PROBE)
    v = _evaluate(RAGGED, sol, cache_dir, cpu)
    assert v.outcome is Outcome.OK and not v.flags, f"{v.message} {v.flags} {v.details}"


def test_interpreted_time_is_no_speedup():
    def timed(clock: str) -> Verdict:
        t = Timing(1.0, 0.5, 0, 0, (1, 1), (0.5, 0.5), 10, 10, 2.0, (1.9, 2.1), "cold", clock)
        return Verdict("p", "s", Outcome.OK, timing=t)
    assert timed("host").speedup == 2.0
    assert timed(INTERPRETER_CLOCK).speedup is None
    assert Verdict.from_json(timed(INTERPRETER_CLOCK).to_json()).speedup is None


def test_compile_errors_are_told_from_runtime_errors():
    from triton.compiler.errors import CompilationError
    from triton.runtime.errors import InterpreterError, OutOfResources

    def interpreted(cause: BaseException) -> InterpreterError:
        try:
            try:
                raise cause
            except BaseException as c:
                raise InterpreterError(repr(c)) from c
        except InterpreterError as e:
            return e

    msg = triton_support.compile_error(interpreted(ValueError("arange's range must be a power of 2")), "x.py")
    assert msg == "Triton (interpreter): ValueError: arange's range must be a power of 2"
    # a failed tl.device_assert is the kernel's runtime error, not a compile error
    assert triton_support.compile_error(interpreted(AssertionError("x too small")), "x.py") is None
    assert triton_support.compile_error(CompilationError("def k():\n  pass", None, "bad"), "x.py") == \
        "Triton: def k():\n  pass\nbad"
    assert "shared memory" in triton_support.compile_error(OutOfResources(1 << 20, 1 << 18, "shared memory"), "x.py")
    assert triton_support.compile_error(RuntimeError("CUDA error"), "x.py") is None


KERNEL = '''
import triton, triton.language as tl

@triton.jit
def {name}(x_ptr, n, BLOCK: tl.constexpr):
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    tl.store(x_ptr + offs, tl.load(x_ptr + offs, mask=offs < n) + 1.0, mask=offs < n)
'''

COUNT = '''
import sys, torch
from harness import triton_support
from harness.problem import load_module
launches = triton_support.Launches()
launches.install(sys.argv[1])
own, other = load_module(sys.argv[1], "solution"), load_module(sys.argv[2], "library")
x = torch.zeros(100)
own.own_kernel[(1,)](x, 100, BLOCK=128)
other.library_kernel[(1,)](x, 100, BLOCK=128)
try:
    own.own_kernel[(1,)](x, 100, BLOCK=100)   # does not compile: a failed launch ran nothing
except Exception:
    pass
own.own_kernel.warmup(x, 100, BLOCK=128, grid=(1,))   # compiles only
print(launches.count, sorted(launches.names), float(x[0]))
'''


@pytest.mark.slow
def test_only_the_solutions_own_completed_launches_count(tmp_path):
    """Kernels defined elsewhere (torch, a library) and launches that raised are not the
    solution's custom code running."""
    import os
    import subprocess
    import sys
    for name in ("own_kernel", "library_kernel"):
        (tmp_path / f"{name}.py").write_text(KERNEL.format(name=name))
    r = subprocess.run([sys.executable, "-c", COUNT, str(tmp_path / "own_kernel.py"),
                        str(tmp_path / "library_kernel.py")], capture_output=True, text=True,
                       cwd=ROOT, env={**os.environ, "TRITON_INTERPRET": "1", "PYTHONPATH": str(ROOT)},
                       timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    assert r.stdout.split() == ["1", "['own_kernel']", "2.0"], r.stdout
