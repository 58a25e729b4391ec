"""The reference stage: the problem's Model in its own (trusted) worker makes the inputs and
outputs of every trial; it keeps the outputs on its device, keyed, for the comparisons to come.
A failure here is the problem's, never the solution's."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from . import protocol as P
from .config import EvalCfg
from .proc import WorkerProcess
from .talk import Talk
from .tolerance import to_table


@dataclass(frozen=True)
class Seeds:
    """Fresh per case (recorded on the verdict to reproduce it); the candidate learns each one
    only in the request that uses it."""
    init: int
    warm: int
    trials: tuple[int, ...]
    reuse: Optional[int]        # the reused-storage trial (check.reuse_check)
    sets: tuple[int, ...]       # timing input sets
    ordered: Optional[int]      # the stream-order trial (CUDA)

    def load(self, problem: str, device: str) -> P.Load:
        return P.Load(problem, device, self.init)

    def run(self, cfg: EvalCfg, profile: bool) -> P.Run:
        seeds = self.trials + ((self.reuse,) if self.reuse else ())
        return P.Run(seeds, bool(self.reuse), profile, cfg.check.unsynced_delay_s)


@dataclass(frozen=True)
class Outputs:
    """What the reference stage leaves: its trials (outputs kept under their keys) and the key
    of the stream-order trial's output."""
    trials: tuple[P.Trial, ...]
    ordered: Optional[int]
    weak: Optional[str]

    @property
    def out_bytes(self) -> list[int]:
        """Each trial's output size: what the candidate's copies off its device cost."""
        return [int(t.obs.get("out_bytes", 0)) for t in self.trials]


def run(talk: Talk, ref: WorkerProcess, load: P.Load, seeds: Seeds, cfg: EvalCfg, loaded: bool = False) -> Outputs:
    """Raises CaseEnd (side "reference") when the reference fails: the caller makes that the
    problem's failure. `loaded`: the worker has the problem loaded under `load`'s init seed."""
    if not loaded:
        talk.reference(ref, load, "reference load", "load", cfg.limits.load_s)
    talk.reference(ref, P.Warm(seeds.warm), "reference warm-up", "warm")
    trials = talk.reference(ref, seeds.run(cfg, profile=False), "reference run", "run")
    assert isinstance(trials, P.Trials)
    ordered = None
    if seeds.ordered:
        got = talk.reference(ref, P.Run((seeds.ordered,), delay_s=cfg.check.unsynced_delay_s),
                             "reference run", "ordered")
        assert isinstance(got, P.Trials)
        ordered = got.trials[0].key
    keys = tuple(t.key for t in trials.trials[: cfg.check.trials] if t.key is not None)
    weak = talk.ask(ref, P.Weak(keys, to_table(cfg.check.tolerances), cfg.check.weak_margin),
                    cfg.limits.step_s, "reference run", P.WeakAnswer).weak
    return Outputs(trials.trials, ordered, weak)
