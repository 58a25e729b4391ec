"""The timing stage, as the runner drives it: the two workers take turns on the same device
(timing.interleave), a sample of timed calls run on fresh inputs whose outputs are checked,
and the runner's own clock is kept beside what the workers report, for the judge."""
from __future__ import annotations

import dataclasses
import hashlib
import json
import time
from pathlib import Path
from typing import Any, Callable, Optional

from omegaconf import OmegaConf

from . import judge, protocol as P, roofline
from .config import EvalCfg
from .device import DeviceInfo
from .proc import WorkerProcess
from .reference import Seeds
from .store import Store
from .talk import CaseEnd, Talk
from .timing import Schedule, Side, interleave, iqr, median, median_ci, ratio_ci
from .trials import compare
from .verdict import INTERPRETER_CLOCK, Outcome, Timing


@dataclasses.dataclass(frozen=True)
class Place:
    """Where the stage runs and keeps what outlives a case (device peaks, cached baselines)."""
    dev: DeviceInfo
    cache_dir: Path
    store_path: Optional[str]


def run(talk: Talk, ref: WorkerProcess, cand: WorkerProcess, seeds: Seeds, new_seed: Callable[[], int],
        check_seeds: list[int], out_bytes: int, cfg: EvalCfg, where: Place) -> None:
    """Fills the verdict's timing and its timing findings; `check_seeds` gets the fresh seeds
    of the checked timed calls (recorded on the verdict); `out_bytes`: one output's size.
    Raises CaseEnd (side "reference" when the reference failed) or on a wrong output."""
    v, t, dev = talk.verdict, cfg.timing, where.dev
    start = time.monotonic()
    peaks = roofline.cached_peaks(where.cache_dir, dev.hardware)
    probe = talk.ask(ref, P.Probe(seeds.sets[0], t.cache, t.flush_bytes, cfg.check.roofline_probes,
                                  peaks is None),
                     max(cfg.limits.step_s, cfg.limits.probe_s), "reference probe", P.Probed)
    if peaks is None:
        if probe.peaks is None:
            raise CaseEnd(Outcome.CRASHED, "reference probe: no device peaks in the answer", "reference")
        peaks = probe.peaks
        roofline.save_peaks(where.cache_dir, dev.hardware, peaks)
    graph = t.cuda_graph and dev.device != "cpu"
    workers = {"ref": ref, "cand": cand, "compiled": ref}
    baseline = _cached_baseline(cfg, v.problem_hash, where) if t.cached_baseline else None
    sides: tuple[str, ...] = ("cand",) if baseline else ("ref", "cand")
    sides += ("compiled",) if t.compile_baseline else ()

    def time_round(who: str, n: int, checks: list[int], warmup: bool) -> tuple[P.Timed, float]:
        t0 = time.monotonic()
        stage = "timed forward" if who == "cand" else "reference timing"
        variant = "compiled" if who == "compiled" else "eager"
        lim = cfg.limits
        if who == "cand":
            limit = talk.limit("round")
        elif warmup and variant == "compiled":   # torch.compile's first call compiles
            limit = max(lim.step_s, lim.compile_s)
        else:
            limit = lim.step_s
        req = P.Time(n, seeds.sets, t.cache, t.flush_bytes, t.lead_us, warmup, t.warmup_calls,
                     t.warmup_s, t.rotate_sets, tuple(checks), graph, variant, t.compile_mode, t.poison)
        reply = talk.ask(workers[who], req, limit, stage, P.Timed)
        if who == "ref":
            talk.ref_s["round"] = max(talk.ref_s.get("round", 0.0), talk.last_s)
        ms = (time.monotonic() - t0) * 1e3
        if len(reply.device_ms) != n or len(reply.wall_ms) != n or \
                min(reply.device_ms + reply.wall_ms, default=0.0) < 0:
            raise CaseEnd(Outcome.CRASHED, f"{stage}: {len(reply.device_ms)} times for {n} calls, "
                                           f"or a negative one", workers[who].role)
        if who == "cand":   # its check outputs come by a request of their own (see P.Timed)
            got = talk.ask(cand, P.Checks(), talk.limit("round", len(checks) * out_bytes), stage,
                           P.CheckOutputs).checks if checks else ()
            if len(got) != len(checks):
                raise CaseEnd(Outcome.CRASHED, f"{stage}: {len(got)} outputs for {len(checks)} "
                                               "checked calls")
            reply = dataclasses.replace(reply, checks=got)
        return reply, ms

    def new_check_seed() -> int:
        s = new_seed()
        check_seeds.append(s)
        return s

    sched = Schedule(t.round_calls, t.min_calls, t.max_calls, t.rel_ci, t.budget_s,
                     cfg.check.timed_checks)
    got, rounds, converged = interleave(time_round, sched, new_check_seed, sides)
    if baseline:
        rs = baseline
        cseeds = tuple(seed for seed, _ in got["cand"].checks)
        outs = talk.ask(ref, P.Run(cseeds), cfg.limits.step_s, "reference run", P.Trials).trials
        rs.checks = [(seed, o.key) for seed, o in zip(cseeds, outs)]
    else:
        rs = got["ref"]
        if t.cached_baseline:
            _save_baseline(cfg, v.problem_hash, where, rs)
    cs = got["cand"]
    v.details["baseline"] = "cached" if baseline else "side by side"
    for m in compare(talk, ref, [(key, out) for (_, key), (_, out) in zip(rs.checks, cs.checks)], cfg):
        if not m.ok:
            raise CaseEnd(Outcome.INCORRECT, f"timed call with fresh inputs: {m.message}")

    rm, cm = median(rs.device_ms), median(cs.device_ms)
    floor, ref_work = roofline.floor_ms(probe.work, peaks), roofline.reference_work_ms(probe.work, peaks)
    host = INTERPRETER_CLOCK if v.details["kernels"].get("triton_launches") else "host"
    timing = Timing(
        ref_median_ms=rm, cand_median_ms=cm, ref_iqr_ms=iqr(rs.device_ms),
        cand_iqr_ms=iqr(cs.device_ms), ref_ci_ms=median_ci(rs.device_ms),
        cand_ci_ms=median_ci(cs.device_ms), ref_calls=len(rs.device_ms),
        cand_calls=len(cs.device_ms), speedup=rm / cm if cm > 0 else float("inf"),
        speedup_ci=ratio_ci(rs.rounds(), cs.rounds(), t.bootstrap, paired=not baseline),
        cache=t.cache, clock=host if dev.device == "cpu" else ("cuda_graph" if graph else "cuda_events"),
        rounds=rounds, converged=converged, overhead_ms=probe.overhead_ms, floor_ms=floor,
        reference_work_ms=ref_work, speed_of_light=ref_work / cm if cm > 0 else None,
        seconds=round(time.monotonic() - start, 3))
    if "compiled" in got:
        timing.compile_median_ms = median(got["compiled"].device_ms)
        timing.speedup_vs_compile = timing.compile_median_ms / cm if cm > 0 else None
    v.timing = timing
    v.details["work"] = {k: probe.work.get(k) for k in ("flops", "bytes", "needed_bytes", "inputs_needed")}
    v.details["work"]["peaks"] = peaks
    rules = judge.TimingRules(
        t.unsynced_gap_ms, t.unsynced_ratio, t.tamper_slack, t.tamper_jitter_ms,
        cfg.check.roofline_slack_cpu if dev.device == "cpu" else cfg.check.roofline_slack,
        t.launch_bound_factor, warm_cache=t.cache == "warm")
    v.note(judge.timing(_side_times(rs), _side_times(cs), timing, rules))


def _side_times(s: Side) -> judge.SideTimes:
    runner_ms, reported_ms, rounds = s.steady()
    return judge.SideTimes(s.device_ms, s.wall_ms, runner_ms, reported_ms, rounds, s.threads_grew)


# -- cached reference timings (opt-in: timing.cached_baseline) -------------------------------------
def _baseline_key(cfg: EvalCfg, problem_hash: str, where: Place) -> tuple[str, str, str, str]:
    t: Any = OmegaConf.to_container(cfg.timing) if OmegaConf.is_config(cfg.timing) \
        else dataclasses.asdict(cfg.timing)
    th = hashlib.sha256(json.dumps(t, sort_keys=True).encode()).hexdigest()[:16]
    return problem_hash, where.dev.hardware, where.dev.torch, th


def _cached_baseline(cfg: EvalCfg, problem_hash: str, where: Place) -> Optional[Side]:
    if not where.store_path:
        return None
    with Store(where.store_path) as store:
        found = store.ref_timing(*_baseline_key(cfg, problem_hash, where))
    return Side(**{k: found[k] for k in ("device_ms", "wall_ms", "round_wall_ms", "round_calls")}) \
        if found else None


def _save_baseline(cfg: EvalCfg, problem_hash: str, where: Place, side: Side) -> None:
    if where.store_path:
        with Store(where.store_path) as store:
            store.put_ref_timing(*_baseline_key(cfg, problem_hash, where), {
                "device_ms": side.device_ms, "wall_ms": side.wall_ms,
                "round_wall_ms": side.round_wall_ms, "round_calls": side.round_calls})
