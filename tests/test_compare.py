"""The default tolerances: honest fp32 with another summation order passes, lowered precision fails."""
import math

import pytest
import torch

from harness.compare import compare, identity_passes, weak_problem
from harness.config import _default_tolerances

TOL = _default_tolerances()


def _tiled_matmul(a, b, tile=512):
    """Same products, another summation order: K split into tiles accumulated one by one."""
    out = torch.zeros(a.shape[0], b.shape[1])
    for k in range(0, a.shape[1], tile):
        out += a[:, k:k + tile] @ b[k:k + tile, :]
    return out


@pytest.mark.slow
def test_tiled_fp32_matmul_4096_passes_and_half_precision_fails():
    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(4096, 4096, generator=g), torch.randn(4096, 4096, generator=g)
    ref = a @ b
    assert compare(ref, _tiled_matmul(a, b), TOL).ok
    fp16 = (a.half().float() @ b.half().float())
    bf16 = (a.bfloat16().float() @ b.bfloat16().float())
    assert not compare(ref, fp16, TOL).ok
    assert not compare(ref, bf16, TOL).ok


def test_reduction_over_500k_in_another_order_passes():
    x = torch.randn(8, 500_000, generator=torch.Generator().manual_seed(1))
    ref = x.double().sum(dim=1).float()
    blocked = x.view(8, 500, 1000).sum(dim=2).sum(dim=1)      # pairwise-ish blocks
    sequential = torch.cumsum(x, dim=1)[:, -1]                 # one long fp32 running sum
    assert compare(ref, blocked, TOL).ok
    assert compare(ref, sequential, TOL).ok, compare(ref, sequential, TOL).message


def test_elementwise_downcasts_fail_on_relative_norm():
    x = torch.randn(1 << 20, generator=torch.Generator().manual_seed(2))
    ref = torch.relu(x)
    for dt in (torch.float16, torch.bfloat16):
        m = compare(ref, torch.relu(x.to(dt)).float(), TOL)
        assert not m.ok and m.errors.rel_norm > TOL["float32"].max_rel_norm


def test_structure_shape_dtype_nan():
    t = torch.ones(3)
    assert not compare(t, torch.ones(4), TOL).ok
    assert "dtype" in compare(t, torch.ones(3, dtype=torch.float64), TOL).message
    assert "tensors" not in compare([t, t], [t, t], TOL).message and compare([t, t], [t, t], TOL).ok
    assert not compare([t, t], [t], TOL).ok
    nan = t.clone()
    nan[1] = math.nan
    assert "NaN" in compare(t, nan, TOL).message
    assert compare(nan, nan.clone(), TOL).ok           # NaN where the reference has NaN is fine
    assert not compare(torch.tensor([1, 2]), torch.tensor([1, 3]), TOL).ok


def test_error_metrics_reported():
    ref = torch.ones(100)
    out = ref.clone()
    out[0] = 1.5
    m = compare(ref, out, TOL)
    assert not m.ok
    assert math.isclose(m.errors.max_abs, 0.5, rel_tol=1e-6)
    assert math.isclose(m.errors.rel_norm, 0.05, rel_tol=1e-6)


def test_weak_problem_detection():
    g = torch.Generator().manual_seed(3)
    strong = [torch.relu(torch.randn(1000, generator=g)) for _ in range(3)]
    assert weak_problem(strong, TOL, 10.0) is None
    near_zero = [torch.randn(4096, 4096, generator=g).mean().reshape(1) for _ in range(3)]
    assert "zeros" in weak_problem(near_zero, TOL, 10.0)
    varied_scalars = [torch.randn(1, generator=g) for _ in range(3)]
    assert weak_problem(varied_scalars, TOL, 10.0) is None
    constant = [torch.full((100,), 3.0) + 1e-6 * torch.randn(100, generator=g) for _ in range(3)]
    assert "constant" in weak_problem(constant, TOL, 10.0)


def test_weak_answer_is_not_taken_from_the_sample_alone():
    """The strided sample only rules answers out: an output that is zero on every sampled
    element but not elsewhere is judged in full, and is not weak."""
    g = torch.Generator().manual_seed(5)
    n = 1 << 20
    outs = []
    for _ in range(3):
        t = torch.zeros(n)
        off_grid = torch.arange(n) % (n // (1 << 16)) != 0
        t[off_grid] = torch.randn(int(off_grid.sum()), generator=g)
        outs.append(t)
    assert weak_problem(outs, TOL, 10.0) is None
    outs[0].zero_(), outs[1].zero_(), outs[2].zero_()
    assert "zeros" in weak_problem(outs, TOL, 10.0)


def test_identity_on_its_inputs_is_named_only_when_every_trial_passes():
    g = torch.Generator().manual_seed(6)
    draws = [[torch.randn(3), torch.rand(256, 256, generator=g)] for _ in range(3)]
    relu = [torch.relu(xs[1]) for xs in draws]          # rand is non-negative: relu is the identity
    assert identity_passes(relu, lambda n: draws[n], TOL, 10.0) == \
        "returning input 1 unchanged would pass every trial"
    signed = [[torch.randn(256, 256, generator=g)] for _ in range(3)]
    assert identity_passes([torch.relu(xs[0]) for xs in signed], lambda n: signed[n], TOL, 10.0) is None
    mixed = [draws[0], draws[1], signed[2]]            # one trial where it fails is enough
    outs = [torch.relu(mixed[0][1]), torch.relu(mixed[1][1]), torch.relu(mixed[2][0])]
    assert identity_passes(outs, lambda n: mixed[n], TOL, 10.0) is None
    assert identity_passes([torch.rand(4, 4)] * 3, lambda n: [torch.rand(4, 4).double()], TOL, 10.0) is None


@pytest.mark.parametrize("scale", [1e-30, 1e-12, 1.0, 1e12, 1e30])
@pytest.mark.parametrize("n", [1, 1000, (1 << 16) * 3 + 17])
def test_norm_matches_float64_at_every_scale_and_size(scale, n):
    from harness.compare import _norm
    g = torch.Generator().manual_seed(n)
    x = torch.randn(n, generator=g, dtype=torch.float64) * scale
    want = float(torch.linalg.vector_norm(x))
    assert math.isclose(_norm(x.float()), float(torch.linalg.vector_norm(x.float().double())),
                        rel_tol=1e-5), (scale, n)
    assert math.isclose(_norm(x), want, rel_tol=1e-12)


def test_integer_outputs_are_not_weak_unless_constant():
    g = torch.Generator().manual_seed(4)
    argmax = [torch.randn(64, 1000, generator=g).argmax(dim=1) for _ in range(3)]
    assert weak_problem(argmax, TOL, 10.0) is None
    assert "constant" in weak_problem([torch.full((64,), 7) for _ in range(3)], TOL, 10.0)


def test_near_zero_output_judged_on_absolute_error():
    """A reference that is itself ~0 (cancellation) must not fail honest rounding noise."""
    ref = torch.full((1000,), 1e-6)
    assert compare(ref, ref + 1e-7, TOL).ok
    assert not compare(ref, ref + 5e-3, TOL).ok
