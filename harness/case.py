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
import signal
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

from omegaconf import OmegaConf

from . import __version__, isolate, judge, roofline
from .build import Build, build, ext_dir_for
from .compare import Match
from .config import EvalCfg, config_hash
from .device import DeviceInfo
from .extract import code_hash, extract
from .problem import ProblemError, file_hash
from .proc import Worker, WorkerFailed, device_env
from .store import Store
from .tolerance import to_table
from .timing import Schedule, Side, interleave, iqr, median, median_ci, ratio_ci, seed_source
from .verdict import (INTERPRETER_CLOCK, SANDBOX_VIOLATION, UNSYNCED_WORK, WEAK_PROBLEM, Errors,
                      Outcome, Timing, Verdict)

MAX_SOLUTION_BYTES = 4 << 20
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


Prepared = tuple[Source, Optional[Path], Optional[Build]]


def prepare(solution: Path, cfg: EvalCfg, device: str) -> Prepared:
    """Read, extract and build a solution: everything before a worker runs it (no GPU needed)."""
    src = read_solution(solution)
    if src.code is None:
        return src, None, None
    cache_dir = Path(cfg.cache_dir).resolve()
    jail = isolate.jail_for(cfg, "build", device != "cpu")
    ext_dir = ext_dir_for(cache_dir, src.hash, device, jail is not None)
    ext_dir.mkdir(parents=True, exist_ok=True)
    code_file = ext_dir / "solution.py"
    if not code_file.exists():
        tmp = ext_dir / f"solution.{uuid.uuid4().hex[:6]}.tmp"
        tmp.write_text(src.code, encoding="utf-8")
        tmp.replace(code_file)
    b = build(code_file, src.hash, cache_dir, device, timeout=cfg.limits.build_s,
              jobs=cfg.build.jobs, cuda_arch=cfg.build.cuda_arch,
              cache_failures=cfg.build.cache_failures, jail=jail, pch_sets=cfg.build.pch)
    return src, code_file, b


def new_worker(cfg: EvalCfg, role: str, scratch: Path, env: dict[str, str]) -> Worker:
    # The log cap is for untrusted code; the reference may compile (torch.compile) and say so.
    limit = cfg.limits.output_mb if role == "candidate" else 4096
    jail = isolate.jail_for(cfg, role, env.get("CUDA_VISIBLE_DEVICES") != "")
    return Worker(role, scratch / role, env, output_mb=limit,
                  max_message_mb=cfg.limits.max_message_mb, jail=jail)


class Spares:
    """Reference/candidate pairs started ahead of their cases, `prestart_pairs` deep per
    evaluator: a fresh worker spends seconds importing torch and making its CUDA context, which
    a batch need not wait for, even after a case that ended at once. Workers learn their case
    (problem, solution, extension folder) only from the load request."""

    def __init__(self, cfg: EvalCfg, dev: DeviceInfo, depth: int = 1):
        self.cfg, self.env = cfg, device_env(dev.device, cfg.timing.cpu_threads)[0]
        self.scratch_root = Path(cfg.cache_dir).resolve() / "scratch"
        self.depth = max(1, depth)
        self.ready: list[tuple[Path, tuple[Worker, Worker]]] = []

    def _start(self) -> tuple[Path, tuple[Worker, Worker]]:
        scratch = self.scratch_root / f"case-{uuid.uuid4().hex[:12]}"
        return scratch, (new_worker(self.cfg, "reference", scratch, self.env),
                         new_worker(self.cfg, "candidate", scratch, self.env))

    def take(self) -> tuple[Path, tuple[Worker, Worker]]:
        while self.ready:
            pair = self.ready.pop(0)
            if all(w.alive() for w in pair[1]):
                break
            self._discard(pair)   # died while waiting (killed, out of memory): never hand it out
        else:
            pair = self._start()
        while len(self.ready) < self.depth:
            self.ready.append(self._start())
        return pair

    def close(self) -> None:
        for pair in self.ready:
            self._discard(pair)
        self.ready = []

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
        self.tols = to_table(cfg.check.tolerances)
        self.verdict = Verdict(
            problem=str(problem), solution=str(solution), outcome=Outcome.OK,
            problem_hash=file_hash(problem), device=dev.device, hardware=dev.hardware,
            versions=dev.versions(__version__), config_hash=config_hash(cfg),
            created=_dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"))
        self.workers: list[Worker] = []
        self.scratch = self.cache_dir / "scratch" / f"case-{uuid.uuid4().hex[:12]}"
        self._stage_t = time.monotonic()
        self.last_s = 0.0   # wall time of the last request

    def _limit(self, ref_s: Optional[float]) -> float:
        """A candidate request's limit, from the reference's time for the same request."""
        lim = self.cfg.limits
        return lim.step_s if ref_s is None else max(lim.cand_floor_s, lim.cand_factor * ref_s)

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
            if f.signal == signal.SIGSYS:
                self.verdict.flag(SANDBOX_VIOLATION, f"{stage}: killed by the sandbox's seccomp "
                                                     "filter for a forbidden system call")
            if f.kind == "timeout":
                raise CaseEnd(Outcome.TIMEOUT, f"{stage}: no answer within {timeout:g} s (killed)")
            raise CaseEnd(Outcome.CRASHED, f"{stage}: worker {f.message}")
        finally:
            self.last_s = time.monotonic() - t0
            spent = self.verdict.details.setdefault("requests", {})
            key = f"{worker.role}.{msg.get('op')}"
            spent[key] = round(spent.get(key, 0.0) + self.last_s, 3)
        if "error" in reply:
            kind = str(reply.get("kind"))
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
        v.details["sandbox"] = isolate.plan_for(cfg).describe()
        if b is None:
            raise CaseEnd(Outcome.LOAD_ERROR if src.unreadable else Outcome.NO_CODE, src.reason)
        assert code_file is not None and src.code is not None
        ext_dir = b.ext_dir
        v.details["build"] = {"cached": b.cached, "seconds": round(b.seconds, 3),
                              "extensions": b.extensions, "pch": b.pch}
        self._stage("build")
        if not b.ok:
            raise CaseEnd(b.outcome or Outcome.COMPILE_ERROR, b.message)

        env, device = device_env(self.dev.device, cfg.timing.cpu_threads)
        seeds: dict[str, Any] = {"init": self.new_seed(), "warm": self.new_seed(),
                 "trials": [self.new_seed() for _ in range(cfg.check.trials)],
                 "reuse": self.new_seed() if cfg.check.reuse_check else None,
                 "sets": [self.new_seed() for _ in range(max(1, cfg.timing.rotate_sets))],
                 "ordered": self.new_seed() if self.dev.device != "cpu" else None,
                 "checks": []}
        v.seeds = seeds
        trial_seeds = seeds["trials"] + ([seeds["reuse"]] if seeds["reuse"] else [])
        load = {"op": "load", "problem": str(self.problem.resolve()), "device": device,
                "init_seed": seeds["init"]}
        warm = {"op": "warm", "seed": seeds["warm"]}
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
        ref_s: dict[str, float] = {}
        try:
            self._ask(ref, load, cfg.limits.load_s, "reference load")
            ref_s["load"] = self.last_s
            self._ask(ref, warm, cfg.limits.step_s, "reference warm-up")
            ref_s["warm"] = self.last_s
            ref_trials = self._ask(ref, {**run, "profile": False}, cfg.limits.step_s, "reference run")["trials"]
            ref_s["run"] = self.last_s
            if seeds["ordered"]:
                ordered_ref = self._ask(ref, {**run, "seeds": [seeds["ordered"]], "reuse": False,
                                              "profile": False}, cfg.limits.step_s,
                                        "reference run")["trials"][0]["key"]
                ref_s["ordered"] = self.last_s
            weak = self._ask(ref, {"op": "weak", "keys": [t["key"] for t in ref_trials[: cfg.check.trials]],
                                   "tolerances": self.tols, "margin": cfg.check.weak_margin},
                             cfg.limits.step_s, "reference run")["weak"]
        except CaseEnd as e:
            raise ProblemError(f"{self.problem}: the reference failed: {e.message}") from None
        if weak:
            v.flag(WEAK_PROBLEM, str(weak))
        self._stage("reference")

        store = [self.store_path, f"{self.store_path}-wal", f"{self.store_path}-shm"] if self.store_path else []
        info = self._ask(cand, {**load, **self._expose(cand, code_file, ext_dir),
                           "forbidden": [str(self.cache_dir)] + [str(Path(s).resolve()) for s in store]},
                    cfg.limits.load_s, "load")
        # The first call may compile kernels (a JIT's first launch): allowed more, and never timed.
        jit = cfg.limits.jit_s if _TRITON_DEF.search(src.code) else 0.0
        self._ask(cand, warm, self._limit(ref_s["warm"]) + jit, "warm-up")
        try:
            cand_trials = self._ask(cand, {**run, "profile": self.dev.device != "cpu"},
                                    self._limit(ref_s["run"]), "forward")["trials"]
            self._judge_trials(ref, ref_trials, cand_trials, src.code, info)
            if seeds["ordered"]:
                out = self._ask(cand, {"op": "ordered", "seed": seeds["ordered"]},
                                self._limit(ref_s["ordered"]), "forward")["output"]
                m = self._compare(ref, [(ordered_ref, out)])[0]
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

    def _expose(self, cand: Worker, code_file: Path, ext_dir: Path) -> dict[str, Any]:
        """Where the candidate finds its files and may write: in a sandbox, copies sent into
        its tmpfs (it started before its case was known, and sees no cache); else the cache."""
        if cand.jail is None:
            return {"solution": str(code_file), "ext_dir": str(ext_dir),
                    "write_roots": [str(cand.scratch), str(ext_dir)],
                    "allowed_reads": [str(ext_dir), str(cand.scratch)]}
        files = isolate.folder(ext_dir, "ext")
        files[f"case/{self.problem.name}"] = self.problem.resolve()
        self._ask(cand, {"op": "stage", "files": isolate.pack(files)}, self.cfg.limits.load_s, "load")
        inside = [str(cand.scratch), isolate.ROOT]
        return {"problem": f"{isolate.CASE}/{self.problem.name}", "solution": f"{isolate.EXT}/{code_file.name}",
                "ext_dir": isolate.EXT, "write_roots": inside, "allowed_reads": inside}

    # -- judging -------------------------------------------------------------------------------------
    def _compare(self, ref: Worker, pairs: list[tuple[int, Any]]) -> list[Match]:
        """Candidate outputs (shared memfds, passed on unread) against the reference's kept
        ones, compared in the reference worker on its device."""
        if not pairs:
            return []
        reply = self._ask(ref, {"op": "compare", "tolerances": self.tols,
                                "pairs": [{"ref": k, "out": out} for k, out in pairs]},
                          self.cfg.limits.step_s, "comparing outputs")
        matches = reply.get("matches")
        if not isinstance(matches, list) or len(matches) != len(pairs):
            raise CaseEnd(Outcome.CRASHED, "comparing outputs: the reference worker's answer is malformed")
        return [Match.from_dict(m) for m in matches]

    def _judge_trials(self, ref: Worker, ref_trials: list, cand_trials: list, code: str,
                      info: dict) -> None:
        v, cfg = self.verdict, self.cfg
        worst = Errors()
        failure = None
        matches = self._compare(ref, [(r["key"], c["output"]) for r, c in zip(ref_trials, cand_trials)])
        for i, (r, c, m) in enumerate(zip(ref_trials, cand_trials, matches)):
            v.note(judge.trial(i, c["obs"], r["obs"]))
            if m.errors.rel_norm >= worst.rel_norm:
                worst = Errors(m.errors.max_abs, m.errors.max_rel, m.errors.rel_norm, i)
            if not m.ok and failure is None:
                label = "reused-storage trial" if i == cfg.check.trials else f"trial {i + 1}"
                failure = f"{label}: {m.message}"
        v.errors = worst
        findings, v.details["kernels"] = judge.custom_kernel(
            kernel_names(code) | set(cand_trials[-1]["obs"].get("triton_kernels", [])),
            cand_trials[0]["obs"].get("kernels", []),
            sum(c["obs"].get("ext_calls", 0) for c in cand_trials),
            sum(c["obs"].get("triton_launches", 0) for c in cand_trials),
            info.get("extensions") or [], on_gpu=self.dev.device != "cpu")
        v.note(findings)
        if failure:
            raise CaseEnd(Outcome.INCORRECT, failure)

    def _finish(self, cand: Worker) -> None:
        pid = isolate.inner_pid(cand.proc.pid) if cand.jail is not None and cand.alive() else None
        net = isolate.network_use(pid) if pid else []
        try:
            report = cand.request({"op": "finish"}, self.cfg.limits.finish_s)
        except WorkerFailed:
            report = {}
        self.verdict.note(judge.finish(report, net))

    # -- timing ----------------------------------------------------------------------------------------
    def _time(self, ref: Worker, cand: Worker, seeds: dict) -> None:
        v, t = self.verdict, self.cfg.timing
        start = time.monotonic()
        hw = self.dev.hardware
        peaks = roofline.cached_peaks(self.cache_dir, hw)
        probe = self._ask(ref, {"op": "probe", "seed": seeds["sets"][0], "cache": t.cache,
                           "flush_bytes": t.flush_bytes, "peaks": peaks is None,
                           "probes": self.cfg.check.roofline_probes},
                     max(self.cfg.limits.step_s, self.cfg.limits.probe_s), "reference probe")
        if peaks is None:
            peaks = probe["peaks"]
            roofline.save_peaks(self.cache_dir, hw, peaks)
        graph = t.cuda_graph and self.dev.device != "cpu"
        base = {"op": "time", "cache": t.cache, "rotate_sets": t.rotate_sets,
                "flush_bytes": t.flush_bytes, "lead_us": t.lead_us, "set_seeds": seeds["sets"], "graph": graph,
                "warmup_calls": t.warmup_calls, "warmup_s": t.warmup_s, "compile_mode": t.compile_mode}
        workers = {"ref": ref, "cand": cand, "compiled": ref}
        baseline = self._cached_baseline() if t.cached_baseline else None
        sides: tuple[str, ...] = ("cand",) if baseline else ("ref", "cand")
        sides += ("compiled",) if t.compile_baseline else ()

        ref_round_s: Optional[float] = None   # the slowest reference round so far

        def time_round(who: str, n: int, checks: list[int], warmup: bool) -> tuple[dict, float]:
            nonlocal ref_round_s
            t0 = time.monotonic()
            stage = "timed forward" if who == "cand" else "reference timing"
            variant = "compiled" if who == "compiled" else "eager"
            lim = self.cfg.limits
            if who == "cand":
                limit = self._limit(ref_round_s)
            elif warmup and variant == "compiled":   # torch.compile's first call compiles
                limit = max(lim.step_s, lim.compile_s)
            else:
                limit = lim.step_s
            reply = self._ask(workers[who], {**base, "n": n, "check_seeds": checks, "warmup": warmup,
                                        "variant": variant}, limit, stage)
            if who == "ref":
                ref_round_s = max(ref_round_s or 0.0, self.last_s)
            ms = (time.monotonic() - t0) * 1e3
            if who == "cand":
                reply["checks"] = self._ask(cand, {"op": "checks"}, limit, stage)["checks"] \
                    if checks else []
            return reply, ms

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
            rs.checks = [(seed, o["key"]) for seed, o in zip(check_seeds, outs)]
        else:
            rs = got["ref"]
            if t.cached_baseline:
                self._save_baseline(rs)
        cs = got["cand"]
        v.details["baseline"] = "cached" if baseline else "side by side"
        for m in self._compare(ref, [(key, out) for (_, key), (_, out) in zip(rs.checks, cs.checks)]):
            if not m.ok:
                raise CaseEnd(Outcome.INCORRECT, f"timed call with fresh inputs: {m.message}")

        rm, cm = median(rs.device_ms), median(cs.device_ms)
        floor, work = roofline.floor_ms(probe, peaks), roofline.reference_work_ms(probe, peaks)
        host = INTERPRETER_CLOCK if v.details["kernels"].get("triton_launches") else "host"
        timing = Timing(
            ref_median_ms=rm, cand_median_ms=cm, ref_iqr_ms=iqr(rs.device_ms),
            cand_iqr_ms=iqr(cs.device_ms), ref_ci_ms=median_ci(rs.device_ms),
            cand_ci_ms=median_ci(cs.device_ms), ref_calls=len(rs.device_ms),
            cand_calls=len(cs.device_ms), speedup=rm / cm if cm > 0 else float("inf"),
            speedup_ci=ratio_ci(rs.device_ms, cs.device_ms, t.bootstrap),
            cache=t.cache, clock=host if self.dev.device == "cpu" else
            ("cuda_graph" if graph else "cuda_events"),
            rounds=rounds, converged=converged, overhead_ms=probe["overhead_ms"], floor_ms=floor,
            reference_work_ms=work, speed_of_light=work / cm if cm > 0 else None, seconds=round(time.monotonic() - start, 3))
        if "compiled" in got:
            timing.compile_median_ms = median(got["compiled"].device_ms)
            timing.speedup_vs_compile = timing.compile_median_ms / cm if cm > 0 else None
        v.timing = timing
        v.details["work"] = {k: probe[k] for k in ("flops", "bytes", "needed_bytes", "inputs_needed")}
        v.details["work"]["peaks"] = peaks
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

    def _judge_timing(self, rs: Side, cs: Side, timing: Timing) -> None:
        t, check = self.cfg.timing, self.cfg.check
        rules = judge.TimingRules(
            t.unsynced_gap_ms, t.unsynced_ratio, t.tamper_slack, t.tamper_jitter_ms,
            check.roofline_slack_cpu if self.dev.device == "cpu" else check.roofline_slack,
            t.launch_bound_factor, warm_cache=t.cache == "warm")
        self.verdict.note(judge.timing(_side_times(rs), _side_times(cs), timing, rules))


def _side_times(s: Side) -> judge.SideTimes:
    runner_ms, reported_ms, rounds = s.steady()
    return judge.SideTimes(s.device_ms, s.wall_ms, runner_ms, reported_ms, rounds, s.threads_grew)


def evaluate(problem: str | Path, solution: str | Path, cfg: EvalCfg, dev: DeviceInfo,
             store_path: Optional[str] = None, prebuilt: Optional[Prepared] = None,
             spares: Optional[Spares] = None) -> Verdict:
    return Case(Path(problem), Path(solution), cfg, dev, store_path, prebuilt, spares).run()
