"""What the runner asks its workers and what they answer: one frozen dataclass per message,
with its defaults, in one place.

On the channel a message is a dict tagged with its `type`. Each side decodes what it reads into
the class the tag names (a request) or its request expects (a reply), and checks every field's
name and type, so that a malformed message (a hostile candidate can send anything) fails at the
edge as a `ProtocolError`, not as a KeyError deep in the judge. Outputs are `Any`: tensors, or
the channel's shared handles, which the channel checks itself. Imports nothing but the standard
library: workers load it before torch.
"""
from __future__ import annotations

import dataclasses
import math
import typing
from dataclasses import dataclass
from typing import Any, ClassVar, Optional, Union


class ProtocolError(Exception):
    """A message that is not one of ours, or whose fields have the wrong names or types."""


@dataclass(frozen=True)
class Message:
    tag: ClassVar[str] = ""


# -- replies ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Error(Message):
    """Any request: it failed in the worker (`kind`: load, compile, runtime or protocol)."""
    tag = "error"
    error: str
    kind: str = "runtime"
    trace: str = ""
    pch: Optional[dict] = None    # a build's PCH report, which a failed build has too


@dataclass(frozen=True)
class Done(Message):
    tag = "done"


@dataclass(frozen=True)
class Loaded(Message):
    tag = "loaded"
    extensions: tuple[str, ...] = ()
    device_name: str = ""


@dataclass(frozen=True)
class Trial(Message):
    """One correctness call: what the worker observed, and its output (a key the reference
    keeps it under, or the candidate's shared output)."""
    tag = "trial"
    obs: dict
    key: Optional[int] = None
    output: Any = None


@dataclass(frozen=True)
class Trials(Message):
    tag = "trials"
    trials: tuple[Trial, ...]


@dataclass(frozen=True)
class Output(Message):
    tag = "output"
    output: Any


@dataclass(frozen=True)
class Timed(Message):
    """A timing round. The reference's check outputs are keys in `checks`; the candidate's wait
    (`pending` of them) for a `Checks` request, so the round's reply is as small as the
    reference's and the runner's clock compares like with like."""
    tag = "timed"
    device_ms: tuple[float, ...]
    wall_ms: tuple[float, ...]
    threads_grew: bool
    checks: tuple[Any, ...] = ()
    pending: int = 0


@dataclass(frozen=True)
class CheckOutputs(Message):
    tag = "check_outputs"
    checks: tuple[Any, ...]


@dataclass(frozen=True)
class Probed(Message):
    """The reference's work counts (roofline.count_work), its empty-forward time, peak memory,
    and the device's peaks when asked."""
    tag = "probed"
    work: dict
    overhead_ms: float
    peak_memory: int
    peaks: Optional[dict] = None


@dataclass(frozen=True)
class Matches(Message):
    tag = "matches"
    matches: tuple[dict, ...]   # compare.Match.to_dict()


@dataclass(frozen=True)
class WeakAnswer(Message):
    tag = "weak_answer"
    weak: Optional[str]


@dataclass(frozen=True)
class Finished(Message):
    """What the candidate's guards saw over the case."""
    tag = "finished"
    tampered: tuple[str, ...] = ()
    violations: tuple[str, ...] = ()
    ext_calls: int = 0
    inspected: tuple[str, ...] = ()   # the solution's own reads of frames or of every object


@dataclass(frozen=True)
class Built(Message):
    tag = "built"
    extensions: tuple[str, ...] = ()
    pch: Optional[dict] = None
    files: Any = None   # sandboxed: the build folder, packed (isolate.pack)


# -- requests -----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Request(Message):
    reply: ClassVar[type[Message]] = Done


@dataclass(frozen=True)
class Load(Request):
    """The case, as the worker learns it (a spare starts before its case is known). The
    solution fields are the candidate's only."""
    tag, reply = "load", Loaded
    problem: str
    device: str
    init_seed: int
    solution: str = ""
    ext_dir: str = ""
    write_roots: tuple[str, ...] = ()
    forbidden: tuple[str, ...] = ()
    allowed_reads: tuple[str, ...] = ()


@dataclass(frozen=True)
class Warm(Request):
    tag = "warm"
    seed: int


@dataclass(frozen=True)
class Run(Request):
    """Correctness trials, fresh inputs per seed; `reuse` refills the last inputs' storage for
    the last seed; `profile` records the first trial's kernels (CUDA)."""
    tag, reply = "run", Trials
    seeds: tuple[int, ...]
    reuse: bool = False
    profile: bool = False
    delay_s: float = 0.0


@dataclass(frozen=True)
class Ordered(Request):
    tag, reply = "ordered", Output
    seed: int
    cycles: int = 2_000_000   # ~1 ms of device sleep before the inputs become ready


@dataclass(frozen=True)
class Time(Request):
    tag, reply = "time", Timed
    n: int
    set_seeds: tuple[int, ...]
    cache: str
    flush_bytes: int
    lead_us: float
    warmup: bool
    warmup_calls: int
    warmup_s: float
    rotate_sets: int = 1
    check_seeds: tuple[int, ...] = ()
    graph: bool = False
    variant: str = "eager"          # eager | compiled (the reference under torch.compile)
    compile_mode: str = "default"
    poison: int = 0                 # NaN places per floating input during the lead (timing.Poison)


@dataclass(frozen=True)
class Checks(Request):
    tag, reply = "checks", CheckOutputs


@dataclass(frozen=True)
class Probe(Request):
    tag, reply = "probe", Probed
    seed: int
    cache: str
    flush_bytes: int
    probes: int
    peaks: bool = False


@dataclass(frozen=True)
class Pair(Message):
    """A kept reference output against a candidate's (`out`) or another kept one (`other`)."""
    tag = "pair"
    ref: int
    out: Any = None
    other: Optional[int] = None


@dataclass(frozen=True)
class Compare(Request):
    tag, reply = "compare", Matches
    tolerances: Any               # tolerance.to_table()
    pairs: tuple[Pair, ...]
    keep: bool = False


@dataclass(frozen=True)
class Weak(Request):
    """Would a zeros or constant output, or an input returned unchanged (inputs drawn
    non-negative make ReLU the identity: a copy is then a passing kernel), pass these?"""
    tag, reply = "weak", WeakAnswer
    keys: tuple[int, ...]
    tolerances: Any
    margin: float


@dataclass(frozen=True)
class Finish(Request):
    tag, reply = "finish", Finished


@dataclass(frozen=True)
class Build(Request):
    tag, reply = "build", Built
    solution: str
    pch: tuple[dict, ...] = ()    # pch.Offer.message() of each offer
    send_back: str = ""           # sandboxed: the folder to pack into the reply


@dataclass(frozen=True)
class Stage(Request):
    """Sandboxed: files for the worker's tmpfs, packed."""
    tag = "stage"
    files: Any


@dataclass(frozen=True)
class Reset(Request):
    """Reference only, between two cases of its problem: drop every kept output, timing input
    set and captured graph, and give cached device memory back (the next candidate needs it)."""
    tag = "reset"


@dataclass(frozen=True)
class Exit(Request):
    tag = "exit"


REQUESTS: dict[str, type[Request]] = {c.tag: c for c in (
    Load, Warm, Run, Ordered, Time, Checks, Probe, Compare, Weak, Finish, Build, Stage, Reset, Exit)}


# -- on the channel ----------------------------------------------------------------------------------
def encode(msg: Message) -> dict[str, Any]:
    """A message as plain data for the channel (tuples become lists, nested messages dicts)."""
    return {"type": msg.tag, **{f.name: _plain(getattr(msg, f.name)) for f in dataclasses.fields(msg)}}


def _plain(v: Any) -> Any:
    if isinstance(v, Message):
        return encode(v)
    if isinstance(v, tuple):
        return [_plain(x) for x in v]
    return v


def decode_request(data: Any) -> Request:
    """What a worker reads: the request its tag names."""
    tag = data.get("type") if isinstance(data, dict) else None
    cls = REQUESTS.get(tag) if isinstance(tag, str) else None
    if cls is None:
        raise ProtocolError(f"not a request: type {tag!r}")
    return typing.cast(Request, decode(cls, data))


def decode_reply(request: Request, data: Any) -> Message:
    """What the runner reads back: the reply `request` expects, or an Error."""
    tag = data.get("type") if isinstance(data, dict) else None
    cls = Error if tag == Error.tag else request.reply
    return decode(cls, data)


def decode(cls: type[Message], data: Any) -> Message:
    if not isinstance(data, dict):
        raise ProtocolError(f"{cls.tag}: a {type(data).__name__}, not a mapping")
    if data.get("type", cls.tag) != cls.tag:
        raise ProtocolError(f"expected {cls.tag}, got {data.get('type')!r}")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = set(data) - set(fields) - {"type"}
    if unknown:
        raise ProtocolError(f"{cls.tag}: unknown fields {sorted(map(str, unknown))}")
    hints = _hints(cls)
    values = {}
    for name, f in fields.items():
        if name in data:
            values[name] = _value(data[name], hints[name], f"{cls.tag}.{name}")
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise ProtocolError(f"{cls.tag}: no {name}")
    return cls(**values)


_HINTS: dict[type, dict[str, Any]] = {}


def _hints(cls: type) -> dict[str, Any]:
    if cls not in _HINTS:
        _HINTS[cls] = typing.get_type_hints(cls)
    return _HINTS[cls]


def _value(v: Any, hint: Any, where: str) -> Any:
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if hint is Any:
        return v
    if origin is Union:
        if v is None and type(None) in args:
            return None
        return _value(v, next(a for a in args if a is not type(None)), where)
    if origin is tuple:
        if not isinstance(v, (list, tuple)):
            raise ProtocolError(f"{where}: a {type(v).__name__}, not a list")
        return tuple(_value(x, args[0], f"{where}[]") for x in v)
    if isinstance(hint, type) and issubclass(hint, Message):
        return decode(hint, v)
    ok = {dict: isinstance(v, dict), bool: isinstance(v, bool), str: isinstance(v, str),
          int: isinstance(v, int) and not isinstance(v, bool),
          float: isinstance(v, (int, float)) and not isinstance(v, bool)}.get(hint)
    if ok is None:
        raise TypeError(f"{where}: the protocol has no rule for {hint!r}")
    if not ok:
        raise ProtocolError(f"{where}: a {type(v).__name__}, not {hint.__name__}")
    if hint is float:   # every float of the protocol is a time, a size or a margin: finite
        try:
            f = float(v)
        except OverflowError:
            f = math.inf
        if not math.isfinite(f):
            raise ProtocolError(f"{where}: {v!r} is not a finite number")
        return f
    return v
