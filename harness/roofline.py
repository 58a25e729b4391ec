"""The physical floor of a problem on a device: no correct kernel, whatever its algorithm, runs
faster.

floor = bytes that must move / memory bandwidth. Two kinds of bytes must move whatever the
algorithm: every output element must be stored, and an input the output depends on everywhere
must be read. Which inputs those are is found by perturbing the reference: an input counts when
changing any one of several sampled elements (up or down by far more than its spread) changes
the reference's output. An input the output ignores in part (a mask, a diagonal, a slice) is not
counted, nor are parameters (the floor must err low: only the truly impossible is flagged).

FLOPs (torch's FlopCounterMode on the reference) are the reference's algorithm, not a floor: a
solution may find a cheaper one (diag(a) @ B is a row scale, not an N^3 product). They feed the
speed-of-light figure (the reference's work at the device's peaks, over the candidate's time),
never the flag. Peaks are measured once per device (not taken from datasheets) and cached by the
runner: copy bandwidth and the fastest dense matmul rate (bf16 on GPUs).
"""
from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import Any, Optional

import torch
from torch.utils.flop_counter import FlopCounterMode

from .compare import all_finite

PEAKS_FILE = "peaks-v2.json"   # bump when measure_peaks changes what it measures


def _nbytes(x: Any) -> int:
    if isinstance(x, torch.Tensor):
        return x.numel() * x.element_size()
    if isinstance(x, (list, tuple)):
        return sum(_nbytes(v) for v in x)
    return 0


def count_work(model: torch.nn.Module, inputs: list[Any], probes: int = 8,
               seed: int = 0) -> dict[str, Any]:
    """FLOPs and bytes of the reference's own run, and the bytes any algorithm must move."""
    with torch.no_grad():
        counter = FlopCounterMode(display=False)
        with counter:
            out = model(*inputs)
        read = needed_reads(model, inputs, out, probes, seed)
    params = sum(_nbytes(p) for p in model.parameters()) + sum(_nbytes(b) for b in model.buffers())
    out_bytes = _nbytes(out)
    return {"flops": int(counter.get_total_flops()), "bytes": _nbytes(inputs) + out_bytes + params,
            "out_bytes": out_bytes, "read_bytes": sum(read), "needed_bytes": out_bytes + sum(read),
            "inputs_needed": [r > 0 for r in read]}


def _tensor_inputs(inputs: list[Any]) -> list[tuple[int, torch.Tensor]]:
    return [(i, x) for i, x in enumerate(inputs) if isinstance(x, torch.Tensor) and x.numel()]


def _outputs_equal(a: Any, b: Any, exact: bool) -> bool:
    ta = [t for t in (a if isinstance(a, (list, tuple)) else [a]) if isinstance(t, torch.Tensor)]
    tb = [t for t in (b if isinstance(b, (list, tuple)) else [b]) if isinstance(t, torch.Tensor)]
    if len(ta) != len(tb):
        return False
    for x, y in zip(ta, tb):
        if x.shape != y.shape:
            return False
        if exact:
            if torch.equal(x, y):
                continue
            floating = x.is_floating_point() or x.is_complex()
            if not floating or (all_finite(x) and all_finite(y)):
                return False    # no NaN to tell apart: unequal is unequal (a copy of each saved)
            if not torch.equal(x.nan_to_num(), y.nan_to_num()):
                return False
        elif not torch.allclose(x.double(), y.double(), rtol=1e-6, atol=1e-9, equal_nan=True):
            return False
    return True


def _copy(out: Any) -> Any:
    if isinstance(out, torch.Tensor):
        return out.clone()
    if isinstance(out, (list, tuple)):
        return [_copy(o) for o in out]
    return out


def needed_reads(model: torch.nn.Module, inputs: list[Any], out: Any, probes: int,
                 seed: int) -> list[int]:
    """Per input, its bytes if the output depends on every sampled element of it, else 0.

    Each probe changes one element in place (floats by +-1000 x (|x|+1), integers to another
    element's value so that indices stay valid, booleans flipped), runs the reference and puts
    the element back. A reference whose output is not bitwise repeatable (atomics) is compared
    with a tight tolerance instead, so its noise never counts as dependence."""
    base = _copy(out)
    exact = _outputs_equal(base, model(*inputs), exact=True)
    gen = torch.Generator().manual_seed(seed)
    sizes = [0] * len(inputs)
    for i, x in _tensor_inputs(inputs):
        n = x.numel()
        picks = range(n) if n <= probes else torch.randint(0, n, (probes,), generator=gen).tolist()
        if all(_depends(model, inputs, x, int(p), base, exact, gen) for p in picks):
            sizes[i] = _nbytes(x)
    return sizes


def _depends(model: torch.nn.Module, inputs: list[Any], x: torch.Tensor, flat: int, base: Any,
             exact: bool, gen: torch.Generator) -> bool:
    idx = tuple(int(k) for k in torch.unravel_index(torch.tensor(flat), x.shape))
    old = x[idx].clone()
    if x.dtype == torch.bool:
        trials = [~old]
    elif x.is_floating_point() or x.is_complex():
        step = 1000.0 * (float(old.abs()) + 1.0)
        trials = [old + step, old - step]
    else:
        other = x.flatten()[torch.randint(0, x.numel(), (8,), generator=gen)]
        trials = [v for v in other.unique() if v != old][:1]
    try:
        for new in trials:
            x[idx] = new
            try:
                changed = not _outputs_equal(base, model(*inputs), exact)
            except Exception:    # e.g. a value out of a valid range: no evidence either way
                changed = False
            if changed:
                return True
        return False
    finally:
        x[idx] = old


def _best_ms(fn, device: torch.device, reps: int) -> float:
    sync = (lambda: torch.cuda.synchronize(device)) if device.type == "cuda" else (lambda: None)
    fn()
    sync()
    best = float("inf")
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        sync()
        best = min(best, (time.perf_counter() - t0) * 1e3)
    return best


def measure_peaks(device: torch.device) -> dict[str, float]:
    """Copy bandwidth (bytes read + written per second) and the best dense matmul FLOP rate."""
    if device.type == "cuda":
        n_bytes, mm_n, dtypes = 1 << 30, 8192, (torch.bfloat16, torch.float16, torch.float32)
    else:
        n_bytes, mm_n, dtypes = 1 << 27, 1024, (torch.float32,)  # type: ignore[assignment]
    src = torch.empty(n_bytes // 4, dtype=torch.float32, device=device).uniform_()
    dst = torch.empty_like(src)
    ms = _best_ms(lambda: dst.copy_(src), device, 10)  # noqa: F821 (deleted only after the call)
    # A CPU store first reads the line it writes (write-allocate): a copy moves 3x its size,
    # and counting 2x would set the floor too high. GPUs write whole lines: 2x.
    bandwidth = (2 if device.type == "cuda" else 3) * n_bytes / (ms / 1e3)
    del src, dst
    flops = 0.0
    for dt in dtypes:
        a = torch.randn(mm_n, mm_n, device=device).to(dt)
        b = torch.randn(mm_n, mm_n, device=device).to(dt)
        ms = _best_ms(lambda: a @ b, device, 10)  # noqa: B023 (called at once)
        flops = max(flops, 2 * mm_n**3 / (ms / 1e3))
    return {"bandwidth": bandwidth, "flops": flops}


def floor_ms(work: dict[str, Any], peaks: dict[str, float]) -> float:
    """What no algorithm beats: the needed bytes at the measured bandwidth."""
    return 1e3 * work["needed_bytes"] / peaks["bandwidth"] if peaks.get("bandwidth") else 0.0


def reference_work_ms(work: dict[str, Any], peaks: dict[str, float]) -> float:
    """The reference's own work (its FLOPs and every byte it touches) at the device's peaks:
    the speed-of-light figure's numerator, never a floor."""
    return 1e3 * max(work["flops"] / peaks["flops"] if peaks.get("flops") else 0.0,
                     work["bytes"] / peaks["bandwidth"] if peaks.get("bandwidth") else 0.0)


def cached_peaks(cache_dir: Path, hardware: str) -> Optional[dict[str, float]]:
    """Peaks measured once per device (by the reference worker) and kept in the cache folder."""
    f = cache_dir / PEAKS_FILE
    try:
        return json.loads(f.read_text()).get(hardware)
    except (OSError, ValueError):
        return None


def save_peaks(cache_dir: Path, hardware: str, peaks: dict[str, float]) -> None:
    f = cache_dir / PEAKS_FILE
    try:
        data = json.loads(f.read_text())
    except (OSError, ValueError):
        data = {}
    data[hardware] = peaks
    tmp = f.with_suffix(f".{uuid.uuid4().hex[:6]}.tmp")
    tmp.write_text(json.dumps(data, indent=1))
    tmp.replace(f)
