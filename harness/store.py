"""The results store: one SQLite file, written only by the runner process.

Two tables carry the verdicts. `verdicts` holds one row per scored unit of work, keyed by
(problem hash, solution hash, hardware, config hash): the same code on the same problem, machine
and settings is never scored twice. `cases` maps each (run, problem, sample) a batch met to the
verdict that judges it, so resume is keyed per sample and two samples with identical code both
count on the board. Each verdict and its case row are written in one transaction.

`jobs` holds the server's acknowledged jobs (harness/service.py): written before a submit is
answered, marked done in the transaction that writes its verdict, so a server killed at any
moment re-queues exactly the jobs that have no verdict yet.
"""
from __future__ import annotations

import datetime as _dt
import getpass
import json
import os
import socket
import sqlite3
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Iterator, Optional

from .errors import UserError
from .verdict import Verdict

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY,
    label TEXT NOT NULL,
    started TEXT NOT NULL,
    user TEXT, host TEXT, argv TEXT, config TEXT
);
CREATE TABLE IF NOT EXISTS verdicts (
    problem_hash TEXT NOT NULL,
    solution_hash TEXT NOT NULL,
    hardware TEXT NOT NULL,
    config_hash TEXT NOT NULL,
    problem TEXT NOT NULL,
    solution TEXT NOT NULL,
    outcome TEXT NOT NULL,
    flags TEXT NOT NULL,
    speedup REAL,
    verdict TEXT NOT NULL,
    created TEXT NOT NULL,
    run_id TEXT,
    PRIMARY KEY (problem_hash, solution_hash, hardware, config_hash)
);
CREATE TABLE IF NOT EXISTS cases (
    label TEXT NOT NULL,
    problem_id TEXT NOT NULL,
    sample TEXT NOT NULL,
    level INTEGER,
    hardware TEXT NOT NULL,
    config_hash TEXT NOT NULL,
    problem_hash TEXT NOT NULL,
    solution_hash TEXT NOT NULL,
    solution_path TEXT NOT NULL,
    run_id TEXT,
    PRIMARY KEY (label, problem_id, sample, hardware, config_hash)
);
CREATE TABLE IF NOT EXISTS ref_timings (
    problem_hash TEXT NOT NULL,
    hardware TEXT NOT NULL,
    torch TEXT NOT NULL,
    timing_hash TEXT NOT NULL,
    summary TEXT NOT NULL,
    created TEXT NOT NULL,
    PRIMARY KEY (problem_hash, hardware, torch, timing_hash)
);
CREATE TABLE IF NOT EXISTS jobs (
    job_id TEXT PRIMARY KEY,
    client TEXT NOT NULL,
    state TEXT NOT NULL,
    problem TEXT NOT NULL,
    solution TEXT NOT NULL,
    overrides TEXT NOT NULL,
    problem_hash TEXT NOT NULL,
    solution_hash TEXT NOT NULL,
    hardware TEXT NOT NULL,
    config_hash TEXT NOT NULL,
    submitted TEXT NOT NULL,
    finished TEXT
);
CREATE INDEX IF NOT EXISTS jobs_open ON jobs (state, problem_hash, solution_hash);
"""


class StoreError(UserError):
    """A file that is not a results store: a user mistake, reported on one line."""


def now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


@dataclass(frozen=True)
class CaseKey:
    """Where a verdict sits on the board: which run (model), problem and sample it judges."""
    label: str
    problem_id: str
    sample: str
    level: Optional[int] = None


@dataclass
class JobRow:
    """One acknowledged server job; `key` is its verdict's (problem, solution, hardware, config)."""
    job_id: str
    client: str
    state: str                       # queued | done | cancelled
    problem: str                     # stored problem file
    solution: str                    # stored solution file
    overrides: str                   # JSON of the job's config overrides
    key: tuple[str, str, str, str]
    submitted: str
    finished: Optional[str] = None

    @classmethod
    def from_row(cls, r: tuple) -> "JobRow":
        return cls(r[0], r[1], r[2], r[3], r[4], r[5], (r[6], r[7], r[8], r[9]), r[10], r[11])


class Store:
    def __init__(self, path: str | os.PathLike, threads: bool = False):
        """threads: the connection may be used from several threads (the caller serialises)."""
        self.path = Path(path)
        if self.path.parent and not self.path.parent.exists():
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(str(self.path), timeout=60, isolation_level=None,
                                  check_same_thread=not threads)
        try:
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")
            self.db.executescript(SCHEMA)
        except sqlite3.DatabaseError as e:
            self.db.close()
            raise StoreError(f"{path}: not a results store ({e})") from None

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # -- runs ---------------------------------------------------------------------------------
    def start_run(self, label: str, config: Any = None, argv: Iterable[str] = ()) -> str:
        run_id = uuid.uuid4().hex[:12]
        try:
            user = getpass.getuser()
        except Exception:  # no passwd entry in some containers
            user = ""
        self.db.execute(
            "INSERT INTO runs VALUES (?,?,?,?,?,?,?)",
            (run_id, label, now(), user, socket.gethostname(), json.dumps(list(argv)),
             json.dumps(config, default=str, sort_keys=True)),
        )
        return run_id

    def runs(self) -> list[dict[str, Any]]:
        cur = self.db.execute("SELECT run_id, label, started, user, host, argv, config FROM runs "
                              "ORDER BY started")
        cols = [c[0] for c in cur.description]
        return [dict(zip(cols, r)) for r in cur.fetchall()]

    # -- verdicts -----------------------------------------------------------------------------
    def lookup(self, problem_hash: str, solution_hash: str, hardware: str,
               config_hash: str) -> Optional[Verdict]:
        row = self.db.execute(
            "SELECT verdict FROM verdicts WHERE problem_hash=? AND solution_hash=? AND "
            "hardware=? AND config_hash=?",
            (problem_hash, solution_hash, hardware, config_hash)).fetchone()
        return Verdict.from_json(row[0]) if row else None

    def has_case(self, case: CaseKey, hardware: str, config_hash: str) -> bool:
        return self.db.execute(
            "SELECT 1 FROM cases c JOIN verdicts v USING (problem_hash, solution_hash, hardware, "
            "config_hash) WHERE c.label=? AND c.problem_id=? AND c.sample=? AND c.hardware=? AND "
            "c.config_hash=?",
            (case.label, case.problem_id, case.sample, hardware, config_hash)).fetchone() is not None

    def record(self, v: Verdict, case: Optional[CaseKey] = None, run_id: Optional[str] = None) -> None:
        """Write a verdict (replacing one with the same key) and its case row atomically."""
        with self._tx():
            self.db.execute(
                "INSERT OR REPLACE INTO verdicts VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                (v.problem_hash, v.solution_hash, v.hardware, v.config_hash, v.problem,
                 v.solution, v.outcome.value, json.dumps(v.flags), v.speedup, v.to_json(),
                 v.created or now(), run_id))
            if case is not None:
                self._record_case(case, v, run_id)

    def record_case(self, case: CaseKey, v: Verdict, run_id: Optional[str] = None,
                    solution: Optional[str] = None) -> None:
        """Point a case at an existing verdict (identical code met again); `solution` is this
        case's own file, which the shared verdict does not name."""
        with self._tx():
            self._record_case(case, v, run_id, solution)

    def _record_case(self, case: CaseKey, v: Verdict, run_id: Optional[str],
                     solution: Optional[str] = None) -> None:
        self.db.execute(
            "INSERT OR REPLACE INTO cases VALUES (?,?,?,?,?,?,?,?,?,?)",
            (case.label, case.problem_id, case.sample, case.level, v.hardware, v.config_hash,
             v.problem_hash, v.solution_hash, solution or v.solution, run_id))

    def verdicts(self) -> Iterator[Verdict]:
        for (s,) in self.db.execute("SELECT verdict FROM verdicts ORDER BY created"):
            yield Verdict.from_json(s)

    def case_rows(self) -> Iterator[tuple[CaseKey, Verdict]]:
        """Every case with its verdict: what the board tabulates. Each verdict names the case's
        own solution file; one shared with identical code scored under another file says which
        in details["scored_as"]."""
        cur = self.db.execute(
            "SELECT c.label, c.problem_id, c.sample, c.level, c.solution_path, v.verdict FROM cases "
            "c JOIN verdicts v USING (problem_hash, solution_hash, hardware, config_hash) "
            "ORDER BY c.label, c.problem_id, c.sample")
        for label, pid, sample, level, path, s in cur:
            v = Verdict.from_json(s)
            if path != v.solution:
                v.details["scored_as"], v.solution = v.solution, path
            yield CaseKey(label, pid, sample, level), v

    # -- reference timing cache ---------------------------------------------------------------
    def ref_timing(self, problem_hash: str, hardware: str, torch_version: str,
                   timing_hash: str) -> Optional[dict[str, Any]]:
        row = self.db.execute(
            "SELECT summary FROM ref_timings WHERE problem_hash=? AND hardware=? AND torch=? AND "
            "timing_hash=?", (problem_hash, hardware, torch_version, timing_hash)).fetchone()
        return json.loads(row[0]) if row else None

    def put_ref_timing(self, problem_hash: str, hardware: str, torch_version: str,
                       timing_hash: str, summary: dict[str, Any]) -> None:
        with self._tx():
            self.db.execute("INSERT OR REPLACE INTO ref_timings VALUES (?,?,?,?,?,?)",
                            (problem_hash, hardware, torch_version, timing_hash,
                             json.dumps(summary), now()))

    # -- server jobs ------------------------------------------------------------------------------
    def add_jobs(self, rows: list["JobRow"]) -> None:
        """All of one submit in one transaction: acknowledged together or not at all."""
        with self._tx():
            self.db.executemany(
                "INSERT INTO jobs VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                [(r.job_id, r.client, r.state, r.problem, r.solution, r.overrides, *r.key,
                  r.submitted, r.finished) for r in rows])

    def record_for_jobs(self, v: Verdict, job_ids: list[str]) -> int:
        """Write a verdict and mark the open jobs it answers done, atomically (their key follows
        the verdict's); returns how many jobs it answered."""
        key = (v.problem_hash, v.solution_hash, v.hardware, v.config_hash)
        with self._tx():
            self.db.execute(
                "INSERT OR REPLACE INTO verdicts VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                (*key, v.problem, v.solution, v.outcome.value, json.dumps(v.flags), v.speedup,
                 v.to_json(), v.created or now(), None))
            return self._mark_done(key, job_ids)

    def mark_done(self, key: tuple[str, str, str, str], job_ids: list[str]) -> int:
        """Open jobs answered by a verdict the store has already."""
        with self._tx():
            return self._mark_done(key, job_ids)

    def _mark_done(self, key: tuple[str, str, str, str], job_ids: list[str]) -> int:
        return self.db.executemany(
            "UPDATE jobs SET state='done', finished=?, problem_hash=?, solution_hash=?, "
            "hardware=?, config_hash=? WHERE job_id=? AND state='queued'",
            [(now(), *key, j) for j in job_ids]).rowcount

    def cancel_job(self, job_id: str) -> bool:
        with self._tx():
            return self.db.execute("UPDATE jobs SET state='cancelled', finished=? WHERE job_id=? "
                                   "AND state='queued'", (now(), job_id)).rowcount == 1

    def open_jobs(self) -> list["JobRow"]:
        cur = self.db.execute("SELECT * FROM jobs WHERE state='queued' ORDER BY submitted, rowid")
        return [JobRow.from_row(r) for r in cur.fetchall()]

    def jobs(self, job_ids: list[str]) -> dict[str, tuple["JobRow", Optional[Verdict]]]:
        """The named jobs that exist, each with its verdict once done."""
        found: dict[str, tuple[JobRow, Optional[Verdict]]] = {}
        for i in range(0, len(job_ids), 500):
            part = job_ids[i:i + 500]
            cur = self.db.execute(
                "SELECT j.*, v.verdict FROM jobs j LEFT JOIN verdicts v ON j.state='done' AND "
                "v.problem_hash=j.problem_hash AND v.solution_hash=j.solution_hash AND "
                "v.hardware=j.hardware AND v.config_hash=j.config_hash "
                f"WHERE j.job_id IN ({','.join('?' * len(part))})", part)
            for r in cur.fetchall():
                row = JobRow.from_row(r[:-1])
                found[row.job_id] = (row, Verdict.from_json(r[-1]) if r[-1] else None)
        return found

    def job_counts(self) -> dict[str, int]:
        return dict(self.db.execute("SELECT state, count(*) FROM jobs GROUP BY state").fetchall())

    # -- merge ----------------------------------------------------------------------------------
    def merge_from(self, other: str | os.PathLike) -> int:
        """Copy every row of another store in; returns how many verdict rows were added."""
        before = self.db.execute("SELECT count(*) FROM verdicts").fetchone()[0]
        self.db.execute("ATTACH DATABASE ? AS other", (str(other),))
        try:
            with self._tx():
                for table in ("runs", "verdicts", "cases", "ref_timings"):   # not jobs: a server's own
                    self.db.execute(f"INSERT OR IGNORE INTO {table} SELECT * FROM other.{table}")
        finally:
            self.db.execute("DETACH DATABASE other")
        return self.db.execute("SELECT count(*) FROM verdicts").fetchone()[0] - before

    def _tx(self):
        return _Tx(self.db)


class _Tx:
    def __init__(self, db: sqlite3.Connection):
        self.db = db

    def __enter__(self) -> None:
        self.db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type, *rest: Any) -> None:
        self.db.execute("ROLLBACK" if exc_type else "COMMIT")
