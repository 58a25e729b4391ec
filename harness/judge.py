"""The judge: observations in, flags and caveats (each with its reason) out.

Pure functions, no processes and no I/O, so that every rule is tested on canned observations in
milliseconds. The runner (case.py) gathers what the workers report and applies what these
return; it decides nothing itself.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Optional, Sequence

from .protocol import Finished
from .timing import median
from .verdict import (BEYOND_ROOFLINE, CAVEAT_DOCS, FLAG_DOCS, INPUT_MUTATED, LAUNCH_BOUND,
                      NO_CUSTOM_KERNEL, NOT_A_TENSOR, NOT_CONVERGED, SANDBOX_VIOLATION,
                      SPEEDUP_UNCERTAIN, TAMPERING, UNSYNCED_WORK, Timing)


@dataclass(frozen=True)
class Finding:
    """One flag or caveat and why it was raised."""
    name: str
    why: str

    def __post_init__(self) -> None:
        if self.name not in FLAG_DOCS and self.name not in CAVEAT_DOCS:
            raise ValueError(f"unknown flag or caveat {self.name!r}")

    @property
    def is_flag(self) -> bool:
        return self.name in FLAG_DOCS


def trial(i: int, obs: Mapping[str, Any], ref: Mapping[str, Any]) -> list[Finding]:
    """One correctness trial: what the candidate's worker saw, against the reference's worker
    on the same seed (whatever the reference itself does, e.g. a pool thread, is not held
    against the candidate)."""
    n = i + 1
    out = []
    if obs["checksum"] != ref["checksum"]:
        out.append(Finding(TAMPERING, f"trial {n}: the inputs the candidate saw differ from the "
                                      "reference's for the same seed (input generation was patched)"))
    if obs["changed_after_return"]:
        out.append(Finding(UNSYNCED_WORK, f"trial {n}: the output changed after forward returned"))
    if obs["threads_after"] > ref["threads_after"]:
        out.append(Finding(UNSYNCED_WORK, f"trial {n}: forward left {obs['threads_after']} new "
                                          "thread(s) running"))
    if obs["children_after"] > ref["children_after"]:
        out.append(Finding(UNSYNCED_WORK, f"trial {n}: {obs['children_after']} child process(es) "
                                          "still running after forward returned"))
    if obs["input_mutated"] and not ref["input_mutated"]:
        out.append(Finding(INPUT_MUTATED, f"trial {n}: forward changed its inputs in place"))
    if obs["aliases_input"] and not ref["aliases_input"]:
        out.append(Finding(INPUT_MUTATED, f"trial {n}: the output shares storage with an input"))
    if obs["not_plain"]:
        out.append(Finding(NOT_A_TENSOR, f"trial {n}: output of type {', '.join(obs['not_plain'])}"))
    return out


def own_kernels(defined: Iterable[str], ran: Iterable[str]) -> list[str]:
    """Profiler kernel names that are the solution's own (mangled C++ names contain the
    function's name as a word; Triton kernels carry the function's name)."""
    names = sorted(defined)
    return [k for k in ran if any(re.search(rf"\b{re.escape(n)}\b", k) for n in names)]


def custom_kernel(defined: Iterable[str], kernels: Sequence[tuple[str, float]], ext_calls: int,
                  triton_launches: int, extensions: Sequence[str],
                  on_gpu: bool) -> tuple[list[Finding], dict[str, Any]]:
    """Did forward run any code of the solution's own? On a GPU the profiler's kernel names
    answer when the solution defines kernels; otherwise (CPU, or kernels defined in a way the
    names do not show) calls into its own extension modules or launches of its own Triton
    kernels do: either proves it (a mixed solution may use both)."""
    own = sorted(set(defined))
    ran = [k for k, _ in kernels]
    details: dict[str, Any] = {"defined": own, "ran": ran[:20], "extension_calls": ext_calls,
                               "triton_launches": triton_launches}
    if on_gpu and own:
        matched = own_kernels(own, ran)
        if not matched:
            return [Finding(NO_CUSTOM_KERNEL, f"none of the solution's kernels ({', '.join(own)}) "
                                              f"ran during forward; ran: {', '.join(ran[:5]) or 'nothing'}")], details
        total = sum(t for _, t in kernels) or 1.0
        details["own_share"] = round(sum(t for k, t in kernels if k in matched) / total, 4)
        return [], details
    if ext_calls == 0 and triton_launches == 0:
        return [Finding(NO_CUSTOM_KERNEL, "forward made no call into the solution's own extension"
                        + (f" ({', '.join(extensions)})" if extensions else " (none was loaded)")
                        + " and launched none of its own Triton kernels")], details
    return [], details


def finish(report: Finished, network: Sequence[str] = ()) -> list[Finding]:
    """What the candidate's guards saw over the whole case (an empty report when it died),
    and the network use its sandbox's counters show (the sandbox has loopback only)."""
    out = []
    if network:
        out.append(Finding(SANDBOX_VIOLATION, "used the network (the sandbox has loopback only): "
                                              + ", ".join(network)))
    if report.tampered:
        out.append(Finding(TAMPERING, "replaced: " + ", ".join(report.tampered[:10])))
    if report.inspected:
        out.append(Finding(TAMPERING, "read the interpreter's frames or objects, where the "
                                      "harness keeps its own state: " + "; ".join(report.inspected[:5])))
    if report.violations:
        out.append(Finding(SANDBOX_VIOLATION, "; ".join(report.violations[:5])))
    return out


@dataclass(frozen=True)
class TimingRules:
    """The thresholds timing findings use (from TimingCfg and CheckCfg)."""
    unsynced_gap_ms: float
    unsynced_ratio: float
    tamper_slack: float
    tamper_jitter_ms: float
    roofline_slack: float
    launch_bound_factor: float
    warm_cache: bool


@dataclass(frozen=True)
class SideTimes:
    """One side's timed calls as the judge needs them: per-call device and synced wall times,
    the runner's own clock over the steady rounds against what the worker reported there."""
    device_ms: Sequence[float]
    wall_ms: Sequence[float]
    runner_ms: float
    reported_ms: float
    rounds: int
    threads_grew: Optional[bool]


def timing(ref: SideTimes, cand: SideTimes, t: Timing, rules: TimingRules) -> list[Finding]:
    out = []
    if ref.threads_grew is False and cand.threads_grew:
        out.append(Finding(UNSYNCED_WORK, "threads were left running after timed calls"))
    # Work on a side stream escapes the events but not the device-wide sync: the candidate's
    # synced wall time, less the sync overhead the reference shows, is what it really took.
    rgap = median(ref.wall_ms) - median(ref.device_ms)
    cdev, cwall = median(cand.device_ms), median(cand.wall_ms)
    real = cwall - max(rgap, 0.0)
    if real - cdev > rules.unsynced_gap_ms and cdev < rules.unsynced_ratio * real:
        out.append(Finding(UNSYNCED_WORK, f"timed calls took {real:.4g} ms of synchronized wall "
                                          f"time (after sync overhead) but {cdev:.4g} ms on the "
                                          "timer: work ran outside the timed stream"))
    # The runner's own clock: time a worker does not report is IPC and checks, about the same
    # for both sides per round; far more on the candidate's side means it under-reports.
    k = cand.rounds
    if k > 0:
        unexplained = (cand.runner_ms - cand.reported_ms) - (ref.runner_ms - ref.reported_ms)
        if unexplained > rules.tamper_slack * cand.runner_ms + rules.tamper_jitter_ms * k:
            out.append(Finding(TAMPERING, f"the runner's clock saw {unexplained:.4g} ms more than "
                                          f"the candidate reported over {k} rounds"))
    if t.floor_ms and not rules.warm_cache and t.cand_median_ms < rules.roofline_slack * t.floor_ms:
        out.append(Finding(BEYOND_ROOFLINE, f"{t.cand_median_ms:.4g} ms is under the floor of "
                                            f"{t.floor_ms:.4g} ms that writing the output and "
                                            "reading the inputs it depends on take at this "
                                            "device's measured bandwidth"))
    return out + timing_caveats(t, rules.launch_bound_factor)


def timing_caveats(t: Timing, launch_bound_factor: float) -> list[Finding]:
    """Facts about the measurement, not about the solution: shown beside the number."""
    out = []
    if t.overhead_ms and t.ref_median_ms < launch_bound_factor * t.overhead_ms:
        out.append(Finding(LAUNCH_BOUND, f"reference {t.ref_median_ms:.4g} ms is within "
                                         f"{launch_bound_factor:g}x of an empty forward "
                                         f"({t.overhead_ms:.4g} ms)"))
    lo, hi = t.speedup_ci
    if lo <= 1.0 <= hi:
        out.append(Finding(SPEEDUP_UNCERTAIN, f"95% CI of the speedup is {lo:.3f}-{hi:.3f}"))
    if not t.converged:
        out.append(Finding(NOT_CONVERGED, f"stopped after {t.rounds} rounds ({t.ref_calls} and "
                                          f"{t.cand_calls} calls) with a median CI wider than "
                                          "the target"))
    return out
