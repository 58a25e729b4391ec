"""The CUDA path on a real GPU (skipped without CUDA)."""
from __future__ import annotations

import pytest

from harness.case import evaluate
from harness.device import resolve
from harness.verdict import Outcome

from conftest import ROOT, make_cfg

pytestmark = [pytest.mark.gpu, pytest.mark.slow]
RELU = ROOT / "problems/level1/relu.py"


@pytest.fixture(scope="module")
def gpu():
    return resolve("cuda")


def test_honest_cuda_relu_is_ok_and_clean(cache_dir, gpu):
    v = evaluate(RELU, ROOT / "solutions/examples/relu_cuda.py", make_cfg(cache_dir, "cuda"), gpu)
    assert v.outcome is Outcome.OK, v.message
    assert v.flags == [], v.details
    assert v.timing.clock == "cuda_events" and v.timing.speedup > 0.5
    assert v.details["kernels"]["own_share"] > 0.5


def test_cuda_compile_error_has_nvcc_lines(cache_dir, gpu):
    v = evaluate(RELU, ROOT / "solutions/examples/compile_error_cuda.py", make_cfg(cache_dir, "cuda"), gpu)
    assert v.outcome is Outcome.COMPILE_ERROR and "error" in v.message


def test_side_stream_is_flagged(cache_dir, gpu):
    v = evaluate(RELU, ROOT / "solutions/adversarial/side_stream_cuda.py", make_cfg(cache_dir, "cuda"), gpu)
    assert "unsynced_work" in v.flags, (v.outcome, v.message, v.details)


def test_side_stream_only_in_timed_calls_reads_the_leads_poison(cache_dir, gpu):
    """Stream-ordered in trials, beside the lead in timed calls: the poison is what catches it
    (without it the same solution is ok and fast, so the test cannot pass for another reason)."""
    sol, mm = ROOT / "solutions/adversarial/side_stream_timed_cuda.py", ROOT / "problems/level1/matmul_square.py"
    v = evaluate(mm, sol, make_cfg(cache_dir, "cuda"), gpu)
    assert v.outcome is Outcome.INCORRECT and "timed call" in v.message, (v.outcome, v.message)
    off = evaluate(mm, sol, make_cfg(cache_dir, "cuda", **{"timing.poison": 0}), gpu)
    assert off.outcome is Outcome.OK and off.timing.speedup > 1.2, (off.outcome, off.message, off.timing)


def test_pytorch_only_is_flagged_on_gpu(cache_dir, gpu):
    v = evaluate(RELU, ROOT / "solutions/adversarial/torch_only.py", make_cfg(cache_dir, "cuda"), gpu)
    assert v.outcome is Outcome.OK and "no_custom_kernel" in v.flags


def test_cuda_graph_timing(cache_dir, gpu):
    cfg = make_cfg(cache_dir, "cuda", **{"timing.cuda_graph": True})
    v = evaluate(RELU, ROOT / "solutions/examples/relu_cuda.py", cfg, gpu)
    assert v.outcome is Outcome.OK and v.timing.clock == "cuda_graph", v.message
