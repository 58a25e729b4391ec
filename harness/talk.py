"""A case's requests to its two workers: every way a worker can fail to answer becomes how the
case ends (CaseEnd, naming the side that failed), each request's wall time is recorded on the
verdict, and a candidate's limits follow from the reference's time for the same request."""
from __future__ import annotations

import contextlib
import signal
import time
from typing import Any, Iterator, Optional, TypeVar

from . import protocol as P
from .config import LimitsCfg
from .gate import Gate
from .proc import WorkerProcess, WorkerFailed
from .verdict import SANDBOX_VIOLATION, Outcome, Verdict

R = TypeVar("R", bound=P.Message)
_ERROR_OUTCOMES = {"load": Outcome.LOAD_ERROR, "compile": Outcome.COMPILE_ERROR}


class CaseEnd(Exception):
    """The case is decided before the end (error, crash, timeout, wrong output); `side` is
    the worker's role that failed: a reference's failure is the problem's, not the solution's."""

    def __init__(self, outcome: Outcome, message: str, side: str = "candidate"):
        super().__init__(message)
        self.outcome, self.message, self.side = outcome, message, side


class Talk:
    def __init__(self, verdict: Verdict, limits: LimitsCfg, gate: Optional[Gate] = None):
        self.verdict, self.limits, self.gate = verdict, limits, gate
        self.last_s = 0.0                  # wall time of the last request
        self.ref_s: dict[str, float] = {}  # the reference's time per request, by name
        self._alone = False

    @contextlib.contextmanager
    def alone(self) -> Iterator[None]:
        """What is asked inside runs with nothing else of ours on the device (the gate's
        other users wait); the wall-clock window goes on the verdict."""
        if self.gate is None or self._alone:
            yield
            return
        t0 = time.monotonic()
        with self.gate.alone():
            self.verdict.details["gate_wait_s"] = round(self.verdict.details.get("gate_wait_s", 0.0)
                                                        + time.monotonic() - t0, 3)
            start = time.time()
            self._alone = True
            try:
                yield
            finally:
                self._alone = False
                self.verdict.details["alone"] = [round(start, 3), round(time.time(), 3)]

    def shared(self) -> Any:
        """Held for one request: beside others' requests, never beside a timing stage."""
        return contextlib.nullcontext() if self.gate is None or self._alone else self.gate.shared()

    def ask(self, worker: WorkerProcess, req: P.Request, timeout: float, stage: str,
            expect: type[R] = P.Message, side: Optional[str] = None) -> R:   # type: ignore[assignment]
        """One request; its wall time adds to details["requests"] under role.type, so that a
        case's cost can be read off its verdict (worker starts show up in the first request).
        A failure is `side`'s (the worker's role unless said)."""
        side = side or worker.role
        with self.shared():   # the wait, if any, is not the request's time
            t0 = time.monotonic()
            return self._ask(worker, req, timeout, stage, expect, side, t0)

    def _ask(self, worker: WorkerProcess, req: P.Request, timeout: float, stage: str,
             expect: type[R], side: str, t0: float) -> R:
        try:
            reply = worker.request(req, timeout)
        except WorkerFailed as e:
            f = e.failure
            if f.signal == signal.SIGSYS:
                self.verdict.flag(SANDBOX_VIOLATION, f"{stage}: killed by the sandbox's seccomp "
                                                     "filter for a forbidden system call")
            if f.kind == "timeout":
                raise CaseEnd(Outcome.TIMEOUT, f"{stage}: no answer within {timeout:g} s (killed)", side)
            raise CaseEnd(Outcome.CRASHED, f"{stage}: worker {f.message}", side)
        finally:
            self.last_s = time.monotonic() - t0
            spent = self.verdict.details.setdefault("requests", {})
            key = f"{worker.role}.{req.tag}"
            spent[key] = round(spent.get(key, 0.0) + self.last_s, 3)
        if isinstance(reply, P.Error):
            raise CaseEnd(_ERROR_OUTCOMES.get(reply.kind, Outcome.RUNTIME_ERROR),
                          f"{stage}: {reply.error}", side)
        assert isinstance(reply, expect)   # decode_reply gives the request's reply or an Error
        return reply

    def reference(self, worker: WorkerProcess, req: P.Request, stage: str, name: str,
                  timeout: Optional[float] = None) -> P.Message:
        """A reference request, its time kept under `name` for the candidate's limit."""
        reply: P.Message = self.ask(worker, req, self.limits.step_s if timeout is None else timeout, stage)
        self.ref_s[name] = max(self.ref_s.get(name, 0.0), self.last_s)
        return reply

    def limit(self, name: Optional[str], out_bytes: int = 0) -> float:
        """A candidate request's limit, from the reference's time for the same request, plus
        the time its outputs of `out_bytes` take to leave the device (the reference keeps its
        own there)."""
        lim = self.limits
        ref_s = self.ref_s.get(name) if name else None
        base = lim.step_s if ref_s is None else max(lim.cand_floor_s, lim.cand_factor * ref_s)
        return base + out_bytes / (lim.copy_gb_s * 1e9)
