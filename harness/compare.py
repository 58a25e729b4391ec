"""Output comparison, done by the reference worker (trusted) on its own device: it keeps its
outputs, and the candidate's arrive mapped from a sealed memfd (see channel), so only the
metrics cross to the runner.

A structure (tensor, or nested lists of tensors and numbers) matches the reference's when every
leaf has the same shape and dtype, no NaN/Inf the reference lacks, and values within the
dtype's tolerance (see tolerance.Tol).
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Optional

import torch

from .tolerance import Tol
from .verdict import ErrorMetrics


@dataclass
class Match:
    ok: bool
    errors: ErrorMetrics
    message: str = ""

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @staticmethod
    def from_dict(d: Any) -> "Match":
        """From a worker's reply: a malformed one is a failed match, never the runner's crash."""
        try:
            return Match(bool(d["ok"]), ErrorMetrics(**d["errors"]), str(d.get("message", "")))
        except (KeyError, TypeError, AttributeError):
            return Match(False, ErrorMetrics(), f"malformed comparison result {str(d)[:200]}")


def all_finite(t: torch.Tensor) -> bool:
    """min and max carry any NaN or Inf: a 10x cheaper pass than isfinite's mask on a CPU."""
    try:
        lo, hi = torch.aminmax(t.detach())
        return bool(torch.isfinite(lo) & torch.isfinite(hi))
    except (RuntimeError, TypeError):   # a dtype aminmax lacks (float8, complex)
        pass
    if t.is_complex():
        return bool(torch.isfinite(t).all())
    return all(bool(torch.isfinite(c.float()).all()) for c in t.detach().reshape(-1).split(1 << 26))


def _leaves(x: Any, path: str = "out") -> list[tuple[str, Any]]:
    if isinstance(x, (list, tuple)):
        return [leaf for i, v in enumerate(x) for leaf in _leaves(v, f"{path}[{i}]")]
    return [(path, x)]


def _tol_for(dtype: torch.dtype, tolerances: Mapping[str, Tol]) -> Tol:
    name = str(dtype).replace("torch.", "")
    if name in tolerances:
        return tolerances[name]
    return Tol(0.0, 0.0, 0.0) if not dtype.is_floating_point else tolerances["float32"]


def compare(ref: Any, out: Any, tolerances: Mapping[str, Tol], scale: float = 1.0,
            norm_test: bool = True) -> Match:
    """`scale` widens every tolerance; `norm_test=False` keeps only the elementwise test (the
    weak-problem check asks whether a trivial output would pass elementwise, loosely)."""
    worst = ErrorMetrics()
    ref_leaves, out_leaves = _leaves(ref), _leaves(out)
    if len(ref_leaves) != len(out_leaves):
        return Match(False, worst, f"output has {len(out_leaves)} values, reference has "
                                   f"{len(ref_leaves)}")
    for (path, r), (_, o) in zip(ref_leaves, out_leaves):
        if isinstance(o, str) and o.startswith("<unsupported"):
            return Match(False, worst, f"{path}: {o}")
        if not isinstance(r, torch.Tensor):
            if isinstance(o, torch.Tensor) and o.numel() == 1:
                o = o.item()
            if isinstance(r, float) and isinstance(o, (int, float)) and math.isclose(r, o, rel_tol=1e-4, abs_tol=1e-6):
                continue
            if r != o:
                return Match(False, worst, f"{path}: {o!r} != reference {r!r}")
            continue
        if not isinstance(o, torch.Tensor):
            return Match(False, worst, f"{path}: got {type(o).__name__}, expected a tensor")
        if o.shape != r.shape:
            return Match(False, worst, f"{path}: shape {tuple(o.shape)} != reference {tuple(r.shape)}")
        if o.dtype != r.dtype:
            return Match(False, worst, f"{path}: dtype {o.dtype} != reference {r.dtype}")
        o = o.to(r.device)   # shape and dtype agree: the copy is the reference's own size
        tol = _tol_for(r.dtype, tolerances)
        if not r.is_floating_point() and not r.is_complex():
            bad = int((o != r).sum())
            if bad:
                return Match(False, worst, f"{path}: {bad} of {r.numel()} values differ")
            continue
        m = _numeric(path, r, o, tol, scale, norm_test)
        if m.errors.rel_norm >= worst.rel_norm:
            worst = m.errors
        if not m.ok:
            return Match(False, worst, m.message)
    return Match(True, worst)


_NORM_CHUNK = 1 << 16
_NORM_FP32_RANGE = (1e-15, 1e15)   # magnitudes whose squares an fp32 chunk sum holds


def _norm(x: torch.Tensor, largest: Optional[float] = None) -> float:
    """The Euclidean norm to about 1e-6: fp32 norms of 64K-element chunks, combined in float64.
    One fp32 pass over 64M elements was 0.5% off on a CPU, and a float64 pass casts as it goes,
    15x slower; float64 inputs, and a largest value whose square could overflow a chunk's sum
    or underflow, take it. `largest`: max |x|, where the caller has it already."""
    if x.dtype != torch.float32 or not x.numel():
        return float(torch.linalg.vector_norm(x, dtype=torch.float64))
    if largest is None:
        lo, hi = torch.aminmax(x)
        largest = max(-float(lo), float(hi))
    if not _NORM_FP32_RANGE[0] < largest < _NORM_FP32_RANGE[1]:
        return float(torch.linalg.vector_norm(x, dtype=torch.float64))
    flat = x.reshape(-1)
    whole = flat.numel() // _NORM_CHUNK * _NORM_CHUNK
    total = float(torch.linalg.vector_norm(flat[whole:], dtype=torch.float64)) ** 2
    if whole:
        parts = torch.linalg.vector_norm(flat[:whole].view(-1, _NORM_CHUNK), dim=1)
        total += float(parts.double().square().sum())
    return math.sqrt(total)


def _numeric(path: str, r: torch.Tensor, o: torch.Tensor, tol: Tol, scale: float,
             norm_test: bool) -> Match:
    """One pass in the tensor's own precision (fp32 at least); norms accumulate in float64.

    The norm's denominator is floored at atol per element: an output that is itself near zero
    cannot show lowered precision, only absolute error, which atol already bounds.
    """
    if torch.equal(r, o):
        return Match(True, ErrorMetrics())
    work = torch.promote_types(r.dtype, torch.float32)
    r, o = r.to(work), o.to(work)
    if not (all_finite(r) and all_finite(o)):
        r_fin, o_fin = torch.isfinite(r), torch.isfinite(o)
        if not torch.equal(r_fin, o_fin) or not torch.equal(r[~r_fin].nan_to_num(), o[~o_fin].nan_to_num()):
            n = int((r_fin != o_fin).sum())
            return Match(False, ErrorMetrics(math.inf, math.inf, math.inf),
                         f"{path}: {n} NaN/Inf where the reference has finite values (or the reverse)")
        r, o = r[r_fin], o[o_fin]
    diff = (o - r).abs_()
    abs_r = r.abs()
    max_abs, max_rel = 0.0, 0.0
    if diff.numel():
        max_abs = float(diff.max())
        q = abs_r.clamp_min(1e-30)
        max_rel = float(torch.div(diff, q, out=q).max())
    norm, dnorm = _norm(r), _norm(diff, max_abs)
    rel_norm = dnorm / norm if norm > 0 else (0.0 if dnorm == 0 else math.inf)
    floored = dnorm / max(norm, tol.atol * math.sqrt(max(r.numel(), 1)), 1e-300)
    errors = ErrorMetrics(max_abs, max_rel, rel_norm)
    excess = diff.sub_(abs_r.mul_(scale * tol.rtol).add_(scale * tol.atol))
    if excess.numel() and float(excess.max()) > 0:   # counted only when some value is out
        n_bad = int((excess > 0).sum())
        i = int(torch.argmax(excess))
        return Match(False, errors, f"{path}: {n_bad} of {r.numel()} values outside atol={tol.atol:g}, "
                                    f"rtol={tol.rtol:g} (max abs error {max_abs:.3g}; worst at flat "
                                    f"index {i}: {float(o.flatten()[i]):.6g} vs {float(r.flatten()[i]):.6g})")
    if norm_test and floored > scale * tol.max_rel_norm:
        return Match(False, errors, f"{path}: relative norm error {floored:.3g} over "
                                    f"{scale * tol.max_rel_norm:.3g} (lowered precision?)")
    return Match(True, errors)


def weak_problem(outputs: list[Any], tolerances: Mapping[str, Tol], margin: float) -> Optional[str]:
    """Why a zeros, constant or input-independent output would pass, or None. Asked of an
    evenly strided sample first: an answer that fails there fails in full, so an ordinary
    problem costs a few small comparisons, not a dozen over gigabytes."""
    if len(outputs) < 2:
        return None
    floats = [t for o in outputs for t in _leaves_of(o) if t.is_floating_point() and t.numel()]
    ints = [t for o in outputs for t in _leaves_of(o) if not t.is_floating_point() and t.numel()]
    c = float(sum(t.mean(dtype=torch.promote_types(t.dtype, torch.float32)) for t in floats) / len(floats)) \
        if floats else 0.0
    k = int(torch.cat([t.flatten() for t in ints]).mode().values) if ints else 0   # commonest value
    sampled = [_map_tensors(o, _strided) for o in outputs]
    if _trivial_passes(sampled, c, k, tolerances, margin) is None:
        return None
    return _trivial_passes(outputs, c, k, tolerances, margin)


_SAMPLE = 1 << 16


def _strided(t: torch.Tensor) -> torch.Tensor:
    flat = t.reshape(-1)
    return flat[:: max(1, flat.numel() // _SAMPLE)]


def _trivial_passes(outputs: list[Any], c: float, k: int, tolerances: Mapping[str, Tol],
                    margin: float) -> Optional[str]:
    def constant(t: torch.Tensor) -> torch.Tensor:
        return torch.full_like(t, c if t.is_floating_point() else k)

    for name, make in (("all zeros", torch.zeros_like),
                       (f"one constant ({c:.4g}) for every input", constant)):
        if all(compare(o, _map_tensors(o, make), tolerances, margin, norm_test=False).ok
               for o in outputs):
            return f"{name} would pass every trial"
    if all(compare(outputs[0], o, tolerances, margin, norm_test=False).ok for o in outputs[1:]):
        return "outputs for different inputs are the same within tolerance"
    return None


def identity_passes(outputs: list[Any], inputs_of: Callable[[int], list[Any]],
                    tolerances: Mapping[str, Tol], margin: float) -> Optional[str]:
    """Why returning one of the inputs unchanged would pass every trial (inputs drawn
    non-negative make ReLU, or a clamp to [0, 1], the identity on them), or None. `inputs_of(n)`
    makes trial n's inputs; one trial's are held at a time."""
    if len(outputs) < 2 or not all(isinstance(o, torch.Tensor) and o.is_floating_point() for o in outputs):
        return None
    alive: Optional[set[int]] = None   # inputs that passed as the output in every trial so far
    for n, out in enumerate(outputs):
        xs = inputs_of(n)
        alive = {i for i, x in enumerate(xs) if (alive is None or i in alive)
                 and isinstance(x, torch.Tensor) and x.shape == out.shape and x.dtype == out.dtype
                 and compare(_strided(out), _strided(x), tolerances, margin, norm_test=False).ok
                 and compare(out, x, tolerances, margin, norm_test=False).ok}
        del xs
        if not alive:
            return None
    assert alive is not None
    return f"returning input {min(alive)} unchanged would pass every trial"


def _leaves_of(x: Any) -> list[torch.Tensor]:
    return [leaf for _, leaf in _leaves(x) if isinstance(leaf, torch.Tensor)]


def _map_tensors(x: Any, fn) -> Any:
    if isinstance(x, torch.Tensor):
        return fn(x)
    if isinstance(x, (list, tuple)):
        return [_map_tensors(v, fn) for v in x]
    return x
