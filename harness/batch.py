"""python -m harness.batch: score many (problem, solution) pairs, resumably.

The engine (harness/engine.py) keeps devices from waiting for compilers: builds run in parallel
on CPU cores, and one evaluation worker per GPU (or `eval_workers` on CPU) takes built cases as
they come. Only
this process writes the store, one transaction per verdict; a case is skipped when the store
already judges it, so a batch killed at any moment and started again loses and repeats nothing.
"""
from __future__ import annotations

import queue
import signal
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional, cast

import hydra
from omegaconf import OmegaConf

from . import isolate
from .solution import read_solution
from .config import BatchCfg, BoardCfg, config_hash, register
from .device import DeviceInfo, resolve
from .discover import Job, discover, shard_of
from .engine import Engine, Task, eval_devices
from .errors import UserError, entry
from .problem import file_hash
from .store import Store
from .verdict import Outcome, Verdict

register()


@dataclass
class Stats:
    total: int
    skipped: int = 0
    done: int = 0
    outcomes: Counter = None  # type: ignore[assignment]

    def __post_init__(self) -> None:
        self.outcomes = Counter()


class Progress:
    """One status line on a terminal; a line per finished case otherwise (logs, CI)."""

    def __init__(self, stats: Stats, enabled: bool):
        self.stats, self.enabled = stats, enabled
        self.tty = sys.stderr.isatty()
        self.t0 = time.monotonic()

    def update(self, job: Optional[Job] = None, v: Optional[Verdict] = None) -> None:
        if not self.enabled:
            return
        s = self.stats
        failed = sum(n for o, n in s.outcomes.items() if o != Outcome.OK.value)
        rate = s.done / max(time.monotonic() - self.t0, 1e-9) * 60
        line = (f"[{s.done}/{s.total}] ok {s.outcomes.get('ok', 0)} · failed {failed} · "
                f"remaining {s.total - s.done} · {rate:.1f}/min")
        if self.tty:
            sys.stderr.write("\r" + line.ljust(80))
            sys.stderr.flush()
        elif job is not None and v is not None:
            sp = (" ~1x" if v.speedup_uncertain else f" {v.speedup:.2f}x") if v.speedup else ""
            flags = f" [{', '.join(v.flags)}]" if v.flags else ""
            print(f"{line} | {job.case.problem_id} {job.solution.name}: {v.outcome.value}{sp}{flags}",
                  file=sys.stderr)

    def close(self) -> None:
        if self.enabled and self.tty:
            sys.stderr.write("\n")


def store_path(cfg: BatchCfg) -> str:
    path = Path(cfg.store or "results.db")
    if cfg.num_shards > 1:
        path = path.with_name(f"{path.stem}.shard{cfg.shard}of{cfg.num_shards}{path.suffix}")
    return str(path)


def run(cfg: BatchCfg) -> int:
    base = resolve(cfg.device)
    devices = eval_devices(cfg, base)
    kind = "cpu" if base.device == "cpu" else "cuda"
    jobs, unmatched = discover(Path(cfg.solutions), Path(cfg.problems), cfg.layout, cfg.label,
                               Path(cfg.pairs) if cfg.pairs else None, cfg.select, kind)
    plan = isolate.plan_for(cfg)   # an unavailable sandbox.mode=namespaces stops here
    if not 0 <= cfg.shard < cfg.num_shards:
        raise UserError(f"shard={cfg.shard} is not in 0..{cfg.num_shards - 1}")
    for line in unmatched:
        print(f"unmatched: {line}", file=sys.stderr)
    jobs = [j for j in jobs if shard_of(j.case, cfg.num_shards) == cfg.shard]
    path = store_path(cfg)
    store = Store(path)
    chash, hw = config_hash(cfg), devices[0].hardware
    run_id = store.start_run(cfg.label or Path(cfg.solutions).name,
                             OmegaConf.to_container(cfg, resolve=True), sys.argv)
    todo = [j for j in jobs if cfg.force or not store.has_case(j.case, hw, chash)]
    todo, twins, reused = _dedupe(todo, store, hw, chash, cfg.force, run_id)
    stats = Stats(total=len(todo), skipped=len(jobs) - len(todo) - sum(map(len, twins.values())))
    print(f"batch: {len(jobs)} case(s) ({stats.skipped} already scored, {len(unmatched)} unmatched) "
          f"on {', '.join(d.device for d in devices[:1])}{'' if len(devices) < 2 else f' +{len(devices) - 1}'}"
          f" -> {path}; sandbox: {plan.mode}" + (f" ({plan.reason})" if plan.reason else ""),
          file=sys.stderr)
    progress = Progress(stats, cfg.progress)
    t0 = time.monotonic()
    interrupted = _score(todo, twins, cfg, devices, store, run_id, stats, progress)
    progress.close()
    wall = time.monotonic() - t0
    _summary(stats, wall, path, interrupted)
    store.close()
    if interrupted:
        return 130
    if cfg.board and stats.done + stats.skipped:
        from . import board
        bcfg = OmegaConf.structured(BoardCfg(store=path))
        return board.run(bcfg)
    return 0


def _dedupe(todo: list[Job], store: Store, hw: str, chash: str, force: bool,
            run_id: str) -> tuple[list[Job], dict[Job, list[Job]], int]:
    """Identical code on the same problem is scored once: cases whose verdict the store has
    already are recorded at once; twins within this batch follow the first one's verdict."""
    first: dict[tuple[str, str], Job] = {}
    twins: dict[Job, list[Job]] = {}
    keep, reused = [], 0
    for job in todo:
        key = (file_hash(job.problem), read_solution(job.solution).hash)
        known = None if force else store.lookup(key[0], key[1], hw, chash)
        if known is not None:
            store.record_case(job.case, known, run_id, str(job.solution))
            reused += 1
        elif key in first:
            twins[first[key]].append(job)
        else:
            first[key] = job
            twins[job] = []
            keep.append(job)
    return keep, twins, reused


def _score(todo: list[Job], twins: dict[Job, list[Job]], cfg: BatchCfg, devices: list[DeviceInfo],
           store: Store, run_id: str, stats: Stats, progress: Progress) -> bool:
    """Returns True when interrupted. Only this thread touches the store."""
    engine = Engine(cfg, devices, store.path.as_posix())
    for job in todo:
        engine.submit(Task(job, job.problem, job.solution, cfg))
    engine.end_of_input()

    def on_term(*_: Any) -> None:   # a scheduler's preemption ends the batch like Ctrl-C
        raise KeyboardInterrupt

    old_term = signal.signal(signal.SIGTERM, on_term)
    try:
        while stats.done < stats.total:
            try:
                key, v = engine.results.get(timeout=0.5)
                job = cast(Job, key)
            except queue.Empty:
                if not engine.alive():
                    break
                continue
            store.record(v, job.case, run_id)
            for twin in twins.get(job, []):
                store.record_case(twin.case, v, run_id, str(twin.solution))
            stats.done += 1
            stats.outcomes[v.outcome.value] += 1
            progress.update(job, v)
        return False
    except KeyboardInterrupt:
        engine.interrupt()
        return True
    finally:
        signal.signal(signal.SIGTERM, old_term)
        engine.close()


def _summary(stats: Stats, wall: float, path: str, interrupted: bool) -> None:
    counts = ", ".join(f"{o} {n}" for o, n in sorted(stats.outcomes.items())) or "nothing new"
    head = "interrupted" if interrupted else "done"
    print(f"{head}: {stats.done} scored, {stats.skipped} already in the store ({counts}); "
          f"{wall:.1f} s wall, {stats.done / max(wall, 1e-9) * 60:.1f} evaluations/min -> {path}",
          file=sys.stderr)
    if interrupted:
        print("run the same command again to resume", file=sys.stderr)


@hydra.main(version_base=None, config_path="../conf", config_name="batch")
@entry
def main(cfg: BatchCfg) -> int:
    return run(cfg)


if __name__ == "__main__":
    entry(main)()
