"""One case, start to verdict: prepare (solution, build) -> reference -> candidate trials ->
timing -> verdict. Each stage is a module of its own; this file is their order.

This runs in the runner process, which never imports solution code and never touches CUDA:
the two workers do, and everything they say is decoded (protocol) and judged (judge) here.
"""
from __future__ import annotations

import contextlib
import dataclasses
import datetime as _dt
import shutil
import time
import uuid
from pathlib import Path
from typing import Iterator, Optional

from . import __version__, isolate, reference, timed, trials
from .config import EvalCfg, config_hash
from .device import DeviceInfo
from .gate import Gate
from .pool import ProblemKey, Spares, Taken, new_pair
from .problem import ProblemError, file_hash
from .proc import WorkerProcess, device_env
from .reference import Seeds
from .solution import Prepared, prepare
from .talk import CaseEnd, Talk
from .timing import seed_source
from .verdict import WEAK_PROBLEM, Outcome, Verdict


class Case:
    def __init__(self, problem: Path, solution: Path, cfg: EvalCfg, dev: DeviceInfo,
                 store_path: Optional[str] = None, prebuilt: Optional[Prepared] = None,
                 spares: Optional[Spares] = None, gate: Optional[Gate] = None, alone: bool = False):
        """`gate`: shared with other evaluators of the device (each timing stage runs alone);
        `alone`: the whole case does."""
        self.problem, self.solution, self.cfg, self.dev = problem, solution, cfg, dev
        self.alone = alone
        self.prebuilt, self.spares, self.store_path = prebuilt, spares, store_path
        self.cache_dir = Path(cfg.cache_dir).resolve()
        self.new_seed = seed_source(cfg.seed)
        self.verdict = Verdict(
            problem=str(problem), solution=str(solution), outcome=Outcome.OK,
            problem_hash=file_hash(problem), device=dev.device, hardware=dev.hardware,
            versions=dev.versions(__version__), config_hash=config_hash(cfg),
            created=_dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"))
        self.talk = Talk(self.verdict, cfg.limits, gate)
        self.workers: list[WorkerProcess] = []   # every worker of the case (a cancel kills them all)
        self.scratch = self.cache_dir / "scratch" / f"case-{uuid.uuid4().hex[:12]}"
        self.taken: Optional[Taken] = None
        self.reference_done = False       # the reference did its part: it may serve the next case
        self._stage_t = time.monotonic()

    def run(self) -> Verdict:
        t0 = time.monotonic()
        try:
            with self.talk.alone() if self.alone else contextlib.nullcontext():
                self._run()
        except CaseEnd as end:
            self.verdict.outcome = end.outcome
            self.verdict.message = end.message[:8000]
        finally:
            self._release()
            self.verdict.durations["total"] = round(time.monotonic() - t0, 3)
        return self.verdict

    def _release(self) -> None:
        """Workers closed and scratch removed, but a reference the pool keeps for the problem's
        next case (and the folder it lives in)."""
        kept: Optional[Path] = None
        if self.spares is not None and self.taken is not None and self.reference_done:
            with self.talk.shared():   # its Reset gives device memory back: not beside a timing
                kept = self.spares.keep(self._problem_key(), self.taken, self.verdict.seeds["init"],
                                        self.talk.ref_s)
        for w in self.workers:
            if kept is None or w is not self.taken.ref:   # type: ignore[union-attr]
                w.close()
        if kept == self.scratch:
            shutil.rmtree(self.scratch / "candidate", ignore_errors=True)
        else:
            shutil.rmtree(self.scratch, ignore_errors=True)
        if kept is None and self.taken is not None and self.taken.loaded is not None:
            shutil.rmtree(self.taken.loaded.scratch, ignore_errors=True)   # an earlier case's

    def _problem_key(self) -> ProblemKey:
        return str(self.problem.resolve()), self.verdict.problem_hash

    def _stage(self, name: str) -> None:
        now = time.monotonic()
        self.verdict.durations[name] = round(now - self._stage_t, 3)
        self._stage_t = now

    def _run(self) -> None:
        v, cfg, talk, on_gpu = self.verdict, self.cfg, self.talk, self.dev.device != "cpu"
        # prepare: the solution's code and its build (done ahead by a batch's build pool)
        src, code_file, b = self.prebuilt or prepare(self.solution, cfg, self.dev.device)
        v.solution_hash, v.code_block = src.hash, src.block
        v.details["sandbox"] = isolate.plan_for(cfg).describe()
        if b is None:
            raise CaseEnd(Outcome.LOAD_ERROR if src.unreadable else Outcome.NO_CODE, src.reason)
        assert code_file is not None and src.code is not None
        v.details["build"] = {"cached": b.cached, "seconds": round(b.seconds, 3),
                              "extensions": b.extensions, "pch": b.pch}
        self._stage("build")
        if not b.ok:
            raise CaseEnd(b.outcome or Outcome.COMPILE_ERROR, b.message)

        seeds = self._seeds()
        env, device = device_env(self.dev.device, cfg.timing.cpu_threads)
        load = seeds.load(str(self.problem.resolve()), device)
        # A fresh candidate, never in a process with the reference's outputs, which learns its
        # solution only once those exist; a reference with the problem loaded, or a fresh one.
        if self.spares is not None:   # a reproduced case (seed=N) makes its reference afresh
            self.taken = self.spares.take(self._problem_key() if cfg.seed is None else None)
        else:
            scratch, (r, c) = new_pair(cfg, env)
            self.taken = Taken(r, c, scratch)
        ref, cand, self.scratch = self.taken.ref, self.taken.cand, self.taken.scratch
        self.workers += [ref, cand]
        if self.taken.loaded is not None:   # its model was made under this init seed
            seeds = dataclasses.replace(seeds, init=self.taken.loaded.init_seed)
            load = seeds.load(load.problem, load.device)
            v.seeds["init"] = seeds.init
            v.details["reference"] = "kept loaded from the problem's previous case"
            talk.ref_s.update(self.taken.loaded.ref_s)   # the limits its first, cold case set

        # reference: inputs and outputs of every trial, kept in its worker
        with self._reference_is_the_problems():
            outs = reference.run(talk, ref, load, seeds, cfg, loaded=self.taken.loaded is not None)
        self.reference_done = True
        if outs.weak:
            v.flag(WEAK_PROBLEM, outs.weak)
        self._stage("reference")

        store = [self.store_path, f"{self.store_path}-wal", f"{self.store_path}-shm"] if self.store_path else []
        forbidden = [str(self.cache_dir)] + [str(Path(s).resolve()) for s in store]
        try:
            # candidate: the same trials on the same inputs, judged
            cand_load = trials.expose(talk, cand, self.problem, code_file, b.ext_dir, forbidden, cfg, load)
            trials.run(talk, ref, cand, cand_load, seeds, outs, src.code, on_gpu, cfg)
            self._stage("candidate")
            # timing: both sides in turns on the same device
            if cfg.timing.enabled:
                with self._reference_is_the_problems(), talk.alone():
                    timed.run(talk, ref, cand, seeds, self.new_seed, v.seeds["checks"],
                              max(outs.out_bytes), cfg,
                              timed.Place(self.dev, self.cache_dir, self.store_path))
                self._stage("timing")
        finally:
            trials.finish(cand, cfg, v)

    @contextlib.contextmanager
    def _reference_is_the_problems(self) -> Iterator[None]:
        """A case that ends on the reference's side is the problem's failure, not the solution's."""
        try:
            yield
        except CaseEnd as e:
            if e.side != "reference":
                raise
            raise ProblemError(f"{self.problem}: the reference failed: {e.message}") from None

    def _seeds(self) -> Seeds:
        c, new = self.cfg.check, self.new_seed
        seeds = Seeds(init=new(), warm=new(), trials=tuple(new() for _ in range(c.trials)),
                      reuse=new() if c.reuse_check else None,
                      sets=tuple(new() for _ in range(max(1, self.cfg.timing.rotate_sets))),
                      ordered=new() if self.dev.device != "cpu" else None)
        self.verdict.seeds = {"init": seeds.init, "warm": seeds.warm, "trials": list(seeds.trials),
                              "reuse": seeds.reuse, "sets": list(seeds.sets),
                              "ordered": seeds.ordered, "checks": []}
        return seeds


def evaluate(problem: str | Path, solution: str | Path, cfg: EvalCfg, dev: DeviceInfo,
             store_path: Optional[str] = None, prebuilt: Optional[Prepared] = None,
             spares: Optional[Spares] = None) -> Verdict:
    return Case(Path(problem), Path(solution), cfg, dev, store_path, prebuilt, spares).run()
