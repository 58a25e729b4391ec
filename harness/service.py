"""Durable jobs on top of the engine: what the server does between HTTP and the workers.

A job is written to the store (jobs table) before its submit is answered, and marked done in
the transaction that writes its verdict; on start, every job still open is queued again, so an
acknowledged job is answered exactly once across any number of SIGKILLs. Jobs with the same
(problem, solution, hardware, config) key share one unit of work, and a key the store already
judges is answered at once. One lock orders submits, cancels and verdicts; the HTTP side only
reads the store under it.
"""
from __future__ import annotations

import copy
import hashlib
import json
import threading
import time
import uuid
from collections import Counter, deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional, cast

from . import __version__
from .admission import JobSpec, Limits, RequestError, TokenBucket, admit
from .api import OverrideError, apply_overrides, stash_problem, stash_solution
from .solution import read_solution
from .config import ServeCfg, config_hash
from .device import DeviceInfo
from .engine import Engine, Task
from .problem import ProblemError, check_file
from .store import JobRow, Store, now
from .verdict import Outcome, Verdict

Key = tuple[str, str, str, str]   # problem hash, solution hash, hardware, config hash


@dataclass
class Unit:
    """One unit of work and the open jobs it will answer; `fed` once handed to the engine."""
    task: Task
    client: str
    jobs: set[str] = field(default_factory=set)
    fed: bool = False

    @property
    def task_id(self) -> str:
        return self.task.key   # type: ignore[return-value]


@dataclass
class Prepared:
    """A validated job, its inputs on disk, before it is acknowledged."""
    problem: Path
    solution: Path
    overrides: dict[str, Any]
    cfg: Any
    key: Key


def limits_of(cfg: ServeCfg) -> Limits:
    return Limits(cfg.max_batch, cfg.max_solution_kb * 1024, cfg.max_problem_kb * 1024,
                  tuple(cfg.overridable))


class Service:
    def __init__(self, cfg: ServeCfg, base: DeviceInfo, devices: list[DeviceInfo]):
        self.cfg, self.base = cfg, base
        self.hardware = devices[0].hardware
        self.store = Store(cfg.store or "serve.db", threads=True)
        self.lock = threading.Lock()
        self.engine = Engine(cfg, devices, self.store.path.as_posix())
        self.units: dict[Key, Unit] = {}
        # Fair share: the engine holds only `ahead` units; the rest wait per client and are fed
        # round-robin, so one client's thousand jobs do not hold another's ten behind them.
        self.waiting: dict[str, deque[Key]] = {}
        self.turns: deque[str] = deque()
        self.fed = 0
        self.ahead = self.engine.build_slots + 2 * len(devices)
        self.task_key: dict[str, Key] = {}
        self.open: dict[str, tuple[Key, str]] = {}   # job -> (key, client)
        self.pending: Counter = Counter()            # client -> open jobs
        self.bucket = TokenBucket(cfg.client_rate, cfg.client_burst)
        self.limits = limits_of(cfg)
        self.draining = False
        self.listeners: list[Callable[[], None]] = []
        self._cfgs: dict[str, Any] = {}
        self._prepare_lock = threading.Lock()
        self._problems_ok: set[str] = set()          # problem hashes that passed check_file
        self._closed = threading.Event()
        self.restored = self._restore()
        self._collector = threading.Thread(target=self._collect, daemon=True, name="collect")
        self._collector.start()

    # -- submit -----------------------------------------------------------------------------------
    def _cfg_for(self, overrides: dict[str, Any]) -> Any:
        tag = json.dumps(overrides, sort_keys=True, default=str)
        if tag not in self._cfgs:
            self._cfgs[tag] = apply_overrides(copy.deepcopy(self.cfg), overrides) if overrides \
                else self.cfg
        return self._cfgs[tag]

    def prepare(self, i: int, spec: JobSpec) -> Prepared:
        """Validate and write one job's inputs (content-addressed, so harmless if refused)."""
        try:
            cfg = self._cfg_for(spec.overrides)
        except OverrideError as e:
            raise RequestError(400, f"jobs[{i}].{e}") from None
        cache = Path(self.cfg.cache_dir)
        problem = stash_problem(spec.problem, cache)
        problem_hash = hashlib.sha256(spec.problem.encode()).hexdigest()
        if problem_hash not in self._problems_ok:
            try:
                check_file(problem)
            except ProblemError as e:
                raise RequestError(400, f"jobs[{i}].problem: {str(e).split(': ', 1)[-1]}") from None
            self._problems_ok.add(problem_hash)
        solution = stash_solution(spec.solution, cache)
        key = (problem_hash, read_solution(solution).hash, self.hardware, config_hash(cfg))
        return Prepared(problem, solution, spec.overrides, cfg, key)

    def submit(self, specs: list[JobSpec], client: str) -> list[str]:
        """Acknowledged (written) all together, or refused with a RequestError."""
        # One request's inputs at a time: CPython 3.11's ast.parse is not safe in concurrent
        # threads (check_file), and the config cache is shared.
        with self._prepare_lock:
            jobs = [self.prepare(i, s) for i, s in enumerate(specs)]
        ids = [uuid.uuid4().hex for _ in jobs]
        with self.lock:
            if self.draining:
                raise RequestError(503, "server is draining (SIGTERM): retry later or elsewhere",
                                   self.cfg.retry_after_s)
            known = {p.key for p in jobs if p.key not in self.units and
                     self.store.lookup(*p.key) is not None}
            new_units = {p.key for p in jobs if p.key not in self.units and p.key not in known}
            opened = sum(p.key not in known for p in jobs)
            admit(len(new_units), len(self.units), self.cfg.max_queue, opened,
                  self.pending[client], self.cfg.client_queue, self.cfg.retry_after_s)
            self.bucket.take(client, len(jobs), time.monotonic())
            stamp = now()
            self.store.add_jobs([
                JobRow(j, client, "done" if p.key in known else "queued", str(p.problem),
                       str(p.solution), json.dumps(p.overrides, sort_keys=True), p.key, stamp,
                       stamp if p.key in known else None) for j, p in zip(ids, jobs)])
            for j, p in zip(ids, jobs):
                if p.key not in known:
                    self._queue(j, client, p.key, p.problem, p.solution, p.cfg)
        if known:
            self._wake()
        return ids

    def _queue(self, job: str, client: str, key: Key, problem: Path, solution: Path, cfg: Any) -> None:
        unit = self.units.get(key)
        if unit is None:
            unit = self.units[key] = Unit(Task(uuid.uuid4().hex, problem, solution, cfg), client)
            self.task_key[unit.task_id] = key
            if client not in self.waiting:
                self.waiting[client] = deque()
                self.turns.append(client)
            self.waiting[client].append(key)
            self._feed()
        unit.jobs.add(job)
        self.open[job] = (key, client)
        self.pending[client] += 1

    def _feed(self) -> None:
        """Hand waiting units to the engine, one client at a time, while it has room."""
        while self.fed < self.ahead and self.turns:
            client = self.turns.popleft()
            unit = self.units[self.waiting[client].popleft()]
            if self.waiting[client]:
                self.turns.append(client)
            else:
                del self.waiting[client]
            unit.fed = True
            self.fed += 1
            self.engine.submit(unit.task)

    def _drop(self, key: Key) -> Unit:
        """A unit leaves (answered or cancelled): its room in the engine goes to the next."""
        unit = self.units.pop(key)
        self.task_key.pop(unit.task_id, None)
        if unit.fed:
            self.fed -= 1
        else:
            self.waiting[unit.client].remove(key)
            if not self.waiting[unit.client]:
                del self.waiting[unit.client]
                self.turns.remove(unit.client)
        self._feed()
        return unit

    def _restore(self) -> int:
        """Queue again every job the store says is open (a restart after a kill)."""
        rows = self.store.open_jobs()
        for row in rows:
            known = self.store.lookup(*row.key)
            if known is not None:
                self.store.mark_done(row.key, [row.job_id])
            elif not (Path(row.problem).is_file() and Path(row.solution).is_file()):
                self.store.record_for_jobs(self._lost(row), [row.job_id])
            else:
                cfg = self._cfg_for(json.loads(row.overrides))
                self._queue(row.job_id, row.client, row.key, Path(row.problem),
                            Path(row.solution), cfg)
        return len(rows)

    def _lost(self, row: JobRow) -> Verdict:
        return Verdict(problem=row.problem, solution=row.solution, outcome=Outcome.LOAD_ERROR,
                       message="the server's stored copy of this job's input is gone (cache "
                               "folder removed?)", problem_hash=row.key[0],
                       solution_hash=row.key[1], hardware=row.key[2], config_hash=row.key[3],
                       device=self.base.device, created=now())

    # -- verdicts ---------------------------------------------------------------------------------
    def _collect(self) -> None:
        import queue
        while not self._closed.is_set():
            try:
                task_id, v = self.engine.results.get(timeout=0.5)
            except queue.Empty:
                continue
            with self.lock:
                key = self.task_key.get(cast(str, task_id))
                if key is None:
                    continue   # every job of it was cancelled
                unit = self._drop(key)
                self.store.record_for_jobs(v, sorted(unit.jobs))
                for j in unit.jobs:
                    self._close_job(j)
            self._wake()

    def _close_job(self, job: str) -> None:
        _, client = self.open.pop(job)
        self.pending[client] -= 1
        if self.pending[client] <= 0:
            del self.pending[client]

    def _wake(self) -> None:
        for listener in list(self.listeners):
            listener()

    # -- questions --------------------------------------------------------------------------------
    def cancel(self, job: str) -> str:
        """The job's state after the request: cancelled, or done/cancelled already."""
        with self.lock:
            if job not in self.open:
                found = self.store.jobs([job]).get(job)
                if found is None:
                    raise RequestError(404, f"no job {job}")
                return found[0].state
            key, _ = self.open[job]
            self.store.cancel_job(job)
            unit = self.units[key]
            unit.jobs.discard(job)
            self._close_job(job)
            if not unit.jobs:
                self._drop(key)
                if unit.fed:
                    self.engine.cancel(unit.task_id)
        self._wake()
        return "cancelled"

    def answers(self, jobs: list[str]) -> dict[str, tuple[str, Optional[Verdict]]]:
        """State and verdict of each named job; unknown ids are a 404."""
        with self.lock:
            found = self.store.jobs(jobs)
            running = {j for j in jobs if j in self.open and
                       self.engine.running(self.units[self.open[j][0]].task_id)}
        missing = [j for j in jobs if j not in found]
        if missing:
            raise RequestError(404, f"no job {missing[0]}" + (f" (and {len(missing) - 1} more)"
                                                              if len(missing) > 1 else ""))
        return {j: ("running" if j in running else row.state, v) for j, (row, v) in found.items()}

    def health(self) -> dict[str, Any]:
        return {"ok": True, "version": __version__, "device": self.base.device,
                "hardware": self.hardware, "evaluators": len(self.engine.devices),
                "queue": len(self.units), "max_queue": self.cfg.max_queue,
                "max_batch": self.cfg.max_batch,
                "open_jobs": len(self.open), "draining": self.draining}

    def status(self) -> dict[str, Any]:
        with self.lock:
            counts = self.store.job_counts()
            clients = dict(self.pending)
        return {**self.health(), "jobs": counts, "clients": clients, "in_engine": self.fed,
                "restored_at_start": self.restored, "build_s": round(self.engine.build_s, 3),
                "eval_s": round(self.engine.eval_s, 3)}

    # -- the end ------------------------------------------------------------------------------------
    def drain(self, timeout: float) -> bool:
        """Refuse new work, finish what was acknowledged (up to timeout); True when all done.
        Whatever is left stays open in the store and runs after the next start."""
        self.draining = True
        deadline = time.monotonic() + timeout
        while self.units and time.monotonic() < deadline and self.engine.alive():
            time.sleep(0.2)
        return not self.units

    def close(self) -> None:
        self.engine.interrupt()
        self._closed.set()
        self._collector.join(timeout=5)
        with self.lock:
            self.store.close()
