"""The workers a case runs in: a fresh candidate per case, started ahead of it, and a
reference that stays loaded across the cases of one problem.

A fresh worker spends seconds importing torch and making its CUDA context, which a batch need
not wait for, even after a case that ended at once. Workers learn their case (problem,
solution, extension folder) only from the Load request, so a worker started early serves any
case. A reference that has a problem loaded is kept for that problem's next case (its model,
its init seed and warm state; every other seed is fresh per case, so nothing computed for one
case serves the next); a case of another problem gets a fresh one.
"""
from __future__ import annotations

import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from . import isolate, protocol as P
from .config import EvalCfg
from .device import DeviceInfo
from .proc import WorkerProcess, WorkerFailed, device_env

Pair = tuple[Path, tuple[WorkerProcess, WorkerProcess]]   # the pair's scratch folder, (reference, candidate)
ProblemKey = tuple[str, str]                # the problem file's resolved path and its hash


def new_worker(cfg: EvalCfg, role: str, scratch: Path, env: dict[str, str]) -> WorkerProcess:
    limit = cfg.limits.output_mb if role == "candidate" else cfg.limits.trusted_output_mb
    jail = isolate.jail_for(cfg, role, env.get("CUDA_VISIBLE_DEVICES") != "")
    return WorkerProcess(role, scratch / role, env, output_mb=limit,
                  max_message_mb=cfg.limits.max_message_mb, jail=jail)


def new_pair(cfg: EvalCfg, env: dict[str, str]) -> Pair:
    scratch = _scratch(cfg)
    return scratch, (new_worker(cfg, "reference", scratch, env),
                     new_worker(cfg, "candidate", scratch, env))


def _scratch(cfg: EvalCfg) -> Path:
    return Path(cfg.cache_dir).resolve() / "scratch" / f"case-{uuid.uuid4().hex[:12]}"


@dataclass
class Loaded:
    """A reference worker with `key`'s problem loaded under `init_seed`, and its request times
    from the case that loaded it: a warm reference answers faster than a cold one, and the
    candidate's limits (which start cold) must not shrink with it."""
    key: ProblemKey
    worker: WorkerProcess
    scratch: Path
    init_seed: int
    ref_s: dict[str, float]


@dataclass
class Taken:
    """What a case runs in: `loaded` set when its reference already has the problem."""
    ref: WorkerProcess
    cand: WorkerProcess
    scratch: Path                 # the candidate's (and a fresh reference's)
    loaded: Optional[Loaded] = None


class Spares:
    """Workers started `depth` cases ahead, for one evaluator, and the last problem's reference."""

    def __init__(self, cfg: EvalCfg, dev: DeviceInfo, depth: int = 1):
        self.cfg, self.env = cfg, device_env(dev.device, cfg.timing.cpu_threads)[0]
        self.depth = max(1, depth)
        self.ready: list[Pair] = []
        self.loaded: Optional[Loaded] = None

    def take(self, key: Optional[ProblemKey] = None) -> Taken:
        """A pair of workers, with the kept reference in place of the pair's own when it has
        `key`'s problem loaded (the pair's then goes: a spare costs seconds of CPU, not GPU)."""
        while self.ready:
            pair = self.ready.pop(0)
            if all(w.alive() for w in pair[1]):
                break
            discard(pair)   # died while waiting (killed, out of memory): never hand it out
        else:
            pair = new_pair(self.cfg, self.env)
        while len(self.ready) < self.depth:
            self.ready.append(new_pair(self.cfg, self.env))
        scratch, (ref, cand) = pair
        kept, self.loaded = self.loaded, None
        if kept is not None and kept.key == key and kept.worker.alive():
            ref.kill()
            return Taken(kept.worker, cand, scratch, kept)
        if kept is not None:
            _end(kept.worker, kept.scratch)
        return Taken(ref, cand, scratch)

    def drop_loaded(self) -> None:
        """Before a case that cannot use it: its model and context leave the device."""
        if self.loaded is not None:
            _end(self.loaded.worker, self.loaded.scratch)
            self.loaded = None

    def keep(self, key: ProblemKey, taken: Taken, init_seed: int, ref_s: dict[str, float]) -> Optional[Path]:
        """After a case whose reference did its part: keep that reference loaded, its kept
        outputs, timing state and cached device memory dropped, for the problem's next case.
        Returns the scratch folder it still lives in, or None when it cannot be kept."""
        try:
            if not taken.ref.alive() or \
                    not isinstance(taken.ref.request(P.Reset(), self.cfg.limits.step_s), P.Done):
                return None
        except WorkerFailed:
            return None
        scratch = taken.loaded.scratch if taken.loaded else taken.scratch
        times = dict(ref_s)
        for name, sec in (taken.loaded.ref_s if taken.loaded else {}).items():
            times[name] = max(sec, times.get(name, 0.0))
        self.loaded = Loaded(key, taken.ref, scratch, init_seed, times)
        return scratch

    def close(self) -> None:
        for pair in self.ready:
            discard(pair)
        self.ready = []
        self.drop_loaded()


def _end(w: WorkerProcess, scratch: Optional[Path]) -> None:
    w.kill()
    if scratch is not None:
        shutil.rmtree(scratch, ignore_errors=True)


def discard(pair: Pair) -> None:
    for w in pair[1]:
        w.kill()
    shutil.rmtree(pair[0], ignore_errors=True)
