"""The workers a case runs in: a fresh reference/candidate pair per case, started ahead of it.

A fresh worker spends seconds importing torch and making its CUDA context, which a batch need
not wait for, even after a case that ended at once. Workers learn their case (problem,
solution, extension folder) only from the Load request, so a pair started early serves any case.
"""
from __future__ import annotations

import shutil
import uuid
from pathlib import Path

from . import isolate
from .config import EvalCfg
from .device import DeviceInfo
from .proc import Worker, device_env

Pair = tuple[Path, tuple[Worker, Worker]]   # the pair's scratch folder, (reference, candidate)


def new_worker(cfg: EvalCfg, role: str, scratch: Path, env: dict[str, str]) -> Worker:
    limit = cfg.limits.output_mb if role == "candidate" else cfg.limits.trusted_output_mb
    jail = isolate.jail_for(cfg, role, env.get("CUDA_VISIBLE_DEVICES") != "")
    return Worker(role, scratch / role, env, output_mb=limit,
                  max_message_mb=cfg.limits.max_message_mb, jail=jail)


def new_pair(cfg: EvalCfg, env: dict[str, str]) -> Pair:
    scratch = Path(cfg.cache_dir).resolve() / "scratch" / f"case-{uuid.uuid4().hex[:12]}"
    return scratch, (new_worker(cfg, "reference", scratch, env),
                     new_worker(cfg, "candidate", scratch, env))


def discard(pair: Pair) -> None:
    for w in pair[1]:
        w.kill()
    shutil.rmtree(pair[0], ignore_errors=True)


class Spares:
    """Pairs started `depth` ahead of their cases, for one evaluator."""

    def __init__(self, cfg: EvalCfg, dev: DeviceInfo, depth: int = 1):
        self.cfg, self.env = cfg, device_env(dev.device, cfg.timing.cpu_threads)[0]
        self.depth = max(1, depth)
        self.ready: list[Pair] = []

    def take(self) -> Pair:
        while self.ready:
            pair = self.ready.pop(0)
            if all(w.alive() for w in pair[1]):
                break
            discard(pair)   # died while waiting (killed, out of memory): never hand it out
        else:
            pair = new_pair(self.cfg, self.env)
        while len(self.ready) < self.depth:
            self.ready.append(new_pair(self.cfg, self.env))
        return pair

    def close(self) -> None:
        for pair in self.ready:
            discard(pair)
        self.ready = []
