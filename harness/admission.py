"""What the server lets in: request validation and limits, as pure functions (no I/O).

Everything a worker would otherwise meet (size, encoding, shape, which knobs a job may change)
is decided here, before a file is written or a job acknowledged; each refusal is one line that
names the field.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any, Optional


class RequestError(Exception):
    """A refused request: HTTP status, one line, and how long to wait when retrying helps."""

    def __init__(self, status: int, message: str, retry_after: Optional[float] = None):
        super().__init__(message)
        self.status, self.message, self.retry_after = status, message, retry_after


@dataclass
class JobSpec:
    problem: str
    solution: str
    overrides: dict[str, Any] = field(default_factory=dict)


@dataclass
class Limits:
    max_batch: int
    max_solution_bytes: int
    max_problem_bytes: int
    overridable: tuple[str, ...]


def decode_body(body: bytes) -> Any:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as e:
        raise RequestError(400, f"request body is not UTF-8 ({e.reason} at byte {e.start})") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise RequestError(400, f"request body is not JSON ({e.msg} at line {e.lineno} "
                                f"column {e.colno})") from None


def _text(job: dict, name: str, where: str, limit: int) -> str:
    value = job.get(name)
    if not isinstance(value, str):
        raise RequestError(400, f"{where}.{name}: expected a string, got "
                                f"{'nothing' if value is None else type(value).__name__}")
    try:
        size = len(value.encode("utf-8"))
    except UnicodeEncodeError as e:
        raise RequestError(400, f"{where}.{name} is not valid UTF-8 text ({e.reason} at "
                                f"character {e.start})") from None
    if size > limit:
        raise RequestError(413, f"{where}.{name} is {math.ceil(size / 1024)} KiB, over the "
                                f"{limit // 1024} KiB limit")
    if not value.strip():
        raise RequestError(400, f"{where}.{name} is empty")
    return value


def _overrides(value: Any, where: str, allowed: tuple[str, ...]) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise RequestError(400, f"{where}.overrides: expected an object of knob -> value")
    for key in value:
        root = str(key).split(".", 1)[0]
        if root not in allowed:
            raise RequestError(400, f"{where}.overrides: {key} cannot be set per job (only "
                                    f"{', '.join(k + '.*' for k in allowed)})")
    return dict(value)


def parse_jobs(payload: Any, limits: Limits) -> list[JobSpec]:
    """{"jobs": [{"problem": text, "solution": text, "overrides"?: {...}}, ...]}"""
    if not isinstance(payload, dict) or not isinstance(payload.get("jobs"), list):
        raise RequestError(400, 'expected {"jobs": [{"problem": ..., "solution": ...}, ...]}')
    extra = set(payload) - {"jobs"}
    if extra:
        raise RequestError(400, f"unknown field(s): {', '.join(sorted(extra))}")
    jobs = payload["jobs"]
    if not jobs:
        raise RequestError(400, "jobs: empty list")
    if len(jobs) > limits.max_batch:
        raise RequestError(413, f"jobs: {len(jobs)} in one request, over the limit of "
                                f"{limits.max_batch}: split it")
    specs = []
    for i, job in enumerate(jobs):
        where = f"jobs[{i}]"
        if not isinstance(job, dict):
            raise RequestError(400, f"{where}: expected an object")
        extra = set(job) - {"problem", "solution", "overrides"}
        if extra:
            raise RequestError(400, f"{where}: unknown field(s): {', '.join(sorted(extra))}")
        specs.append(JobSpec(_text(job, "problem", where, limits.max_problem_bytes),
                             _text(job, "solution", where, limits.max_solution_bytes),
                             _overrides(job.get("overrides"), where, limits.overridable)))
    return specs


def parse_ids(payload: Any) -> list[str]:
    """{"jobs": [id, ...]}"""
    ids = payload.get("jobs") if isinstance(payload, dict) else None
    if not isinstance(ids, list) or not ids or not all(isinstance(j, str) for j in ids):
        raise RequestError(400, 'expected {"jobs": ["<job id>", ...]} (a non-empty list of strings)')
    return ids


def admit(new_units: int, queued_units: int, max_queue: int, new_jobs: int, client_pending: int,
          client_queue: int, retry_after: float) -> None:
    """Bounded queue and per-client share: refuse the whole submit, with a time to retry."""
    if new_units and queued_units + new_units > max_queue:
        if new_units > max_queue:
            raise RequestError(413, f"{new_units} new jobs can never fit the queue bound of "
                                    f"{max_queue}: split the request")
        raise RequestError(429, f"queue full ({queued_units} of {max_queue} waiting; this submit "
                                f"adds {new_units}): retry later", retry_after)
    if client_pending + new_jobs > client_queue:
        raise RequestError(429, f"this client has {client_pending} jobs waiting (limit "
                                f"{client_queue}; this submit adds {new_jobs}): retry later",
                           retry_after)


class TokenBucket:
    """Per-client rate limit: `rate` jobs a second sustained, `burst` at once."""

    def __init__(self, rate: float, burst: float):
        self.rate, self.burst = rate, burst
        self.level: dict[str, tuple[float, float]] = {}   # client -> (tokens, at)

    def take(self, client: str, n: int, now: float) -> None:
        tokens, at = self.level.get(client, (self.burst, now))
        tokens = min(self.burst, tokens + (now - at) * self.rate)
        if n > tokens:
            if n > self.burst:
                raise RequestError(413, f"{n} jobs in one submit, over this client's burst limit "
                                        f"of {self.burst:g}: split it")
            wait = (n - tokens) / self.rate if self.rate > 0 else math.inf
            raise RequestError(429, f"rate limit: {self.rate:g} jobs/s per client (burst "
                                    f"{self.burst:g}): retry in {wait:.1f} s", wait)
        self.level[client] = (tokens - n, now)
