"""The physical floor of a problem on a device: no correct kernel runs faster.

floor = max(FLOPs / peak FLOP rate, bytes that must move / memory bandwidth), with FLOPs counted
by torch's FlopCounterMode on the reference and bytes = inputs + outputs + parameters, each
touched once. Peaks are measured once per device (not taken from datasheets) and cached by the
runner; the FLOP peak is the fastest dense matmul rate measured (bf16 on GPUs), so the floor errs
low and only the truly impossible is flagged.
"""
from __future__ import annotations

import time
from typing import Any

import torch
from torch.utils.flop_counter import FlopCounterMode


def _nbytes(x: Any) -> int:
    if isinstance(x, torch.Tensor):
        return x.numel() * x.element_size()
    if isinstance(x, (list, tuple)):
        return sum(_nbytes(v) for v in x)
    return 0


def count_work(model: torch.nn.Module, inputs: list[Any]) -> dict[str, Any]:
    with torch.no_grad():
        counter = FlopCounterMode(display=False)
        with counter:
            out = model(*inputs)
    params = sum(_nbytes(p) for p in model.parameters()) + sum(_nbytes(b) for b in model.buffers())
    return {"flops": int(counter.get_total_flops()), "bytes": _nbytes(inputs) + _nbytes(out) + params,
            "out_bytes": _nbytes(out)}


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
    return 1e3 * max(work["flops"] / peaks["flops"] if peaks.get("flops") else 0.0,
                     work["bytes"] / peaks["bandwidth"] if peaks.get("bandwidth") else 0.0)
