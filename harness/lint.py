"""python -m harness.lint problems=...: is each problem worth scoring on?

Per problem, in a reference worker (a problem is trusted code, but still never runs in the
runner): it imports; get_inputs varies with the seed; the reference is deterministic for a
fixed seed (unless the file says NONDETERMINISTIC = True); the output is finite, not constant,
not all zeros, and a zeros or constant output, or an input returned unchanged, would fail the
comparison; then reference time,
peak memory and launch-bound status on the device at hand. Exits 1 when a problem fails.
Works on any folder in this format (KernelBench's levels too).
"""
from __future__ import annotations

import ast
import contextlib
import csv
import io
import queue
import shutil
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional, TypeVar

import hydra
from tabulate import tabulate

from . import protocol as P
from .compare import Match
from .config import LintCfg, LintFormat, register
from .device import resolve
from .discover import _problem_files
from .errors import UserError, entry
from .gate import Gate, out_of_memory
from .problem import ProblemError, check_file, problem_id
from .proc import WorkerProcess, WorkerFailed, device_env
from .timing import median
from .tolerance import to_table

register()
R = TypeVar("R", bound=P.Message)


@dataclass
class Lint:
    problem: str
    findings: list[str] = field(default_factory=list)
    ref_ms: Optional[float] = None
    overhead_ms: Optional[float] = None
    memory_mb: Optional[float] = None
    gflop: Optional[float] = None
    mbytes: Optional[float] = None
    launch_bound: bool = False
    nondeterministic: bool = False
    seconds: float = 0.0   # wall time of this problem's lint (a run's cost is their sum over jobs)
    waited_s: float = 0.0  # ...of which its worker was still starting (too few started ahead)

    @property
    def ok(self) -> bool:
        return not self.findings


def _declares_nondeterministic(path: Path) -> bool:
    try:
        tree = ast.parse(path.read_text())
    except (OSError, SyntaxError, ValueError):
        return False
    return any(isinstance(n, ast.Assign) and any(getattr(t, "id", "") == "NONDETERMINISTIC"
               for t in n.targets) and getattr(n.value, "value", False) is True for n in tree.body)


_TIMED = (P.Probe, P.Time)


def _ask(w: WorkerProcess, msg: P.Request, timeout: float, expect: type[R] = P.Message,   # type: ignore[assignment]
         gate: Optional[Gate] = None) -> R:
    with contextlib.nullcontext() if gate is None else \
            gate.alone() if isinstance(msg, _TIMED) else gate.shared():
        reply = w.request(msg, timeout)
    if isinstance(reply, P.Error):
        raise ProblemError(reply.error.splitlines()[0][:300] if reply.error else "failed")
    assert isinstance(reply, expect)
    return reply


def new_worker(cfg: LintCfg, env: dict[str, str]) -> WorkerProcess:
    scratch = Path(cfg.cache_dir).resolve() / "scratch" / f"lint-{uuid.uuid4().hex[:10]}"
    return WorkerProcess("reference", scratch, env, output_mb=cfg.limits.trusted_output_mb,
                  max_message_mb=cfg.limits.max_message_mb)


def lint_one(path: Path, cfg: LintCfg, device: str, w: WorkerProcess, gate: Optional[Gate] = None) -> Lint:
    """Lint one problem in worker `w` (started ahead: importing torch takes seconds), sharing
    the device through `gate` with other lint workers."""

    def ask(msg: P.Request, timeout: float, expect: type[R] = P.Message) -> R:   # type: ignore[assignment]
        return _ask(w, msg, timeout, expect, gate)

    res = Lint(problem_id(path), nondeterministic=_declares_nondeterministic(path))
    try:
        check_file(path)
    except ProblemError as e:
        res.findings.append(str(e).split(": ", 1)[-1])
        return res
    try:
        ask(P.Load(str(path.resolve()), device, 1), cfg.limits.load_s)
        ask(P.Warm(2), cfg.limits.step_s)
        seeds = (11, 11) + tuple(100 + i for i in range(max(2, cfg.seeds)))
        trials = ask(P.Run(seeds), cfg.limits.step_s, P.Trials).trials
        keys = [t.key for t in trials if t.key is not None]
        sums = [t.obs["checksum"] for t in trials]
        tols = to_table(cfg.check.tolerances)
        if sums[0] != sums[1]:
            res.findings.append("get_inputs differs for the same seed")
        if len({tuple(s) for s in sums[1:]}) < len(sums) - 1:
            res.findings.append("get_inputs does not vary with the seed")
        same = ask(P.Compare(tols, (P.Pair(keys[0], other=keys[1]),), keep=True),
                    cfg.limits.step_s, P.Matches).matches[0]
        if not res.nondeterministic and not Match.from_dict(same).ok:
            res.findings.append("reference not deterministic for a fixed seed "
                                "(or mark NONDETERMINISTIC = True)")
        if any(t.obs.get("nonfinite") for t in trials):
            res.findings.append("output has NaN/Inf")
        weak = ask(P.Weak(tuple(keys[1:]), tols, cfg.check.weak_margin), cfg.limits.step_s,
                   P.WeakAnswer).weak
        if weak:
            res.findings.append(f"weak: {weak}")
        t = cfg.timing
        probe = ask(P.Probe(7, t.cache, t.flush_bytes, cfg.check.roofline_probes),
                     max(cfg.limits.step_s, cfg.limits.probe_s), P.Probed)
        timed = ask(P.Time(cfg.timed_calls, (7,), t.cache, t.flush_bytes, t.lead_us, True,
                               t.warmup_calls, t.warmup_s, poison=t.poison), cfg.limits.step_s, P.Timed)
        res.ref_ms = median(list(timed.device_ms))
        res.overhead_ms = probe.overhead_ms
        res.memory_mb = probe.peak_memory / 2**20
        res.gflop, res.mbytes = probe.work["flops"] / 1e9, probe.work["bytes"] / 2**20
        res.launch_bound = res.ref_ms < t.launch_bound_factor * res.overhead_ms
        if res.launch_bound:
            res.findings.append(f"launch-bound: {res.ref_ms:.4g} ms vs empty forward "
                                f"{res.overhead_ms:.4g} ms")
    except (ProblemError, WorkerFailed) as e:
        res.findings.append(str(e))
    return res


def table(results: list[Lint], fmt: LintFormat) -> str:
    headers = ["problem", "status", "ref ms", "empty fwd ms", "peak MiB", "GFLOP", "MiB moved", "notes"]
    rows = [[r.problem, "ok" if r.ok else "FAIL",
             f"{r.ref_ms:.4g}" if r.ref_ms is not None else "-",
             f"{r.overhead_ms:.3g}" if r.overhead_ms is not None else "-",
             f"{r.memory_mb:.0f}" if r.memory_mb is not None else "-",
             f"{r.gflop:.3g}" if r.gflop is not None else "-",
             f"{r.mbytes:.3g}" if r.mbytes is not None else "-",
             "; ".join(r.findings) + (" (nondeterministic)" if r.nondeterministic else "")]
            for r in results]
    if fmt is LintFormat.csv:
        buf = io.StringIO()
        csv.writer(buf).writerows([headers, *rows])
        return buf.getvalue()
    text = tabulate(rows, headers, tablefmt="github" if fmt is LintFormat.github else "simple")
    bad = sum(not r.ok for r in results)
    return f"{text}\n\n{len(results) - bad} of {len(results)} problems lint-clean\n"


def run(cfg: LintCfg) -> int:
    """Lint every problem file; 1 when one fails, 0 otherwise; a user mistake raises UserError.
    `cfg.jobs` workers at once, each with its next worker started ahead; a problem that ran
    out of device memory beside others is linted again once they are done, alone."""
    dev = resolve(cfg.device)
    files = _problem_files(Path(cfg.problems))
    if not files:
        raise UserError(f"problems={cfg.problems}: no problem files found")
    env, device = device_env(dev.device, 1)
    jobs = max(1, min(len(files), cfg.jobs or (1 if dev.device == "cpu" else 3)))
    depth = max(1, cfg.ahead or (1 if dev.device == "cpu" else 2))
    shared = Gate() if jobs > 1 else None
    todo: "queue.Queue[Path]" = queue.Queue()
    for f in files:
        todo.put(f)
    results: dict[Path, Lint] = {}
    lock = threading.Lock()

    def one(f: Path, w: WorkerProcess, g: Optional[Gate]) -> Lint:
        t0 = time.monotonic()
        try:
            try:   # answered once the worker has started
                w.request(P.Reset(), cfg.limits.load_s)
            except WorkerFailed:
                pass   # lint_one meets the same failure and reports it
            waited = time.monotonic() - t0
            r = lint_one(f, cfg, device, w, g)
            r.waited_s = waited
        except Exception as e:   # the harness's own fault: this problem's row says so, the run goes on
            r = Lint(problem_id(f), [f"harness error: {type(e).__name__}: {e}"])
        finally:
            w.close()
            shutil.rmtree(w.scratch, ignore_errors=True)
        r.seconds = time.monotonic() - t0
        return r

    def record(f: Path, r: Lint) -> None:
        with lock:
            results[f] = r
            _report(r, [results[x] for x in files if x in results], len(files), dev.hardware, cfg)

    again: list[Path] = []

    def loop(gate: Optional[Gate]) -> None:
        # A worker takes seconds to start (torch, a CUDA context: ~9 s on the H200), a lint
        # about as long: starts overlap `depth` deep, so none waits on the critical path.
        ahead: list[WorkerProcess] = [new_worker(cfg, env) for _ in range(min(depth, todo.qsize()))]
        try:
            while True:
                try:
                    f = todo.get_nowait()
                except queue.Empty:
                    return
                w = ahead.pop(0) if ahead else new_worker(cfg, env)
                if todo.qsize() > len(ahead):
                    ahead.append(new_worker(cfg, env))
                r = one(f, w, gate)
                if gate is not None and any(out_of_memory(x) for x in r.findings):
                    with lock:   # maybe the others' memory, not this problem's: again, alone, after
                        again.append(f)
                    continue
                record(f, r)
        finally:
            for w in ahead:
                w.kill()
                shutil.rmtree(w.scratch, ignore_errors=True)

    threads = [threading.Thread(target=loop, args=(shared,), name=f"lint-{i}", daemon=True)
               for i in range(jobs)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    for f in sorted(again):   # alone now, beside only idle workers started ahead
        todo.put(f)
    loop(None)
    done = [results[f] for f in files]
    print(f"device: {dev.hardware}\n\n" + table(done, cfg.format))
    return 0 if all(r.ok for r in done) else 1


def _report(r: Lint, so_far: list[Lint], total: int, hardware: str, cfg: LintCfg) -> None:
    """One line per problem as it ends, and the table so far (a run cut short leaves it)."""
    waited = f", {r.waited_s:.1f} s of it waiting for its worker" if r.waited_s >= 0.1 else ""
    print(f"{r.problem}: {'ok' if r.ok else 'FAIL: ' + '; '.join(r.findings)} ({r.seconds:.1f} s{waited})",
          file=sys.stderr)
    if cfg.out:
        text = f"device: {hardware}\n\n" + table(so_far, cfg.format)
        Path(cfg.out).write_text(text if len(so_far) == total else
                                 text + f"\n(incomplete: {len(so_far)} of {total} problems)\n")


@hydra.main(version_base=None, config_path="../conf", config_name="lint")
@entry
def main(cfg: LintCfg) -> int:
    return run(cfg)


if __name__ == "__main__":
    entry(main)()
