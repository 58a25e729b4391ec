"""The candidate's stage: its worker loads the solution (staged into its sandbox), and runs
the same trials as the reference on the same fresh inputs; the reference worker compares the
outputs (handed on unread, in sealed memfds), and the judge reads what both workers observed."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from . import isolate, judge, protocol as P
from .compare import Match
from .config import EvalCfg
from .proc import WorkerProcess, WorkerFailed
from .reference import Outputs, Seeds
from .solution import compiles_on_first_call, kernel_names
from .talk import CaseEnd, Talk
from .tolerance import to_table
from .verdict import UNSYNCED_WORK, ErrorMetrics, Outcome, Verdict


def compare(talk: Talk, ref: WorkerProcess, pairs: list[tuple[Any, Any]], cfg: EvalCfg) -> list[Match]:
    """Candidate outputs (shared memfds, passed on unread) against the reference's kept ones,
    compared in the reference worker on its device."""
    if not pairs:
        return []
    reply = talk.ask(ref, P.Compare(to_table(cfg.check.tolerances),
                                    tuple(P.Pair(k, out) for k, out in pairs)),
                     cfg.limits.step_s, "comparing outputs", P.Matches, side="candidate")
    if len(reply.matches) != len(pairs):
        raise CaseEnd(Outcome.CRASHED, "comparing outputs: the reference worker's answer is malformed")
    return [Match.from_dict(m) for m in reply.matches]


def expose(talk: Talk, cand: WorkerProcess, problem: Path, code_file: Path, ext_dir: Path,
           forbidden: list[str], cfg: EvalCfg, load: P.Load) -> P.Load:
    """The Load request for the candidate: where it finds its files and may write. In a sandbox,
    copies are sent into its tmpfs (it started before its case was known, and sees no cache);
    else the cache itself."""
    if cand.jail is None:
        return P.Load(load.problem, load.device, load.init_seed, str(code_file), str(ext_dir),
                      (str(cand.scratch), str(ext_dir)), tuple(forbidden),
                      (str(ext_dir), str(cand.scratch)))
    files = isolate.folder(ext_dir, "ext")
    files[f"case/{problem.name}"] = problem.resolve()
    talk.ask(cand, P.Stage(isolate.pack(files)), cfg.limits.load_s, "load")
    inside = (str(cand.scratch), isolate.ROOT)
    return P.Load(f"{isolate.CASE}/{problem.name}", load.device, load.init_seed,
                  f"{isolate.EXT}/{code_file.name}", isolate.EXT, inside, tuple(forbidden), inside)


def run(talk: Talk, ref: WorkerProcess, cand: WorkerProcess, load: P.Load, seeds: Seeds, outs: Outputs,
        code: str, on_gpu: bool, cfg: EvalCfg) -> None:
    """Load, warm-up, trials, stream order: raises CaseEnd when the candidate fails or is wrong."""
    v = talk.verdict
    info = talk.ask(cand, load, cfg.limits.load_s, "load", P.Loaded)
    # The first call may compile kernels (a JIT's first launch): allowed more, and never timed.
    jit = cfg.limits.jit_s if compiles_on_first_call(code) else 0.0
    talk.ask(cand, P.Warm(seeds.warm), talk.limit("warm") + jit, "warm-up")
    out_bytes = outs.out_bytes
    trials = talk.ask(cand, seeds.run(cfg, profile=on_gpu), talk.limit("run", sum(out_bytes)),
                      "forward", P.Trials).trials
    if len(trials) != len(outs.trials):
        raise CaseEnd(Outcome.CRASHED, f"forward: {len(trials)} trial results for "
                                       f"{len(outs.trials)} trials")
    _judge_trials(v, compare(talk, ref, [(r.key, c.output) for r, c in zip(outs.trials, trials)], cfg),
                  outs.trials, trials, code, info, on_gpu, cfg)
    if seeds.ordered:
        out = talk.ask(cand, P.Ordered(seeds.ordered), talk.limit("ordered", max(out_bytes)), "forward",
                       P.Output).output
        m = compare(talk, ref, [(outs.ordered, out)], cfg)[0]
        if not m.ok:
            v.flag(UNSYNCED_WORK, "forward did not wait for the caller's stream: with its "
                                  f"inputs made ready late on that stream, {m.message}")
            raise CaseEnd(Outcome.INCORRECT, "stream-order trial (inputs ready late on the "
                                             f"caller's stream): {m.message}")


def _judge_trials(v: Verdict, matches: list[Match], ref_trials: tuple[P.Trial, ...],
                  cand_trials: tuple[P.Trial, ...], code: str, info: P.Loaded, on_gpu: bool,
                  cfg: EvalCfg) -> None:
    worst = ErrorMetrics()
    failure = None
    for i, (r, c, m) in enumerate(zip(ref_trials, cand_trials, matches)):
        v.note(judge.trial(i, c.obs, r.obs))
        if m.errors.rel_norm >= worst.rel_norm:
            worst = ErrorMetrics(m.errors.max_abs, m.errors.max_rel, m.errors.rel_norm, i)
        if not m.ok and failure is None:
            label = "reused-storage trial" if i == cfg.check.trials else f"trial {i + 1}"
            failure = f"{label}: {m.message}"
    v.errors = worst
    findings, v.details["kernels"] = judge.custom_kernel(
        kernel_names(code) | set(cand_trials[-1].obs.get("triton_kernels", [])),
        cand_trials[0].obs.get("kernels", []),
        sum(c.obs.get("ext_calls", 0) for c in cand_trials),
        sum(c.obs.get("triton_launches", 0) for c in cand_trials),
        list(info.extensions), on_gpu=on_gpu)
    v.note(findings)
    if failure:
        raise CaseEnd(Outcome.INCORRECT, failure)


def finish(cand: WorkerProcess, cfg: EvalCfg, v: Verdict) -> None:
    """What the candidate's guards saw, and its network use, whatever the case's end."""
    pid = isolate.inner_pid(cand.proc.pid) if cand.jail is not None and cand.alive() else None
    net = isolate.network_use(pid) if pid else []
    try:
        report = cand.request(P.Finish(), cfg.limits.finish_s)
    except WorkerFailed:
        report = P.Finished()
    v.note(judge.finish(report if isinstance(report, P.Finished) else P.Finished(), net))
