"""One case, start to verdict: extract -> build -> reference -> candidate -> compare -> time.

This runs in the runner process, which never imports solution code and never touches CUDA:
the two workers do, and everything they say is checked here.
"""
from __future__ import annotations

import datetime as _dt
import hashlib
import json
import re
import shutil
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Optional

from omegaconf import OmegaConf

from . import __version__, roofline
from .build import Build, build, ext_dir_for
from .compare import compare, weak_problem
from .config import EvalCfg, config_hash
from .device import DeviceInfo
from .extract import code_hash, extract
from .problem import ProblemError, file_hash
from .proc import Worker, WorkerFailed, device_env
from .store import Store
from .timing import Schedule, Side, interleave, iqr, median, median_ci, ratio_ci, seed_source
from .verdict import (BEYOND_ROOFLINE, INPUT_MUTATED, LAUNCH_BOUND, NO_CUSTOM_KERNEL, NOT_A_TENSOR,
                      SANDBOX_VIOLATION, TAMPERING, UNSYNCED_WORK, WEAK_PROBLEM, Errors, Outcome,
                      Timing, Verdict)

MAX_SOLUTION_BYTES = 4 << 20
PEAKS_FILE = "peaks-v2.json"   # bump when roofline.measure_peaks changes what it measures
_KERNEL_DEF = re.compile(r"__global__\s+(?:__launch_bounds__\s*\([^)]*\)\s*)?(?:static\s+)?"
                         r"(?:[\w:<>,\s\*]+?\s+)?(\w+)\s*(?:<[^>]*>)?\s*\(")
_TRITON_DEF = re.compile(r"@triton\.(?:jit|autotune)[^\n]*\n(?:\s*@[^\n]*\n)*\s*def\s+(\w+)")


class CaseEnd(Exception):
    """The case is decided before the end (error, crash, timeout, wrong output)."""

    def __init__(self, outcome: Outcome, message: str):
        super().__init__(message)
        self.outcome, self.message = outcome, message


@dataclass
class Source:
    """A solution as read from disk: the code to build, or why there is none."""
    code: Optional[str]
    block: Optional[int]
    reason: str
    hash: str
    unreadable: bool = False   # load_error (not even text), as opposed to no_code (no ModelNew)


def read_solution(path: Path) -> Source:
    """Never raises for a bad solution file: that is the solution's outcome, not the runner's."""
    def bad(reason: str) -> Source:
        return Source(None, None, reason, code_hash(f"unreadable:{path}:{reason}"), True)

    if path.is_dir():
        return bad(f"{path} is a directory, not a solution file")
    try:
        size = path.stat().st_size
        if size > MAX_SOLUTION_BYTES:
            return bad(f"{path} is {size / 2**20:.0f} MiB, over the {MAX_SOLUTION_BYTES >> 20} MiB limit")
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as e:
        return bad(f"{path} is not UTF-8 text ({e.reason} at byte {e.start})")
    except OSError as e:
        return bad(f"cannot read {path}: {e.strerror}")
    ex = extract(text, is_python_file=path.suffix == ".py")
    return Source(ex.code, ex.block, ex.reason, code_hash(ex.code) if ex.code else code_hash(text))


def kernel_names(code: str) -> set[str]:
    """__global__ functions and Triton kernels the solution defines itself."""
    return set(_KERNEL_DEF.findall(code)) | set(_TRITON_DEF.findall(code))


def _peaks(cache_dir: Path, hardware: str) -> Optional[dict[str, float]]:
    f = cache_dir / PEAKS_FILE
    try:
        return json.loads(f.read_text()).get(hardware)
    except (OSError, ValueError):
        return None


def _save_peaks(cache_dir: Path, hardware: str, peaks: dict[str, float]) -> None:
    f = cache_dir / PEAKS_FILE
    try:
        data = json.loads(f.read_text())
    except (OSError, ValueError):
        data = {}
    data[hardware] = peaks
    tmp = f.with_suffix(f".{uuid.uuid4().hex[:6]}.tmp")
    tmp.write_text(json.dumps(data, indent=1))
    tmp.replace(f)


Prepared = tuple[Source, Optional[Path], Optional[Build]]


def prepare(solution: Path, cfg: EvalCfg, device: str) -> Prepared:
    """Read, extract and build a solution: everything before a worker runs it (no GPU needed)."""
    src = read_solution(solution)
    if src.code is None:
        return src, None, None
    cache_dir = Path(cfg.cache_dir).resolve()
    ext_dir = ext_dir_for(cache_dir, src.hash, device)
    ext_dir.mkdir(parents=True, exist_ok=True)
    code_file = ext_dir / "solution.py"
    if not code_file.exists():
        tmp = ext_dir / f"solution.{uuid.uuid4().hex[:6]}.tmp"
        tmp.write_text(src.code, encoding="utf-8")
        tmp.replace(code_file)
    b = build(code_file, src.hash, cache_dir, device, timeout=cfg.limits.build_s,
              jobs=cfg.build.jobs, cuda_arch=cfg.build.cuda_arch,
              cache_failures=cfg.build.cache_failures, pch=cfg.build.pch)
    return src, code_file, b


def new_worker(cfg: EvalCfg, role: str, scratch: Path, env: dict[str, str]) -> Worker:
    # The output limit is for untrusted code; the reference may compile (torch.compile).
    limit = cfg.limits.output_mb if role == "candidate" else 4096
    return Worker(role, scratch / role, env, file_limit_mb=limit,
                  max_message_mb=cfg.limits.max_message_mb)


class Spares:
    """A reference/candidate pair started ahead of its case, one at a time per evaluator: a fresh
    worker spends seconds importing torch, which a batch need not wait for. Workers learn their
    case (problem, solution, extension folder) only from the load request."""

    def __init__(self, cfg: EvalCfg, dev: DeviceInfo):
        self.cfg, self.env = cfg, device_env(dev.device, cfg.timing.cpu_threads)[0]
        self.scratch_root = Path(cfg.cache_dir).resolve() / "scratch"
        self.ready: Optional[tuple[Path, tuple[Worker, Worker]]] = None

    def _start(self) -> tuple[Path, tuple[Worker, Worker]]:
        scratch = self.scratch_root / f"case-{uuid.uuid4().hex[:12]}"
        return scratch, (new_worker(self.cfg, "reference", scratch, self.env),
                         new_worker(self.cfg, "candidate", scratch, self.env))

    def take(self) -> tuple[Path, tuple[Worker, Worker]]:
        pair, self.ready = self.ready, self._start()
        if pair is not None and all(w.alive() for w in pair[1]):
            return pair
        if pair is not None:   # died while waiting (killed, out of memory): never hand it out
            self._discard(pair)
        return self._start()

    def close(self) -> None:
        if self.ready is not None:
            self._discard(self.ready)
            self.ready = None

    @staticmethod
    def _discard(pair: tuple[Path, tuple[Worker, Worker]]) -> None:
        for w in pair[1]:
            w.kill()
        shutil.rmtree(pair[0], ignore_errors=True)


class Case:
    def __init__(self, problem: Path, solution: Path, cfg: EvalCfg, dev: DeviceInfo,
                 store_path: Optional[str] = None, prebuilt: Optional[Prepared] = None,
                 spares: Optional[Spares] = None):
        self.problem, self.solution, self.cfg, self.dev = problem, solution, cfg, dev
        self.prebuilt = prebuilt
        self.spares = spares
        self.cache_dir = Path(cfg.cache_dir).resolve()
        self.store_path = store_path
        self.new_seed = seed_source(cfg.seed)
        self.verdict = Verdict(
            problem=str(problem), solution=str(solution), outcome=Outcome.OK,
            problem_hash=file_hash(problem), device=dev.device, hardware=dev.hardware,
            versions=dev.versions(__version__), config_hash=config_hash(cfg),
            created=_dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"))
        self.workers: list[Worker] = []
        self.scratch = self.cache_dir / "scratch" / f"case-{uuid.uuid4().hex[:12]}"
        self._stage_t = time.monotonic()

    # -- bookkeeping -----------------------------------------------------------------------------
    def _stage(self, name: str) -> None:
        now = time.monotonic()
        self.verdict.durations[name] = round(now - self._stage_t, 3)
        self._stage_t = now

    def _ask(self, worker: Worker, msg: dict[str, Any], timeout: float, stage: str) -> dict[str, Any]:
        """One request; its wall time adds to details["requests"] under role.op, so that a
        case's cost can be read off its verdict (worker starts show up in the first request)."""
        t0 = time.monotonic()
        try:
            reply = worker.request(msg, timeout)
        except WorkerFailed as e:
            f = e.failure
            if f.kind == "timeout":
                raise CaseEnd(Outcome.TIMEOUT, f"{stage}: no answer within {timeout:g} s (killed)")
            raise CaseEnd(Outcome.CRASHED, f"{stage}: worker {f.message}")
        finally:
            spent = self.verdict.details.setdefault("requests", {})
            key = f"{worker.role}.{msg.get('op')}"
            spent[key] = round(spent.get(key, 0.0) + time.monotonic() - t0, 3)
        if "error" in reply:
            kind = reply.get("kind")
            outcome = {"load": Outcome.LOAD_ERROR, "compile": Outcome.COMPILE_ERROR}.get(kind, Outcome.RUNTIME_ERROR)
            raise CaseEnd(outcome, f"{stage}: {reply['error']}")
        return reply

    def _worker(self, role: str, env: dict[str, str]) -> Worker:
        w = new_worker(self.cfg, role, self.scratch, env)
        self.workers.append(w)
        return w

    # -- the case ----------------------------------------------------------------------------------
    def run(self) -> Verdict:
        t0 = time.monotonic()
        try:
            self._run()
        except CaseEnd as end:
            self.verdict.outcome = end.outcome
            self.verdict.message = end.message[:8000]
        finally:
            for w in self.workers:
                w.close()
            shutil.rmtree(self.scratch, ignore_errors=True)
            self.verdict.durations["total"] = round(time.monotonic() - t0, 3)
        return self.verdict

    def _run(self) -> None:
        v, cfg = self.verdict, self.cfg
        src, code_file, b = self.prebuilt or prepare(self.solution, self.cfg, self.dev.device)
        v.solution_hash, v.code_block = src.hash, src.block
        if b is None:
            raise CaseEnd(Outcome.LOAD_ERROR if src.unreadable else Outcome.NO_CODE, src.reason)
        assert code_file is not None
        ext_dir = b.ext_dir
        v.details["build"] = {"cached": b.cached, "seconds": round(b.seconds, 3),
                              "extensions": b.extensions, "pch": b.pch}
        self._stage("build")
        if not b.ok:
            raise CaseEnd(b.outcome or Outcome.COMPILE_ERROR, b.message)

        env, device = device_env(self.dev.device, cfg.timing.cpu_threads)
        seeds = {"init": self.new_seed(), "warm": self.new_seed(),
                 "trials": [self.new_seed() for _ in range(cfg.check.trials)],
                 "reuse": self.new_seed() if cfg.check.reuse_check else None,
                 "sets": [self.new_seed() for _ in range(max(1, cfg.timing.rotate_sets))],
                 "ordered": self.new_seed() if self.dev.device != "cpu" else None,
                 "checks": []}
        v.seeds = seeds
        trial_seeds = seeds["trials"] + ([seeds["reuse"]] if seeds["reuse"] else [])
        load = {"op": "load", "problem": str(self.problem.resolve()), "device": device,
                "init_seed": seeds["init"], "warm_seed": seeds["warm"]}
        run = {"op": "run", "seeds": trial_seeds, "reuse": bool(seeds["reuse"]),
               "delay_s": cfg.check.unsynced_delay_s}

        # Reference first, in its own process: the candidate never shares one with its outputs.
        # The candidate's process starts now too (importing torch takes seconds) but is given
        # the solution only once the reference's outputs exist.
        if self.spares is not None:
            self.scratch, (ref, cand) = self.spares.take()
            self.workers += [ref, cand]
        else:
            ref, cand = (self._worker(role, env) for role in ("reference", "candidate"))
        try:
            self._ask(ref, load, cfg.limits.load_s, "reference load")
            ref_trials = self._ask(ref, {**run, "profile": False}, cfg.limits.step_s, "reference run")["trials"]
            ordered_ref = self._ask(ref, {**run, "seeds": [seeds["ordered"]], "reuse": False, "profile": False},
                               cfg.limits.step_s, "reference run")["trials"][0]["output"] \
                if seeds["ordered"] else None
        except CaseEnd as e:
            raise ProblemError(f"{self.problem}: the reference failed: {e.message}") from None
        ref_outputs = [t["output"] for t in ref_trials]
        weak = weak_problem(ref_outputs[: cfg.check.trials], cfg.check.tolerances, cfg.check.weak_margin)
        if weak:
            v.flag(WEAK_PROBLEM, weak)
        self._stage("reference")

        store = [self.store_path, f"{self.store_path}-wal", f"{self.store_path}-shm"] if self.store_path else []
        info = self._ask(cand, {**load, "solution": str(code_file), "ext_dir": str(ext_dir),
                           "write_roots": [str(cand.scratch), str(ext_dir)],
                           "forbidden": [str(self.cache_dir)] + [str(Path(s).resolve()) for s in store],
                           "allowed_reads": [str(ext_dir), str(cand.scratch)]},
                    cfg.limits.load_s, "load")
        try:
            cand_trials = self._ask(cand, {**run, "profile": self.dev.device != "cpu"},
                               cfg.limits.step_s, "forward")["trials"]
            self._judge_trials(ref_trials, cand_trials, src.code, info)
            if seeds["ordered"]:
                out = self._ask(cand, {"op": "ordered", "seed": seeds["ordered"]}, cfg.limits.step_s,
                           "forward")["output"]
                m = compare(ordered_ref, out, cfg.check.tolerances)
                if not m.ok:
                    v.flag(UNSYNCED_WORK, "forward did not wait for the caller's stream: with its "
                                          f"inputs made ready late on that stream, {m.message}")
                    raise CaseEnd(Outcome.INCORRECT, "stream-order trial (inputs ready late on the "
                                                     f"caller's stream): {m.message}")
            self._stage("candidate")
            if cfg.timing.enabled:
                self._time(ref, cand, seeds)
        finally:
            self._finish(cand)

    # -- judging -------------------------------------------------------------------------------------
    def _judge_trials(self, ref_trials: list, cand_trials: list, code: str, info: dict) -> None:
        v, cfg = self.verdict, self.cfg
        worst = Errors()
        failure = None
        for i, (r, c) in enumerate(zip(ref_trials, cand_trials)):
            obs, robs = c["obs"], r["obs"]
            self._observe(obs, robs, i)
            m = compare(r["output"], c["output"], cfg.check.tolerances)
            if m.errors.rel_norm >= worst.rel_norm:
                worst = Errors(m.errors.max_abs, m.errors.max_rel, m.errors.rel_norm, i)
            if not m.ok and failure is None:
                label = "reused-storage trial" if i == cfg.check.trials else f"trial {i + 1}"
                failure = f"{label}: {m.message}"
        v.errors = worst
        calls = sum(c["obs"].get("ext_calls", 0) for c in cand_trials)
        ran = [k for k, _ in cand_trials[0]["obs"].get("kernels", [])]
        own = kernel_names(code)
        v.details["kernels"] = {"defined": sorted(own), "ran": ran[:20], "extension_calls": calls}
        if self.dev.device != "cpu" and own:
            matched = [k for k in ran if any(re.search(rf"\b{re.escape(n)}\b", k) for n in own)]
            if not matched:
                v.flag(NO_CUSTOM_KERNEL, f"none of the solution's kernels ({', '.join(sorted(own))}) "
                                         f"ran during forward; ran: {', '.join(ran[:5]) or 'nothing'}")
            else:
                total = sum(t for _, t in cand_trials[0]["obs"]["kernels"]) or 1.0
                mine = sum(t for k, t in cand_trials[0]["obs"]["kernels"] if k in matched)
                v.details["kernels"]["own_share"] = round(mine / total, 4)
        elif calls == 0:
            exts = info.get("extensions") or []
            v.flag(NO_CUSTOM_KERNEL, "forward made no call into the solution's own extension"
                   + (f" ({', '.join(exts)})" if exts else " (none was loaded)"))
        if failure:
            raise CaseEnd(Outcome.INCORRECT, failure)

    def _observe(self, obs: dict, robs: dict, i: int) -> None:
        v = self.verdict
        if obs["checksum"] != robs["checksum"]:
            v.flag(TAMPERING, f"trial {i + 1}: the inputs the candidate saw differ from the "
                              "reference's for the same seed (input generation was patched)")
        if obs["changed_after_return"]:
            v.flag(UNSYNCED_WORK, f"trial {i + 1}: the output changed after forward returned")
        if obs["threads_after"] > robs["threads_after"]:
            v.flag(UNSYNCED_WORK, f"trial {i + 1}: forward left {obs['threads_after']} new thread(s) "
                                  "running")
        if obs["children_after"] > robs["children_after"]:
            v.flag(UNSYNCED_WORK, f"trial {i + 1}: {obs['children_after']} child process(es) still "
                                  "running after forward returned")
        if obs["input_mutated"] and not robs["input_mutated"]:
            v.flag(INPUT_MUTATED, f"trial {i + 1}: forward changed its inputs in place")
        if obs["aliases_input"] and not robs["aliases_input"]:
            v.flag(INPUT_MUTATED, f"trial {i + 1}: the output shares storage with an input")
        if obs["not_plain"]:
            v.flag(NOT_A_TENSOR, f"trial {i + 1}: output of type {', '.join(obs['not_plain'])}")

    def _finish(self, cand: Worker) -> None:
        v = self.verdict
        try:
            report = cand.request({"op": "finish"}, 30)
        except WorkerFailed:
            return
        if report.get("tampered"):
            v.flag(TAMPERING, "replaced: " + ", ".join(report["tampered"][:10]))
        if report.get("violations"):
            v.flag(SANDBOX_VIOLATION, "; ".join(report["violations"][:5]))

    # -- timing ----------------------------------------------------------------------------------------
    def _time(self, ref: Worker, cand: Worker, seeds: dict) -> None:
        v, cfg, t = self.verdict, self.cfg, self.cfg.timing
        start = time.monotonic()
        hw = self.dev.hardware
        peaks = _peaks(self.cache_dir, hw)
        probe = self._ask(ref, {"op": "probe", "seed": seeds["sets"][0], "cache": t.cache,
                           "flush_bytes": t.flush_bytes, "peaks": peaks is None},
                     max(self.cfg.limits.step_s, 300), "reference probe")
        if peaks is None:
            peaks = probe["peaks"]
            _save_peaks(self.cache_dir, hw, peaks)
        graph = t.cuda_graph and self.dev.device != "cpu"
        base = {"op": "time", "cache": t.cache, "rotate_sets": t.rotate_sets,
                "flush_bytes": t.flush_bytes, "lead_us": t.lead_us, "set_seeds": seeds["sets"], "graph": graph,
                "warmup_calls": t.warmup_calls, "warmup_s": t.warmup_s, "compile_mode": t.compile_mode}
        workers = {"ref": ref, "cand": cand, "compiled": ref}
        baseline = self._cached_baseline() if t.cached_baseline else None
        sides = ("cand",) if baseline else ("ref", "cand")
        sides += ("compiled",) if t.compile_baseline else ()

        def time_round(who: str, n: int, checks: list[int], warmup: bool) -> tuple[dict, float]:
            t0 = time.monotonic()
            stage = "timed forward" if who == "cand" else "reference timing"
            variant = "compiled" if who == "compiled" else "eager"
            # torch.compile's first call compiles: give that round the probe's allowance
            limit = max(self.cfg.limits.step_s, 600) if warmup and variant == "compiled" else \
                self.cfg.limits.step_s
            reply = self._ask(workers[who], {**base, "n": n, "check_seeds": checks, "warmup": warmup,
                                        "variant": variant}, limit, stage)
            return reply, (time.monotonic() - t0) * 1e3

        def new_check_seed() -> int:
            s = self.new_seed()
            seeds["checks"].append(s)
            return s

        sched = Schedule(t.round_calls, t.min_calls, t.max_calls, t.rel_ci, t.budget_s,
                         self.cfg.check.timed_checks)
        try:
            got, rounds, converged = interleave(time_round, sched, new_check_seed, sides)
        except CaseEnd as e:
            if e.message.startswith("reference"):
                raise ProblemError(f"{self.problem}: the reference failed: {e.message}") from None
            raise
        if baseline:
            rs = baseline
            check_seeds = [seed for seed, _ in got["cand"].checks]
            outs = self._ask(ref, {"op": "run", "seeds": check_seeds, "reuse": False, "delay_s": 0.0,
                              "profile": False}, self.cfg.limits.step_s, "reference run")["trials"]
            rs.checks = [(seed, o["output"]) for seed, o in zip(check_seeds, outs)]
        else:
            rs = got["ref"]
            if t.cached_baseline:
                self._save_baseline(rs)
        cs = got["cand"]
        v.details["baseline"] = "cached" if baseline else "side by side"
        for (seed, r_out), (_, c_out) in zip(rs.checks, cs.checks):
            m = compare(r_out, c_out, self.cfg.check.tolerances)
            if not m.ok:
                raise CaseEnd(Outcome.INCORRECT, f"timed call with fresh inputs: {m.message}")

        rm, cm = median(rs.device_ms), median(cs.device_ms)
        floor = roofline.floor_ms(probe, peaks)
        timing = Timing(
            ref_median_ms=rm, cand_median_ms=cm, ref_iqr_ms=iqr(rs.device_ms),
            cand_iqr_ms=iqr(cs.device_ms), ref_ci_ms=median_ci(rs.device_ms),
            cand_ci_ms=median_ci(cs.device_ms), ref_calls=len(rs.device_ms),
            cand_calls=len(cs.device_ms), speedup=rm / cm if cm > 0 else float("inf"),
            speedup_ci=ratio_ci(rs.device_ms, cs.device_ms, t.bootstrap),
            cache=t.cache, clock="host" if self.dev.device == "cpu" else
            ("cuda_graph" if graph else "cuda_events"),
            rounds=rounds, converged=converged, overhead_ms=probe["overhead_ms"], floor_ms=floor,
            speed_of_light=floor / cm if cm > 0 else None, seconds=round(time.monotonic() - start, 3))
        if "compiled" in got:
            timing.compile_median_ms = median(got["compiled"].device_ms)
            timing.speedup_vs_compile = timing.compile_median_ms / cm if cm > 0 else None
        v.timing = timing
        v.details["work"] = {"flops": probe["flops"], "bytes": probe["bytes"], "peaks": peaks}
        self._judge_timing(rs, cs, timing)
        self._stage("timing")

    # -- cached reference timings (opt-in: timing.cached_baseline) -------------------------------
    def _baseline_key(self) -> tuple[str, str, str, str]:
        import dataclasses
        t = OmegaConf.to_container(self.cfg.timing) if OmegaConf.is_config(self.cfg.timing) \
            else dataclasses.asdict(self.cfg.timing)
        th = hashlib.sha256(json.dumps(t, sort_keys=True).encode()).hexdigest()[:16]
        return self.verdict.problem_hash, self.dev.hardware, self.dev.torch, th

    def _cached_baseline(self) -> Optional[Side]:
        if not self.store_path:
            return None
        with Store(self.store_path) as store:
            found = store.ref_timing(*self._baseline_key())
        return Side(**{k: found[k] for k in ("device_ms", "wall_ms", "round_wall_ms", "round_calls")}) \
            if found else None

    def _save_baseline(self, side: Side) -> None:
        if self.store_path:
            with Store(self.store_path) as store:
                store.put_ref_timing(*self._baseline_key(), {
                    "device_ms": side.device_ms, "wall_ms": side.wall_ms,
                    "round_wall_ms": side.round_wall_ms, "round_calls": side.round_calls})

    def _judge_timing(self, rs: Any, cs: Any, timing: Timing) -> None:
        v, t = self.verdict, self.cfg.timing
        if rs.threads_grew is False and cs.threads_grew:
            v.flag(UNSYNCED_WORK, "threads were left running after timed calls")
        # Work on a side stream escapes the events but not the device-wide sync: the candidate's
        # synced wall time, less the sync overhead the reference shows, is what it really took.
        rgap = median(rs.wall_ms) - median(rs.device_ms)
        cdev, cwall = median(cs.device_ms), median(cs.wall_ms)
        real = cwall - max(rgap, 0.0)
        if real - cdev > t.unsynced_gap_ms and cdev < t.unsynced_ratio * real:
            v.flag(UNSYNCED_WORK, f"timed calls took {real:.4g} ms of synchronized wall time (after "
                                  f"sync overhead) but {cdev:.4g} ms on the timer: work ran outside "
                                  "the timed stream")
        # The runner's own clock: time a worker does not report is IPC and checks, about the same
        # for both sides per round; far more on the candidate's side means it under-reports.
        r_run, r_rep, k = rs.steady()
        c_run, c_rep, _ = cs.steady()
        if k > 0:
            unexplained = (c_run - c_rep) - (r_run - r_rep)
            if unexplained > t.tamper_slack * c_run + t.tamper_jitter_ms * k:
                v.flag(TAMPERING, f"the runner's clock saw {unexplained:.4g} ms more than the "
                                  f"candidate reported over {k} rounds")
        slack = self.cfg.check.roofline_slack_cpu if self.dev.device == "cpu" else \
            self.cfg.check.roofline_slack
        if timing.floor_ms and t.cache != "warm" and timing.cand_median_ms < slack * timing.floor_ms:
            v.flag(BEYOND_ROOFLINE, f"{timing.cand_median_ms:.4g} ms is under the floor of "
                                    f"{timing.floor_ms:.4g} ms set by bytes and FLOPs")
        if timing.overhead_ms and timing.ref_median_ms < t.launch_bound_factor * timing.overhead_ms:
            v.caveat(LAUNCH_BOUND, f"reference {timing.ref_median_ms:.4g} ms is within "
                                 f"{t.launch_bound_factor:g}x of an empty forward "
                                 f"({timing.overhead_ms:.4g} ms)")


def evaluate(problem: str | Path, solution: str | Path, cfg: EvalCfg, dev: DeviceInfo,
             store_path: Optional[str] = None, prebuilt: Optional[Prepared] = None,
             spares: Optional[Spares] = None) -> Verdict:
    return Case(Path(problem), Path(solution), cfg, dev, store_path, prebuilt, spares).run()
