"""The evaluation service: a real server on localhost (CPU), the real client, the real store.

Real evaluations are few and cheap: torch_only.py (no compile; one build shared by every config)
for cases that run workers, and replies without code (no_code: scored through the whole service
in milliseconds) for the many jobs that load, burst and restart tests need.
"""
from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

import harness
from harness.admission import Limits, RequestError, TokenBucket, admit, parse_jobs
from harness.client import Client, ServerDown, ServerError, ranking
from harness.config import RewardCfg
from harness.verdict import Outcome, Timing, Verdict

from conftest import ADVERSARIAL, ROOT, SMALL

PROBLEM = SMALL.read_text()
TORCH_ONLY = (ADVERSARIAL / "torch_only.py").read_text()
FAST = {"timing.enabled": False, "check.trials": 2}
# A case that would run for minutes: what cancel and a full queue need (same build as FAST).
SLOW = {"timing.budget_s": 600.0, "timing.min_calls": 10 ** 6, "timing.max_calls": 10 ** 7,
        "timing.rel_ci": 0.0, "check.trials": 2}


def no_code(i: int) -> str:
    return f"Reply {i}: ReLU is memory-bound, so no kernel here.\n"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """`python -m harness.serve` in a subprocess; start() waits for /health."""

    def __init__(self, tmp: Path, cache_dir: Path, name: str, *args: str, token: str = ""):
        self.port, self.db, self.token = free_port(), tmp / f"{name}.db", token
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = tmp / f"{name}.log"
        self.argv = [sys.executable, "-m", "harness.serve", "device=cpu", f"port={self.port}",
                     f"store={self.db}", f"cache_dir={cache_dir}", "build_workers=1",
                     "prestart=never", *args]
        self.proc: subprocess.Popen | None = None
        self.start()

    def start(self) -> None:
        env = {**os.environ, "KH_SERVE_TOKEN": self.token}
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(self.argv, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env=env)
        deadline = time.monotonic() + 180
        with Client(self.url, token=self.token) as c:
            while True:
                try:
                    c.health()
                    return
                except ServerDown:
                    if self.proc.poll() is not None or time.monotonic() > deadline:
                        raise AssertionError(f"server did not start: {self.log.read_text()[-3000:]}")
                    time.sleep(0.3)

    def signal(self, sig: int) -> int:
        assert self.proc is not None
        self.proc.send_signal(sig)
        return self.proc.wait(timeout=300)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.signal(signal.SIGKILL)

    def rows(self, sql: str) -> list[tuple]:
        with sqlite3.connect(self.db) as c:
            return c.execute(sql).fetchall()


@pytest.fixture
def servers(tmp_path, cache_dir):
    started: list[Server] = []

    def start(name: str, *args: str, token: str = "") -> Server:
        started.append(Server(tmp_path, cache_dir, name, *args, token=token))
        return started[-1]

    yield start
    for s in started:
        s.stop()


def wait_for(what, timeout: float = 300, every: float = 0.2):
    deadline = time.monotonic() + timeout
    while not what():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(every)


# -- pure decisions ------------------------------------------------------------------------------
def _verdict(outcome=Outcome.OK, flags=(), speedup=(2.0, 1.5, 2.5)) -> Verdict:
    v = Verdict("p", "s", outcome, flags=list(flags))
    if speedup:
        s, lo, hi = speedup
        v.timing = Timing(1, 1, 0, 0, (1, 1), (1, 1), 5, 5, s, (lo, hi), "cold", "host")
    return v


def test_reward_is_zero_unless_a_clean_win_and_grows_with_the_ci_bound():
    assert _verdict(Outcome.INCORRECT).reward() == 0.0
    assert _verdict(flags=["no_custom_kernel"]).reward() == 0.0
    v = _verdict(speedup=(2.0, 1.5, 2.5))
    v.caveats = ["launch_bound"]   # a caveat never voids a win
    assert v.reward() == pytest.approx(1 + 0.584962500721156)   # 1 + log2(1.5), the CI's bound
    assert v.reward(RewardCfg(speedup="median")) == pytest.approx(2.0)
    assert _verdict(speedup=(1e6, 1e6, 1e6)).reward() == pytest.approx(5.0)    # capped at 16x
    assert _verdict(speedup=(0.01, 0.01, 0.02)).reward() == pytest.approx(0.1)  # floor
    assert _verdict(speedup=None).reward() == 1.0   # timing off: correct
    with pytest.raises(ValueError, match="speedup"):
        _verdict().reward(RewardCfg(speedup="mean"))


def test_admission_refuses_with_one_line_each():
    lim = Limits(max_batch=2, max_solution_bytes=100, max_problem_bytes=1000, overridable=("timing",))
    ok = {"problem": "x", "solution": "y"}
    assert len(parse_jobs({"jobs": [ok]}, lim)) == 1
    for payload, status, words in [
            ({"jobs": [ok] * 3}, 413, "over the limit of 2"),
            ({"jobs": [{"problem": "x"}]}, 400, "jobs[0].solution: expected a string"),
            ({"jobs": [{**ok, "solution": "é" * 60}]}, 413, "jobs[0].solution is 1 KiB"),
            ({"jobs": [{**ok, "solution": "\ud800"}]}, 400, "not valid UTF-8"),
            ({"jobs": [{**ok, "overrides": {"device": "cuda"}}]}, 400, "device cannot be set"),
            ({"jobs": [{**ok, "x": 1}]}, 400, "unknown field"), ({"job": []}, 400, "expected")]:
        with pytest.raises(RequestError) as e:
            parse_jobs(payload, lim)
        assert e.value.status == status and words in e.value.message
    with pytest.raises(RequestError) as e:
        admit(2, 9, 10, 2, 0, 100, 5.0)
    assert e.value.status == 429 and "queue full" in e.value.message and e.value.retry_after == 5.0
    admit(0, 10, 10, 5, 0, 100, 5.0)   # store hits and twins never fill the queue
    bucket = TokenBucket(rate=1.0, burst=2)
    bucket.take("a", 2, now=0.0)
    with pytest.raises(RequestError, match="rate limit"):
        bucket.take("a", 1, now=0.5)
    bucket.take("b", 1, now=0.5)
    bucket.take("a", 1, now=1.1)
    assert ranking(["u", "v", "w"], "p", "s", {}) == ranking(["w", "u", "v"], "p", "s", {})


@pytest.mark.slow
# -- the API ---------------------------------------------------------------------------------------
def test_api_takes_problem_text_and_stores_it_by_hash(cache_dir):
    v = harness.evaluate(problem=PROBLEM, solution=str(ADVERSARIAL / "torch_only.py"), device="cpu",
                         cache_dir=str(cache_dir), **FAST)
    assert v.outcome is Outcome.OK and v.flags == ["no_custom_kernel"] and v.reward() == 0.0
    import hashlib
    assert Path(v.problem) == cache_dir.resolve() / "inputs" / "problems" / \
        f"{hashlib.sha256(PROBLEM.encode()).hexdigest()}.py"
    with pytest.raises(FileNotFoundError, match="no such solution"):
        harness.evaluate(problem=PROBLEM, solution="missing.py", device="cpu")


@pytest.mark.slow
# -- the server ------------------------------------------------------------------------------------
def test_submit_stream_twins_store_hits_and_cancel(servers):
    s = servers("a")
    c = Client(s.url)
    jobs = c.submit_many([(SMALL, TORCH_ONLY), (PROBLEM, no_code(1)), (PROBLEM, no_code(1))], **FAST)
    got = dict(c.results(jobs, timeout=300))
    assert set(got) == set(jobs)
    assert got[jobs[0]].outcome is Outcome.OK and got[jobs[0]].flags == ["no_custom_kernel"]
    assert got[jobs[1]].outcome is Outcome.NO_CODE and got[jobs[2]].to_dict() == got[jobs[1]].to_dict()
    # Identical (problem, solution, config): answered from the store, scored once.
    again = c.submit(PROBLEM, TORCH_ONLY, **FAST)
    assert c.status(again)["state"] == "done"
    assert c.status(again)["verdict"].seeds == got[jobs[0]].seeds
    assert s.rows("select count(*) from verdicts") == [(2,)]
    # Cancel a running case: its workers are stopped, nothing is recorded, and it is answered.
    slow = c.submit(PROBLEM, TORCH_ONLY, **SLOW)
    wait_for(lambda: c.status(slow)["state"] == "running")
    time.sleep(2)   # into its workers' requests
    t0 = time.monotonic()
    assert c.cancel(slow) is True
    assert list(c.results([slow], timeout=60)) == [(slow, None)]
    assert c.cancel(jobs[0]) is False   # finished already
    wait_for(lambda: c.status()["queue"] == 0, timeout=120)
    assert time.monotonic() - t0 < 120   # far less than the case's 600 s budget
    assert s.rows("select count(*) from verdicts") == [(2,)]
    assert dict(s.rows("select state, count(*) from jobs group by state")) == {"done": 4, "cancelled": 1}


@pytest.mark.slow
def test_clients_take_turns(servers):
    s = servers("fair")   # one build worker, one evaluator: the engine holds 3 units at a time
    a, b = Client(s.url, name="a"), Client(s.url, name="b")
    ja = a.submit_many([(PROBLEM, TORCH_ONLY)], **FAST)
    ja += a.submit_many([(PROBLEM, no_code(500 + i)) for i in range(6)])
    jb = b.submit(PROBLEM, no_code(600))   # while a's first case runs, 6 of a's jobs behind it
    assert len(dict(a.results(ja, timeout=300))) == 7 and len(list(b.results([jb], timeout=60))) == 1
    order = [j for (j,) in s.rows("select j.job_id from verdicts v join jobs j using (problem_hash, "
                                  "solution_hash, hardware, config_hash) order by v.rowid")]
    assert order.index(jb) < order.index(ja[-1]) and order.index(jb) <= 5


@pytest.mark.slow
def test_a_burst_beyond_the_queue_bound_is_told_to_retry(servers):
    s = servers("q", "max_queue=3")
    c = Client(s.url, wait_s=240)
    slow = c.submit(PROBLEM, TORCH_ONLY, **SLOW)            # holds the one evaluator
    queued = c.submit_many([(PROBLEM, no_code(i)) for i in (10, 11)])   # 3 of 3
    body = {"jobs": [{"problem": PROBLEM, "solution": no_code(12)}]}
    r = httpx.post(f"{s.url}/jobs", json=body)
    assert r.status_code == 429 and "queue full" in r.json()["error"] and "retry later" in r.json()["error"]
    assert int(r.headers["Retry-After"]) >= 1
    r = httpx.post(f"{s.url}/jobs", json={"jobs": [{"problem": PROBLEM, "solution": no_code(i)}
                                                   for i in range(20, 24)]})
    assert r.status_code == 413 and "can never fit" in r.json()["error"]
    twin = c.submit(PROBLEM, no_code(10))                   # a twin of queued work is free
    # The client waits a full queue out: it gets in once the slow case is cancelled.
    late: list = []
    waiter = threading.Thread(target=lambda: late.extend(c.submit_many([(PROBLEM, no_code(12))])))
    waiter.start()
    time.sleep(1.5)
    assert not late
    c.cancel(slow)
    waiter.join(timeout=240)
    assert len(late) == 1
    done = dict(c.results([*queued, twin, *late], timeout=120))
    assert all(v.outcome is Outcome.NO_CODE for v in done.values())
    # Nothing refused was written: three no_code verdicts, and jobs only for what was acknowledged.
    assert s.rows("select count(*) from verdicts") == [(3,)]
    assert s.rows("select count(*) from jobs") == [(5,)]


@pytest.mark.slow
def test_bad_requests_get_a_clear_error_and_reach_no_worker(servers, tmp_path):
    s = servers("bad", "max_solution_kb=1", "max_batch=3", "max_request_mb=0.05",
                "client_rate=0.001", "client_burst=4", token="sekrit")
    url, auth = s.url, {"Authorization": "Bearer sekrit"}

    def post(path, content=None, **kw):
        return httpx.post(url + path, content=content, headers={**auth, **kw.pop("headers", {})}, **kw)

    job = {"problem": PROBLEM, "solution": no_code(0)}
    cases = [
        (httpx.post(url + "/jobs", json={"jobs": [job]}), 401, "token"),
        (post("/jobs", b"\xff\xfe{}"), 400, "not UTF-8"),
        (post("/jobs", b"{jobs: 1"), 400, "not JSON"),
        (post("/jobs", json.dumps({"jobs": "x"}).encode()), 400, "expected"),
        (post("/jobs", json=None, content=json.dumps({"jobs": [{**job, "solution": "x" * 2000}]})), 413, "1 KiB limit"),
        (post("/jobs", b'{"jobs": [{"problem": "x", "solution": "\\ud800"}]}'), 400, "not valid UTF-8"),
        (post("/jobs", json.dumps({"jobs": [{**job, "problem": "import torch\n"}]}).encode()), 400,
         "jobs[0].problem: problem file does not define Model"),
        (post("/jobs", json.dumps({"jobs": [{**job, "problem": "def (:\n"}]}).encode()), 400, "cannot parse"),
        (post("/jobs", json.dumps({"jobs": [{**job, "overrides": {"store": "/etc/x"}}]}).encode()), 400,
         "cannot be set per job"),
        (post("/jobs", json.dumps({"jobs": [{**job, "overrides": {"timing.nope": 1}}]}).encode()), 400,
         "timing.nope"),
        (post("/jobs", json.dumps({"jobs": [{**job, "overrides": {"timing.budget_s": "soon"}}]}).encode()),
         400, "could not be converted"),
        (post("/jobs", json.dumps({"jobs": [job] * 4}).encode()), 413, "split it"),
        (post("/jobs", b"x" * 60000), 413, "MiB limit"),
        (httpx.get(url + "/jobs/nope", headers=auth), 404, "no job nope"),
        (httpx.delete(url + "/jobs/nope", headers=auth), 404, "no job nope"),
        (post("/results", json.dumps({"jobs": ["nope"]}).encode()), 404, "no job nope"),
        (post("/results", json.dumps({"jobs": []}).encode()), 400, "non-empty list"),
        (httpx.get(url + "/nowhere", headers=auth), 404, "Not Found"),
        (httpx.put(url + "/jobs", headers=auth), 405, "Method Not Allowed"),
    ]
    for r, status, words in cases:
        assert r.status_code == status and words in r.json()["error"], (r.status_code, r.text)
    assert s.rows("select count(*) from jobs") == [(0,)] and s.rows("select count(*) from verdicts") == [(0,)]
    # Per-client rate: a burst of 4 (sent as 3 + 1: the server's max_batch), then "retry later";
    # another client is not held back.
    c = Client(url, token="sekrit", name="greedy", wait_s=0)
    assert len(set(c.submit_many([(PROBLEM, no_code(i)) for i in range(4)]))) == 4
    with pytest.raises(ServerError) as e:
        c.submit(PROBLEM, no_code(9))
    assert e.value.status == 429 and "rate limit" in e.value.message
    Client(url, token="sekrit", name="other").submit(PROBLEM, no_code(9))
    # Reachable from other machines without a token: refused at start, one line.
    r = subprocess.run([sys.executable, "-m", "harness.serve", "host=0.0.0.0", "device=cpu",
                        f"store={tmp_path / 'x.db'}"], cwd=ROOT, capture_output=True, text=True,
                       env={**os.environ, "KH_SERVE_TOKEN": ""})
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1 and "token" in r.stderr
    r = subprocess.run([sys.executable, "-m", "harness.serve", f"port={s.port}", "device=cpu",
                        f"store={tmp_path / 'x.db'}"], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1 and "in use" in r.stderr


@pytest.mark.slow
def test_sigkill_under_load_then_restart_answers_every_job_once(servers):
    s = servers("k")
    c = Client(s.url)
    pairs = [(PROBLEM, TORCH_ONLY)] + [(PROBLEM, no_code(100 + i)) for i in range(8)]
    first = c.submit_many(pairs, **FAST)
    first += c.submit_many([(PROBLEM, TORCH_ONLY)], **{**FAST, "check.trials": 3})
    tail = c.submit_many([(PROBLEM, no_code(200 + i)) for i in range(8)] + [(PROBLEM, no_code(100))], **FAST)
    jobs = first + tail
    streamed: list = []
    reader = threading.Thread(target=lambda: streamed.extend(c.results(jobs, timeout=600)))
    reader.start()                                   # a client that waits through the restart
    wait_for(lambda: s.rows("select count(*) from jobs where state='done'")[0][0] >= 1)
    assert s.signal(signal.SIGKILL) == -signal.SIGKILL
    before = dict(s.rows("select j.job_id, v.verdict from jobs j join verdicts v using "
                         "(problem_hash, solution_hash, hardware, config_hash) where j.state='done'"))
    assert 1 <= len(before) < len(jobs)
    s.start()
    assert c.status()["restored_at_start"] == len(jobs) - len(before)
    reader.join(timeout=600)
    got = dict(streamed)
    assert len(streamed) == len(jobs) and set(got) == set(jobs)    # each answered, once
    assert all(v is not None for v in got.values())
    assert got[first[0]].outcome is Outcome.OK and got[first[1]].outcome is Outcome.NO_CODE
    assert got[jobs[-1]].to_dict() == got[first[1]].to_dict()      # a twin, scored once
    rows = s.rows("select job_id, state from jobs")
    assert len(rows) == len(jobs) and {st for _, st in rows} == {"done"}
    # Scored once: one verdict per distinct work, and what was written before the kill is kept.
    assert s.rows("select count(*) from verdicts") == [(len(set(jobs)) - 1,)]
    for job, verdict in before.items():
        assert Verdict.from_json(verdict).seeds == got[job].seeds
    # SIGTERM drains: acknowledged work finishes, then the server exits.
    last = c.submit(PROBLEM, TORCH_ONLY, **{**FAST, "check.trials": 4})
    s.signal(signal.SIGTERM)
    assert s.rows(f"select state from jobs where job_id='{last}'") == [("done",)]


@pytest.mark.slow
def test_two_servers_behind_one_client(servers):
    a, b = servers("a"), servers("b")
    c = Client([a.url, b.url], wait_s=60)
    assert c.health()["up"] == 2
    pairs = [(PROBLEM, no_code(300 + i)) for i in range(12)]
    jobs = c.submit_many(pairs)
    homes = {c.home[j] for j in jobs}
    assert homes == {a.url, b.url}   # spread by content hash (all on one: odds 2 in 4096)
    assert len(dict(c.results(jobs, timeout=120))) == 12
    # The same work goes to the same server: a store hit there, never a second score.
    again = c.submit_many(pairs)
    assert [c.home[j] for j in again] == [c.home[j] for j in jobs]
    assert all(c.status(j)["state"] == "done" for j in again)
    assert a.rows("select count(*) from verdicts")[0][0] + b.rows("select count(*) from verdicts")[0][0] == 12
    # One server down: its share fails over to the other; its own jobs wait for it.
    b.signal(signal.SIGKILL)
    assert c.health()["servers"][b.url] is None
    more = c.submit_many([(PROBLEM, no_code(400 + i)) for i in range(6)])
    assert {c.home[j] for j in more} == {a.url}
    assert len(dict(c.results(more, timeout=120))) == 6
    b.start()
    on_b = [j for j in jobs if c.home[j] == b.url]
    assert {j for j, _ in c.results(on_b, timeout=120)} == set(on_b)
