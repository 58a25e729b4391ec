"""Client of one or several `harness.serve` servers (httpx).

    c = Client("http://127.0.0.1:8765")                  # or a list: one server per node
    jobs = c.submit_many([(problem, reply), ...], **{"timing.budget_s": 10})
    for job, v in c.results(jobs):                        # as they finish, any order
        r = v.reward() if v else 0.0                      # v is None for a cancelled job

Several servers: each (problem, solution, overrides) goes to the server that ranks first for its
content hash (rendezvous hashing), so identical work always meets the same store and is scored
once; a server that is down or draining is skipped for the next in that pair's ranking. A job
lives on the server that acknowledged it: its results wait for that server to come back.
"""
from __future__ import annotations

import hashlib
import json
import os
import queue
import re
import socket
import threading
import time
from pathlib import Path
from typing import Any, Iterable, Iterator, Optional, Sequence, Union

import httpx

from .verdict import Verdict

TextOrPath = Union[str, Path]
_DOWN = (httpx.TransportError,)
_INDEX = re.compile(r"^jobs\[(\d+)\]")


class ServerError(Exception):
    """The server refused a request; `status` is the HTTP status, the message its one line."""

    def __init__(self, status: int, message: str, server: str = ""):
        super().__init__(f"{server}: {message}" if server else message)
        self.status, self.message, self.server = status, message, server


class ServerDown(ServerError):
    """No server could be reached (or every one is draining)."""


def _read(value: TextOrPath, what: str) -> str:
    """Text as it is; a path (Path, or a one-line string naming a file) read here."""
    if isinstance(value, Path) or ("\n" not in value and len(value) < 4096 and Path(value).is_file()):
        return Path(value).read_text(encoding="utf-8")
    if "\n" not in value and Path(value).suffix in (".py", ".md", ".txt"):
        raise FileNotFoundError(f"{value}: no such {what} file")
    return value


def ranking(servers: Sequence[str], problem: str, solution: str, overrides: dict[str, Any]) -> list[str]:
    """Rendezvous hashing: every client orders the servers alike for the same work."""
    h = hashlib.sha256("\0".join([problem, solution, json.dumps(overrides, sort_keys=True)])
                       .encode()).hexdigest()
    return sorted(servers, key=lambda s: hashlib.sha256(f"{h}|{s}".encode()).hexdigest(), reverse=True)


class Client:
    def __init__(self, servers: Union[str, Sequence[str]], token: Optional[str] = None,
                 name: Optional[str] = None, timeout: float = 60.0, wait_s: float = 3600.0,
                 batch: int = 200):
        """token: the server's (default: KH_SERVE_TOKEN); name: this client for per-client limits;
        wait_s: how long submit_many keeps retrying a full queue or a server that is down."""
        self.servers = [s.rstrip("/") for s in ([servers] if isinstance(servers, str) else servers)]
        if not self.servers:
            raise ValueError("Client: no server given")
        token = token if token is not None else os.environ.get("KH_SERVE_TOKEN")
        self.headers = {"X-KH-Client": name or f"{socket.gethostname()}-{os.getpid()}"}
        if token:
            self.headers["Authorization"] = f"Bearer {token}"
        self.timeout, self.wait_s, self.batch = timeout, wait_s, batch
        self.http = self._http()
        self.home: dict[str, str] = {}   # job -> the server that acknowledged it
        self._max_batch: dict[str, int] = {}

    def _http(self) -> httpx.Client:
        return httpx.Client(headers=self.headers, timeout=self.timeout)

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # -- plumbing --------------------------------------------------------------------------------
    @staticmethod
    def _check(r: httpx.Response, server: str) -> Any:
        if r.status_code >= 400:
            try:
                msg = r.json().get("error") or r.text
            except ValueError:
                msg = r.text.strip() or r.reason_phrase
            raise ServerError(r.status_code, msg, server)
        return r.json()

    def _call(self, method: str, server: str, path: str, **kw: Any) -> Any:
        try:
            r = self.http.request(method, server + path, **kw)
        except _DOWN as e:
            raise ServerDown(0, f"unreachable ({type(e).__name__}: {e})", server) from None
        return self._check(r, server)

    # -- the API -----------------------------------------------------------------------------------
    def health(self) -> dict[str, Any]:
        """One server: its health (raises ServerDown while it is not up). Several: {"servers":
        {url: health or None}, "up": n}, raising only when none is up."""
        found: dict[str, Optional[dict]] = {}
        for s in self.servers:
            try:
                found[s] = self._call("GET", s, "/health")
            except ServerError:
                if len(self.servers) == 1:
                    raise
                found[s] = None
        up = sum(v is not None for v in found.values())
        if len(self.servers) == 1:
            return found[self.servers[0]]   # type: ignore[return-value]
        if not up:
            raise ServerDown(0, f"none of {len(self.servers)} servers is up")
        return {"servers": found, "up": up}

    def submit(self, problem: TextOrPath, solution: TextOrPath, **overrides: Any) -> str:
        return self.submit_many([(problem, solution)], **overrides)[0]

    def submit_many(self, pairs: Iterable[tuple[TextOrPath, TextOrPath]], **overrides: Any) -> list[str]:
        """Job ids in the order of `pairs`, each acknowledged (durable) by some server. A full
        queue or a rate limit is waited out (Retry-After) for up to wait_s; a server that is
        down or draining passes its pairs to the next in their ranking."""
        items: list[dict[str, Any]] = [{"problem": _read(p, "problem"), "solution": _read(s, "solution"),
                  **({"overrides": overrides} if overrides else {})} for p, s in pairs]
        order = [ranking(self.servers, it["problem"], it["solution"], overrides) for it in items]
        ids: list[Optional[str]] = [None] * len(items)
        dead: set[str] = set()
        deadline = time.monotonic() + self.wait_s
        while any(i is None for i in ids):
            groups: dict[str, list[int]] = {}
            for k, rank in enumerate(order):
                if ids[k] is None:
                    live = [s for s in rank if s not in dead]
                    if not live:
                        if time.monotonic() > deadline:
                            raise ServerDown(0, f"no server took the jobs within {self.wait_s:g} s")
                        time.sleep(1.0)   # every server down or draining: wait, try all again
                        dead.clear()
                        break
                    groups.setdefault(live[0], []).append(k)
            for server, idx in groups.items():
                size = self._batch_for(server)
                for c in range(0, len(idx), size):
                    part = idx[c:c + size]
                    if not self._post_jobs(server, part, items, ids, deadline):
                        dead.add(server)
                        break
        return ids   # type: ignore[return-value]

    def _batch_for(self, server: str) -> int:
        """Jobs per request: ours, or the server's max_batch if smaller (asked once)."""
        if server not in self._max_batch:
            try:
                self._max_batch[server] = int(self._call("GET", server, "/health").get("max_batch", self.batch))
            except ServerError:
                return self.batch   # down: _post_jobs finds out and fails over
        return max(1, min(self.batch, self._max_batch[server]))

    def _post_jobs(self, server: str, part: list[int], items: list[dict], ids: list, deadline: float) -> bool:
        """False when the server is down or draining; raises on a bad request."""
        while True:
            try:
                got = self._call("POST", server, "/jobs", json={"jobs": [items[k] for k in part]})
            except ServerDown:
                return False
            except ServerError as e:
                if e.status == 503:
                    return False
                if e.status != 429 or time.monotonic() > deadline:
                    # name the caller's pair, not the index inside this request
                    m = _INDEX.match(e.message)
                    msg = _INDEX.sub(f"pairs[{part[int(m.group(1))]}]", e.message) if m else e.message
                    raise ServerError(e.status, msg, server) from None
                time.sleep(min(max(self._retry_after(e), 0.2), 30.0))
                continue
            for k, job in zip(part, got["jobs"]):
                ids[k] = job
                self.home[job] = server
            return True

    @staticmethod
    def _retry_after(e: ServerError) -> float:
        m = re.search(r"retry in ([\d.]+) s", e.message)
        return float(m.group(1)) if m else 2.0

    def _server_of(self, job: str) -> str:
        if job in self.home:
            return self.home[job]
        for s in self.servers:
            try:
                self._call("GET", s, f"/jobs/{job}")
            except ServerError:
                continue
            self.home[job] = s
            return s
        raise ServerError(404, f"no server knows job {job}")

    def status(self, job: Optional[str] = None) -> dict[str, Any]:
        """A job's state (and verdict, reward once done), or the server's queue and counts."""
        if job is None:
            if len(self.servers) == 1:
                return self._call("GET", self.servers[0], "/status")
            return {s: self._call("GET", s, "/status") for s in self.servers}
        got = self._call("GET", self._server_of(job), f"/jobs/{job}")
        if got.get("verdict"):
            got["verdict"] = Verdict.from_dict(got["verdict"])
        return got

    def cancel(self, job: str) -> bool:
        """True when the job is cancelled (now or before), False when it had finished."""
        return self._call("DELETE", self._server_of(job), f"/jobs/{job}")["state"] == "cancelled"

    def results(self, jobs: Iterable[str], timeout: Optional[float] = None) -> Iterator[tuple[str, Optional[Verdict]]]:
        """(job, verdict) as each finishes, in any order; verdict None for a cancelled job. A
        server that goes away mid-stream (restart) is asked again until `timeout`."""
        wanted = list(dict.fromkeys(jobs))
        by_server: dict[str, list[str]] = {}
        for j in wanted:
            by_server.setdefault(self._server_of(j), []).append(j)
        out: "queue.Queue[tuple[str, Any]]" = queue.Queue()
        stop = threading.Event()
        deadline = time.monotonic() + timeout if timeout else None
        threads = [threading.Thread(target=self._stream, args=(s, js, out, stop, deadline), daemon=True)
                   for s, js in by_server.items()]
        for th in threads:
            th.start()
        left = set(wanted)
        try:
            while left:
                wait = None if deadline is None else max(deadline - time.monotonic(), 0.0)
                try:
                    job, line = out.get(timeout=wait)
                except queue.Empty:
                    raise TimeoutError(f"{len(left)} job(s) unanswered after {timeout:g} s") from None
                if isinstance(line, Exception):
                    raise line
                if job in left:
                    left.discard(job)
                    yield job, Verdict.from_dict(line["verdict"]) if line.get("verdict") else None
        finally:
            stop.set()

    def _stream(self, server: str, jobs: list[str], out: queue.Queue, stop: threading.Event,
                deadline: Optional[float]) -> None:
        left = set(jobs)
        pause = 0.2
        with self._http() as http:
            while left and not stop.is_set():
                try:
                    with http.stream("POST", server + "/results", json={"jobs": sorted(left)},
                                     timeout=httpx.Timeout(self.timeout, read=None)) as r:
                        if r.status_code >= 400:
                            r.read()
                            self._check(r, server)
                        pause = 0.2
                        for raw in r.iter_lines():
                            if stop.is_set():
                                return
                            if raw.strip():
                                line = json.loads(raw)
                                left.discard(line["job"])
                                out.put((line["job"], line))
                except (httpx.TransportError, ServerError) as e:
                    if isinstance(e, ServerError) and e.status < 500:
                        out.put(("", e))
                        return
                    if deadline is not None and time.monotonic() > deadline:
                        return
                    time.sleep(pause)   # restarting, or draining: ask again
                    pause = min(pause * 2, 5.0)
