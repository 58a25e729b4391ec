"""Timing: the clock inside a worker, the statistics, and the side-by-side schedule.

Workers time single calls (`Clock`): wait for the whole device, flush the cache, start, call,
stop, wait for the whole device again. On a GPU the flush and a spin (the lead, 0.5 ms) are still
running when the host launches the call, so the events time the device's work, not the host's
launch path (which differs between the two workers: the candidate's is instrumented). Work a
forward puts on a stream of its own could start beside the lead, out of the timed window: the
inputs hold NaN at fresh random places until the lead has run out (`Poison`), so such work reads
them and fails the checked timed calls, while stream-ordered work reads the real values.
The runner (`interleave`) asks the reference and the candidate for rounds in turn, so drift and
noisy neighbours hit both alike, and stops when both medians are tight or the budget is spent.
Statistics are distribution-free: order-statistic intervals for medians, a bootstrap for the
ratio of medians.
"""
from __future__ import annotations

import glob
import math
import os
import random
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Optional, Sequence

import numpy as np
import torch

from .protocol import Timed

# Taken at import, before any solution code runs in this process.
_perf_ns = time.perf_counter_ns
_cuda_sync = torch.cuda.synchronize
_Event = torch.cuda.Event
_event_record = torch.cuda.Event.record
_event_elapsed = torch.cuda.Event.elapsed_time
_event_query = torch.cuda.Event.query
_cuda_spin = torch.cuda._sleep
_SPIN_CYCLES_PER_US = 2000   # a 2 GHz SM clock: slower clocks only lengthen the lead


def _largest_cpu_cache() -> int:
    sizes = []
    for index in glob.glob("/sys/devices/system/cpu/cpu0/cache/index*/size"):
        try:
            text = open(index).read().strip().upper()
            sizes.append(int(text[:-1]) * {"K": 1 << 10, "M": 1 << 20}[text[-1]] if text[-1] in "KM"
                         else int(text))
        except (OSError, ValueError):
            pass
    return max(sizes, default=32 << 20)


# ------------------------------------------------------------------------------------------------
# Inside a worker
# ------------------------------------------------------------------------------------------------
_NAN_DTYPES = (torch.float16, torch.bfloat16, torch.float32, torch.float64, torch.complex64,
               torch.complex128)
# Taken at import, as the clock's own calls are: a solution that patches them cannot turn the
# poison off (these module-level names are tamper-checked).
_randint, _unravel = torch.randint, torch.unravel_index
_view, _is_contiguous = torch.Tensor.view, torch.Tensor.is_contiguous
_index, _index_put = torch.Tensor.__getitem__, torch.Tensor.index_put_


def _can_hold_nan(t: torch.Tensor) -> bool:
    """A dtype with NaN, some elements, and no zero stride (expanded: one element seen at many
    places)."""
    return t.dtype in _NAN_DTYPES and t.numel() > 0 and all(st or n == 1 for st, n in zip(t.stride(), t.shape))


class Poison:
    """NaN at `places` fresh random places of each floating input, from `hide` until `show` puts
    the values back: the clock hides them before its lead and shows them after it, on the
    caller's stream, so only work that waits for that stream reads real inputs. Views are
    taken at each hide, so an input whose storage was swapped is poisoned where it now lives.
    Integer, bool and fp8 tensors (no NaN there), empty and expanded ones are left alone."""

    def __init__(self, tensors: Sequence[torch.Tensor], places: int):
        """`tensors`: every tensor among a call's inputs (the worker's `_tensors`)."""
        self.tensors = [t for t in tensors if _can_hold_nan(t)] if places else []
        self.places = places
        self.saved: list[tuple[torch.Tensor, tuple[torch.Tensor, ...], torch.Tensor]] = []
        self.gens: dict[torch.device, torch.Generator] = {}   # one per device the inputs are on
        self.nans: dict[tuple[torch.dtype, torch.device], torch.Tensor] = {}
        for t in self.tensors:
            if t.device not in self.gens:
                self.gens[t.device] = torch.Generator(device=t.device)
                self.gens[t.device].manual_seed(int.from_bytes(os.urandom(8), "little") >> 1)
            if (t.dtype, t.device) not in self.nans:
                self.nans[(t.dtype, t.device)] = torch.full((), math.nan, dtype=t.dtype, device=t.device)

    def hide(self) -> None:
        for t in self.tensors:
            n = t.numel()
            at = _randint(n, (min(self.places, n),), device=t.device, generator=self.gens[t.device])
            where: tuple[torch.Tensor, ...]
            if _is_contiguous(t):
                t, where = _view(t, -1), (at,)
            else:   # strided (transposed, channels-last): the same places by their indices
                where = _unravel(at, t.shape)
            self.saved.append((t, where, _index(t, where)))
            _index_put(t, where, self.nans[(t.dtype, t.device)])

    def show(self) -> None:
        """Last hidden first: inputs that share storage get back what the first hide saw."""
        while self.saved:
            t, where, values = self.saved.pop()
            _index_put(t, where, values)


class Clock:
    """Times one call at a time on one device; cuda: events plus a device-wide sync."""

    def __init__(self, device: torch.device, cache: str, flush_bytes: int = 0, lead_us: float = 0.0,
                 count_late: bool = False):
        """`count_late`: count the calls that outlast the lead (bench/placement.py); the workers'
        timed calls do not ask, so their hot path has no extra query."""
        self.device = device
        self.cuda = device.type == "cuda"
        self.cache = cache
        self.lead_cycles = int(lead_us * _SPIN_CYCLES_PER_US) if self.cuda else 0
        if not flush_bytes:
            if self.cuda:
                l2 = getattr(torch.cuda.get_device_properties(device), "L2_cache_size", 0) or (64 << 20)
                flush_bytes = 2 * l2
            else:
                flush_bytes = 2 * _largest_cpu_cache()
        self.flush_buf = torch.empty(flush_bytes, dtype=torch.uint8, device=device) \
            if cache == "cold" else None
        self.name = "cuda_events" if self.cuda else "host"
        self.count_late = count_late and self.lead_cycles > 0
        self.late = 0   # calls whose start event had fired before the call returned: the lead ran
                        # out while the host was still launching, so part of its path was timed

    def sync(self) -> None:
        if self.cuda:
            _cuda_sync(self.device)

    def flush(self) -> None:
        if self.flush_buf is not None:
            self.flush_buf.fill_(1)  # a write: evicts dirty lines and clean ones alike

    def time_call(self, fn: Callable[[], Any], poison: Optional[Poison] = None) -> tuple[float, float, Any]:
        """(device ms, synced wall ms, result) of one call. Without a lead, the device is idle
        when timing starts, so the host's launch path counts (the empty-forward floor).
        `poison`: the inputs `fn` reads, hidden while the lead runs."""
        if self.cuda:
            start, end = _Event(enable_timing=True), _Event(enable_timing=True)
            self.sync()
            poison = poison if self.lead_cycles else None
            if poison is not None:
                try:
                    poison.hide()
                except BaseException:
                    poison.show()   # what was hidden before the failure goes back first
                    raise
            self.flush()
            if self.lead_cycles:
                _cuda_spin(self.lead_cycles)
                if poison is not None:
                    poison.show()
            else:
                self.sync()
            w0 = _perf_ns()
            _event_record(start)
            out = fn()
            _event_record(end)
            if self.count_late:
                self.late += _event_query(start)
            self.sync()
            w1 = _perf_ns()
            return _event_elapsed(start, end), (w1 - w0) / 1e6, out
        self.flush()
        w0 = _perf_ns()
        out = fn()
        w1 = _perf_ns()
        ms = (w1 - w0) / 1e6
        return ms, ms, out


# ------------------------------------------------------------------------------------------------
# Statistics
# ------------------------------------------------------------------------------------------------
def median(xs: Sequence[float]) -> float:
    return float(np.median(np.asarray(xs, dtype=float)))


def iqr(xs: Sequence[float]) -> float:
    q1, q3 = np.percentile(np.asarray(xs, dtype=float), [25, 75])
    return float(q3 - q1)


def median_ci(xs: Sequence[float], z: float = 1.96) -> tuple[float, float]:
    """Distribution-free 95% CI of the median from order statistics (binomial, normal approx.)."""
    s = sorted(xs)
    n = len(s)
    if n == 0:
        return (math.nan, math.nan)
    half = z * math.sqrt(n) / 2
    lo = max(0, int(math.floor(n / 2 - half)) - 1)
    hi = min(n - 1, int(math.ceil(n / 2 + half)))
    return (float(s[lo]), float(s[hi]))


def rel_ci_width(xs: Sequence[float]) -> float:
    """Half-width of the median's CI over the median."""
    if len(xs) < 3:
        return math.inf
    lo, hi = median_ci(xs)
    m = median(xs)
    return (hi - lo) / (2 * m) if m > 0 else math.inf


def ratio_ci(num: Sequence[Sequence[float]], den: Sequence[Sequence[float]], n_boot: int = 2000,
             seed: int = 0, paired: bool = True) -> tuple[float, float]:
    """Bootstrap 95% CI of median(num) / median(den), each given as its rounds of calls: the
    wider of two intervals. Drawn a round at a time, because calls in one round share the
    moment's device clocks and host load, so a CI from single calls is too narrow when rounds
    disagree (an H200 round's median moved 6% between rounds of the same kernels); drawn a
    call at a time too, because a handful of rounds (a steady kernel stops after three) is too
    few to draw from. `paired`: round i of each side ran next to the other's (side by side, as
    many rounds), so one draw takes both and what drifts for both cancels."""
    a, b = _padded(num), _padded(den)
    if a.size == 0 or b.size == 0:
        return (math.nan, math.nan)
    rng = np.random.default_rng(seed)
    ia = rng.integers(0, len(a), size=(n_boot, len(a)))
    ib = ia if paired and len(a) == len(b) else rng.integers(0, len(b), size=(n_boot, len(b)))
    by_round = np.nanmedian(a[ia].reshape(n_boot, -1), axis=1) / np.nanmedian(b[ib].reshape(n_boot, -1), axis=1)
    calls_a, calls_b = a[~np.isnan(a)], b[~np.isnan(b)]
    by_call = np.median(calls_a[rng.integers(0, len(calls_a), size=(n_boot, len(calls_a)))], axis=1) / \
        np.median(calls_b[rng.integers(0, len(calls_b), size=(n_boot, len(calls_b)))], axis=1)
    return (float(min(np.percentile(by_round, 2.5), np.percentile(by_call, 2.5))),
            float(max(np.percentile(by_round, 97.5), np.percentile(by_call, 97.5))))


def _padded(rounds: Sequence[Sequence[float]]) -> np.ndarray:
    """Rounds as rows, NaN after a shorter round's last call (nanmedian skips them)."""
    rows = [list(r) for r in rounds if len(r)]
    width = max((len(r) for r in rows), default=0)
    return np.array([r + [math.nan] * (width - len(r)) for r in rows], dtype=float).reshape(len(rows), width)


# ------------------------------------------------------------------------------------------------
# The side-by-side schedule (runner side)
# ------------------------------------------------------------------------------------------------
@dataclass
class Side:
    """What one worker reported over all rounds, plus the runner's own wall clock."""
    device_ms: list[float] = field(default_factory=list)
    wall_ms: list[float] = field(default_factory=list)
    round_wall_ms: list[float] = field(default_factory=list)   # measured by the runner
    round_calls: list[int] = field(default_factory=list)
    checks: list[tuple[int, Any]] = field(default_factory=list)  # (check seed, output)
    threads_grew: bool = False

    def add(self, reply: Timed, runner_ms: float, seeds: Sequence[int]) -> None:
        self.device_ms += list(reply.device_ms)
        self.wall_ms += list(reply.wall_ms)
        self.round_wall_ms.append(runner_ms)
        self.round_calls.append(len(reply.device_ms))
        self.checks += list(zip(seeds, reply.checks))
        self.threads_grew |= reply.threads_grew

    def rounds(self) -> list[list[float]]:
        """device_ms cut back into its rounds."""
        out, i = [], 0
        for n in self.round_calls:
            out.append(self.device_ms[i:i + n])
            i += n
        return out

    def steady(self) -> tuple[float, float, int]:
        """(runner ms, reported wall ms, rounds) after the warm-up round: the runner's clock
        against the worker's, so a worker that under-reports its times can be caught."""
        first = self.round_calls[0] if self.round_calls else 0
        return sum(self.round_wall_ms[1:]), sum(self.wall_ms[first:]), len(self.round_calls) - 1


@dataclass
class Schedule:
    round_calls: int
    min_calls: int
    max_calls: int
    rel_ci: float
    budget_s: float
    timed_checks: int


def interleave(time_round: Callable[[str, int, list[int], bool], tuple[Timed, float]],
               sched: Schedule, new_seed: Callable[[], int],
               sides: Sequence[str] = ("ref", "cand")) -> tuple[dict[str, Side], int, bool]:
    """Take turns (reference round, candidate round, ...) until every median is tight or time
    is up; the order reverses each round so that neither side always goes first.

    `time_round(side, n, check_seeds, warmup)` runs one round on a worker and returns its reply
    and the runner's wall time for it. Check calls (fresh inputs whose outputs are compared)
    land in the first round and in a final round after the stopping rule has fired, so a
    solution that turns lazy once calls pile up is caught on the calls that are timed.
    """
    out = {name: Side() for name in sides}
    t0 = time.monotonic()
    rounds = 0
    converged = False
    order = list(sides)
    while True:
        final = converged or min(len(s.device_ms) for s in out.values()) >= sched.max_calls or \
            time.monotonic() - t0 > sched.budget_s
        checks = [new_seed() for _ in range(1 if (rounds == 0 or final) and sched.timed_checks else 0)]
        for who in order:
            reply, runner_ms = time_round(who, sched.round_calls, checks, rounds == 0)
            out[who].add(reply, runner_ms, checks)
        rounds += 1
        order.reverse()
        if final:
            break
        n = min(len(s.device_ms) for s in out.values())
        converged = n >= sched.min_calls and all(rel_ci_width(s.device_ms) <= sched.rel_ci
                                                 for s in out.values())
    return out, rounds, converged


def seed_source(seed: Optional[int]) -> Callable[[], int]:
    """Fresh unpredictable seeds, or a reproducible stream when a seed is given."""
    if seed is None:
        sysrand = random.SystemRandom()
        return lambda: sysrand.randrange(1, 2**62)
    rng = random.Random(seed)
    return lambda: rng.randrange(1, 2**62)
