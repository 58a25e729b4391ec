"""The scoring engine that batch and serve share: builds in parallel on CPU cores, one evaluator
thread per device (or `eval_workers` on CPU) taking built cases as they come, each with the next
case's workers started ahead when that pays.

Callers hand in Tasks and read (key, Verdict) pairs off `results`; the engine never touches the
store's verdict tables (only the caller's thread writes them) and never imports solution code.
"""
from __future__ import annotations

import os
import queue
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Hashable, Optional

from . import proc
from .case import Case
from .pool import Spares
from .solution import prepare
from .config import EngineCfg, EvalCfg, Prestart
from .device import DeviceInfo, resolve
from .gate import Gate, out_of_memory
from .problem import ProblemError
from .verdict import Outcome, Verdict


@dataclass
class Task:
    """One unit of work: `key` is the caller's handle, echoed back with the verdict."""
    key: Hashable            # unique per task: a cancelled key is never run
    problem: Path
    solution: Path
    cfg: EvalCfg


def build_slots(requested: int, jobs: int, cores: int) -> int:
    """Builds at once: as asked, else as many as fill all cores but one (left to the evaluator)
    with `jobs` compiler processes each, and no more: oversubscribed cores slow every build."""
    return requested or max(1, (cores - 1) // max(1, jobs))


def eval_devices(cfg: EngineCfg, base: DeviceInfo) -> list[DeviceInfo]:
    if base.device == "cpu":
        return [base] * max(1, cfg.eval_workers)
    if str(cfg.gpus) == "all":
        return [resolve(f"cuda:{i}") for i in range(base.count)]
    return [resolve(f"cuda:{int(g)}") for g in str(cfg.gpus).split(",") if g.strip()]


def problem_failure(task: Task, dev: DeviceInfo, message: str,
                    outcome: Outcome = Outcome.LOAD_ERROR) -> Verdict:
    """The reference itself failed (or the harness did): recorded against the case, never lost."""
    v = Case(task.problem, task.solution, task.cfg, dev).verdict
    v.outcome, v.message = outcome, f"problem: {message}"
    return v


def same_workers(a: EvalCfg, b: EvalCfg) -> bool:
    """Whether workers started ahead for config `a` may serve a case run under config `b`."""
    return (a.timing.cpu_threads, a.limits.output_mb, a.limits.max_message_mb, a.cache_dir) == \
        (b.timing.cpu_threads, b.limits.output_mb, b.limits.max_message_mb, b.cache_dir)


class Built:
    """Built cases waiting for an evaluator. An evaluator takes the oldest case of the problem
    it has just scored when there is one (its reference stays loaded, see pool.Spares), but
    never more than `streak` in a row while older cases of other problems wait (a service fed
    one problem must still get to the others); else the oldest. None is the end, seen by
    every evaluator."""

    streak = 16

    def __init__(self) -> None:
        self._items: list[Optional[tuple[Task, Any]]] = []
        self._cv = threading.Condition()

    def put(self, item: Optional[tuple[Task, Any]]) -> None:
        with self._cv:
            self._items.append(item)
            self._cv.notify_all()

    def get(self, problem: Optional[Path] = None, run: int = 0) -> Optional[tuple[Task, Any]]:
        """`run`: how many of `problem`'s cases this evaluator has just taken in a row."""
        with self._cv:
            self._cv.wait_for(lambda: bool(self._items))
            at = 0 if run >= self.streak else next(
                (i for i, it in enumerate(self._items) if it is not None and it[0].problem == problem), 0)
            if self._items[at] is None:
                return None   # left in place for the other evaluators
            return self._items.pop(at)


class Engine:
    def __init__(self, cfg: EngineCfg, devices: list[DeviceInfo], store_path: Optional[str]):
        self.cfg, self.devices, self.store_path = cfg, devices, store_path
        self.kind = devices[0].device
        self.results: "queue.Queue[tuple[Hashable, Verdict]]" = queue.Queue()
        self.stop = threading.Event()
        self.build_s = self.eval_s = 0.0
        self._built = Built()
        self._lock = threading.Lock()
        self._cancelled: set[Hashable] = set()
        self._running: dict[Hashable, Case] = {}
        self._futures: list[Future] = []
        self._input_ended = False
        self.build_slots = build_slots(cfg.build_workers, cfg.build.jobs, len(os.sched_getaffinity(0)))
        self._builders = ThreadPoolExecutor(self.build_slots, thread_name_prefix="build")
        # per_device evaluators on each device share its gate: their correctness requests run
        # side by side, each one's timing stage alone.
        gates = {d.device: Gate() for d in devices} if cfg.per_device > 1 else {}
        slots = [(d, gates.get(d.device)) for d in devices for _ in range(max(1, cfg.per_device))]
        self._evaluators = [threading.Thread(target=self._evaluate_loop, args=slot, daemon=True,
                                             name=f"eval-{i}") for i, slot in enumerate(slots)]
        for th in self._evaluators:
            th.start()

    # -- what callers use ----------------------------------------------------------------------
    def submit(self, task: Task) -> None:
        self._futures.append(self._builders.submit(self._build, task))

    def cancel(self, key: Hashable) -> None:
        """A task not yet evaluated never runs; a running one has its workers killed (its verdict,
        a crash, still comes back: the caller, who asked to cancel, drops it)."""
        with self._lock:
            self._cancelled.add(key)
            case = self._running.get(key)
        if case is not None:
            for w in list(case.workers):
                w.kill()

    def running(self, key: Hashable) -> bool:
        with self._lock:
            return key in self._running

    def end_of_input(self) -> None:
        """No more tasks: evaluators stop once every build submitted so far has been evaluated."""
        futures = list(self._futures)
        self._input_ended = True

        def wait_builds() -> None:
            for f in futures:
                try:
                    f.result()
                except Exception:
                    pass
            self._built.put(None)

        threading.Thread(target=wait_builds, daemon=True).start()

    def alive(self) -> bool:
        return any(th.is_alive() for th in self._evaluators)

    def interrupt(self) -> None:
        """Stop at once: every worker killed, queued builds dropped (a batch's Ctrl-C)."""
        self.stop.set()
        proc.kill_all()
        self._builders.shutdown(wait=False, cancel_futures=True)

    def close(self, grace_s: float = 30.0) -> None:
        """Builds dropped; evaluators given `grace_s` to end their workers started ahead (they
        end after the input does, or at once once interrupted) and remove their folders."""
        self._builders.shutdown(wait=False, cancel_futures=True)
        if self.stop.is_set() or not self._input_ended:
            self.stop.set()
            self._built.put(None)
        deadline = time.monotonic() + grace_s
        for th in self._evaluators:
            th.join(max(0.0, deadline - time.monotonic()))

    # -- inside ----------------------------------------------------------------------------------
    def _is_cancelled(self, key: Hashable, forget: bool = False) -> bool:
        with self._lock:
            found = key in self._cancelled
            if forget:
                self._cancelled.discard(key)
            return found

    def _build(self, task: Task) -> None:
        if self.stop.is_set() or self._is_cancelled(task.key):
            return
        t = time.monotonic()
        try:
            prepared: Any = prepare(task.solution, task.cfg, self.kind)
        except Exception as e:   # a broken cache folder, a full disk: recorded, not fatal
            prepared = e
        self.build_s += time.monotonic() - t
        self._built.put((task, prepared))

    def _evaluate_loop(self, dev: DeviceInfo, gate: Optional[Gate]) -> None:
        # On a CPU the spare pair's imports would share the cores a case is timed on.
        cfg = self.cfg
        ahead = cfg.prestart is Prestart.always or \
            (cfg.prestart is Prestart.auto and dev.device != "cpu")
        spares = Spares(cfg, dev, cfg.prestart_pairs) if ahead else None
        try:
            last: Optional[Path] = None
            run = 0
            while not self.stop.is_set():
                item = self._built.get(last, run)
                if item is None:
                    return
                task, prepared = item
                run = run + 1 if task.problem == last else 1
                last = task.problem
                if self._is_cancelled(task.key, forget=True):
                    continue
                t = time.monotonic()
                fits = spares is not None and same_workers(cfg, task.cfg)
                if spares is not None and not fits:
                    spares.drop_loaded()   # the case runs without it: off the device
                v = self._evaluate(task, prepared, dev, spares if fits else None, gate)
                if gate is not None and out_of_memory(v.message or ""):
                    # Maybe the other evaluator's memory, not this case's: again, with the device
                    # to itself, so that a valid case is never judged by what ran beside it.
                    v = self._evaluate(task, prepared, dev, spares if fits else None, gate, alone=True)
                self.eval_s += time.monotonic() - t
                if not self.stop.is_set():
                    self.results.put((task.key, v))
        finally:
            if spares is not None:
                spares.close()

    def _evaluate(self, task: Task, prepared: Any, dev: DeviceInfo, spares: Optional[Spares],
                  gate: Optional[Gate] = None, alone: bool = False) -> Verdict:
        if isinstance(prepared, Exception):
            return problem_failure(task, dev, f"harness error while building: {prepared}",
                                   Outcome.CRASHED)
        case = Case(task.problem, task.solution, task.cfg, dev, self.store_path, prepared, spares,
                    gate, alone)
        with self._lock:
            self._running[task.key] = case
        try:
            return case.run()
        except ProblemError as e:
            return problem_failure(task, dev, str(e))
        except Exception as e:   # the harness's own fault: recorded, and this evaluator goes on
            v = case.verdict
            v.outcome, v.message = Outcome.CRASHED, f"harness error: {type(e).__name__}: {e}"
            return v
        finally:
            with self._lock:
                self._running.pop(task.key, None)
