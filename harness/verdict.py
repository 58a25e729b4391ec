"""The verdict: one record per (problem, solution) that every later stage reads.

Plain dataclasses so that a verdict is JSON in the store, on stdout and in tables alike.
"""
from __future__ import annotations

import dataclasses
import enum
import json
import re
from dataclasses import dataclass, field
from typing import Any, Optional


class Outcome(str, enum.Enum):
    OK = "ok"                        # compiled, ran, matched the reference on every check
    NO_CODE = "no_code"              # the reply holds no usable code defining ModelNew
    LOAD_ERROR = "load_error"        # the code does not import or has no usable ModelNew
    COMPILE_ERROR = "compile_error"  # its extension failed to compile
    RUNTIME_ERROR = "runtime_error"  # forward (or construction) raised, CUDA errors included
    INCORRECT = "incorrect"          # ran, but an output differs from the reference's
    TIMEOUT = "timeout"              # build or run passed its time limit and was killed
    CRASHED = "crashed"              # the worker died: signal, os._exit, no result


# Flags: things the solution did that make a pass or a speedup meaningless; a flagged case never
# counts as a win. Caveats (below) are facts about the problem or the measurement instead.
NO_CUSTOM_KERNEL = "no_custom_kernel"
UNSYNCED_WORK = "unsynced_work"
INPUT_MUTATED = "input_mutated"
NOT_A_TENSOR = "not_a_tensor"
TAMPERING = "tampering"
WEAK_PROBLEM = "weak_problem"
BEYOND_ROOFLINE = "beyond_roofline"
SANDBOX_VIOLATION = "sandbox_violation"

FLAG_DOCS = {
    NO_CUSTOM_KERNEL: "no kernel or extension function from the solution's own sources ran "
                      "during forward (PyTorch-only, or a fallback after a failed build)",
    UNSYNCED_WORK: "work continued after forward returned (side stream, thread or child "
                   "process): the timer would miss it",
    INPUT_MUTATED: "forward changed its inputs in place, or returned an output that aliases one",
    NOT_A_TENSOR: "an output was not a plain torch.Tensor (subclass, wrapper, lazy tensor)",
    TAMPERING: "the solution replaced a function the harness relies on (timers, sync, "
               "comparisons, input generation), read the harness's own state through the "
               "interpreter's frames or objects, or reported times its wall clock contradicts",
    WEAK_PROBLEM: "the reference output barely depends on the input: a constant or zeros "
                  "output, or an input returned unchanged, would pass, so a pass means little",
    BEYOND_ROOFLINE: "the candidate ran faster than the bytes it must move and the FLOPs it "
                     "must do allow on this device",
    SANDBOX_VIOLATION: "the solution opened the network, wrote outside its scratch folder, "
                       "touched files the harness keeps from it, or made a system call the "
                       "sandbox forbids",
}
ALL_FLAGS = tuple(FLAG_DOCS)

# Caveats: facts about the problem or the measurement that a reader should see beside the number.
# They never void a win: nothing the solution did raised them.
LAUNCH_BOUND = "launch_bound"
SPEEDUP_UNCERTAIN = "speedup_uncertain"
NOT_CONVERGED = "not_converged"

CAVEAT_DOCS = {
    LAUNCH_BOUND: "the reference runs within a few times the cost of an empty forward: the "
                  "speedup mostly measures launch and Python overhead",
    SPEEDUP_UNCERTAIN: "the speedup's 95% confidence interval contains 1: neither side is "
                       "shown faster",
    NOT_CONVERGED: "timing stopped on its budget before both medians were tight: the interval "
                   "is wider than the target",
}
ALL_CAVEATS = tuple(CAVEAT_DOCS)


def _gist(why: str) -> str:
    """A finding's reason less which trial saw it: the same reason from six trials is one."""
    return re.sub(r"\btrial \d+\b", "trial", why)


@dataclass
class ErrorMetrics:
    """Error metrics of the worst trial (by relative norm error)."""
    max_abs: float = 0.0
    max_rel: float = 0.0
    rel_norm: float = 0.0
    trial: int = -1


INTERPRETER_CLOCK = "triton_interpreter"


@dataclass
class Timing:
    """Side-by-side timing summary. Times are milliseconds.

    clock `triton_interpreter`: the candidate's Triton kernels ran in Triton's CPU interpreter
    (device=cpu), so its times say nothing about the kernels: the verdict has no speedup.
    """
    ref_median_ms: float
    cand_median_ms: float
    ref_iqr_ms: float
    cand_iqr_ms: float
    ref_ci_ms: tuple[float, float]
    cand_ci_ms: tuple[float, float]
    ref_calls: int
    cand_calls: int
    speedup: float
    speedup_ci: tuple[float, float]
    cache: str                       # cold | rotate | warm
    clock: str                       # cuda_events | cuda_graph | host | triton_interpreter
    rounds: int = 0
    converged: bool = False          # every median's CI reached the target before the budget
    overhead_ms: Optional[float] = None       # empty-forward floor
    floor_ms: Optional[float] = None          # what no algorithm beats: needed bytes / bandwidth
    reference_work_ms: Optional[float] = None  # the reference's FLOPs and bytes at the peaks
    speed_of_light: Optional[float] = None    # reference_work_ms / candidate median
    compile_median_ms: Optional[float] = None
    speedup_vs_compile: Optional[float] = None
    seconds: float = 0.0


@dataclass
class Verdict:
    problem: str
    solution: str
    outcome: Outcome
    flags: list[str] = field(default_factory=list)
    caveats: list[str] = field(default_factory=list)
    message: str = ""                # compiler / runtime / comparison message, first lines
    problem_hash: str = ""
    solution_hash: str = ""
    code_block: Optional[int] = None  # which fenced block of a raw reply was used
    errors: Optional[ErrorMetrics] = None
    timing: Optional[Timing] = None
    details: dict[str, Any] = field(default_factory=dict)   # why each flag and caveat was raised
    seeds: dict[str, Any] = field(default_factory=dict)
    device: str = ""
    hardware: str = ""
    versions: dict[str, str] = field(default_factory=dict)
    config_hash: str = ""
    durations: dict[str, float] = field(default_factory=dict)
    created: str = ""

    @property
    def speedup(self) -> Optional[float]:
        """None when untimed, or timed in Triton's interpreter (no board may rank that time)."""
        if self.timing is None or self.timing.clock == INTERPRETER_CLOCK:
            return None
        return self.timing.speedup

    @property
    def win(self) -> bool:
        """A result a table may count: correct and unflagged (caveats do not count against it)."""
        return self.outcome is Outcome.OK and not self.flags

    @property
    def shown_caveats(self) -> list[str]:
        """The caveats, plus speedup_uncertain read off the timing where the verdict lacks it
        (judged before that caveat was raised): what boards and reports show."""
        t = self.timing
        if SPEEDUP_UNCERTAIN in self.caveats or t is None or \
                not t.speedup_ci[0] <= 1.0 <= t.speedup_ci[1]:
            return list(self.caveats)
        return [*self.caveats, SPEEDUP_UNCERTAIN]

    @property
    def speedup_uncertain(self) -> bool:
        """The speedup's 95% CI contains 1: neither side is shown faster (printed as ~1x)."""
        return SPEEDUP_UNCERTAIN in self.shown_caveats

    def flag(self, name: str, why: str) -> None:
        if name not in FLAG_DOCS:
            raise ValueError(f"unknown flag {name!r}")
        if name not in self.flags:
            self.flags.append(name)
        said = self.details.setdefault(name, why)
        if _gist(why) not in _gist(said):   # raised again for another reason: both are evidence
            self.details[name] = f"{said}; {why}"

    def note(self, findings: Any) -> None:
        """Apply the judge's findings (judge.Finding: a name and why), each as flag or caveat."""
        for f in findings:
            (self.flag if f.name in FLAG_DOCS else self.caveat)(f.name, f.why)

    def caveat(self, name: str, why: str) -> None:
        if name not in CAVEAT_DOCS:
            raise ValueError(f"unknown caveat {name!r}")
        if name not in self.caveats:
            self.caveats.append(name)
        self.details.setdefault(name, why)

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["outcome"] = self.outcome.value
        d["speedup"] = self.speedup
        d["win"] = self.win
        return d

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True, default=str)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Verdict":
        d = {k: v for k, v in d.items() if k in {f.name for f in dataclasses.fields(cls)}}
        d["outcome"] = Outcome(d["outcome"])
        # Stores written before caveats existed kept launch_bound among the flags.
        old = [f for f in d.get("flags", []) if f in CAVEAT_DOCS]
        if old:
            d["flags"] = [f for f in d["flags"] if f not in CAVEAT_DOCS]
            d["caveats"] = list(d.get("caveats", [])) + [c for c in old if c not in d.get("caveats", [])]
        if d.get("errors"):
            d["errors"] = ErrorMetrics(**d["errors"])
        if d.get("timing"):
            t = dict(d["timing"])
            for k in ("ref_ci_ms", "cand_ci_ms", "speedup_ci"):
                t[k] = tuple(t[k])
            d["timing"] = Timing(**t)
        return cls(**d)

    @classmethod
    def from_json(cls, s: str) -> "Verdict":
        return cls.from_dict(json.loads(s))

    def reward(self, cfg: Any = None) -> float:
        """The training reward (harness/reward.py says exactly what it is); cfg: a RewardCfg."""
        from .reward import reward
        return reward(self, cfg)
