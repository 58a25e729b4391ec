"""Compile a solution's extensions in a builder process, into a folder keyed by its source.

Same source, same folder: a second build is a cache hit, and two solutions never share or
clobber a build even when their extensions have the same `name`. An fcntl lock (released by the
kernel when its holder dies) serialises builds of one folder; torch's own lock files left by a
killed build are cleared under it, so the next build never waits forever on a dead one.
C++ compiles start from a precompiled torch/extension.h where one fits (harness/pch.py).
"""
from __future__ import annotations

import dataclasses
import fcntl
import json
import re
import shutil
import sys
import tarfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional, Sequence

import torch

from . import isolate, pch, protocol as P, triton_support
from .isolate import Jail
from .proc import WorkerProcess, WorkerFailed
from .verdict import Outcome

_ERROR_LINE = re.compile(r"(\berror\b|\bError\b:|undefined reference|fatal)", re.I)
_NOISE = re.compile(r"^(\[\d+/\d+\]|ninja: build stopped|FAILED: |subprocess\.CalledProcessError)")


@dataclass
class Build:
    ok: bool
    ext_dir: Path
    outcome: Optional[Outcome] = None
    message: str = ""
    cached: bool = False
    seconds: float = 0.0
    extensions: list[str] = field(default_factory=list)
    pch: list[str] = field(default_factory=list)     # precompiled headers this build used


def ext_dir_for(cache_dir: Path, solution_hash: str, device: str, jailed: bool = False) -> Path:
    """Keyed by source, torch, Python and device kind (import-time code may branch on CUDA),
    and by whether it was built in the sandbox (its build files name /kh/ext, not this path)."""
    kind = "cuda" if device.startswith("cuda") else "cpu"
    tag = f"torch{torch.__version__}-py{sys.version_info[0]}{sys.version_info[1]}-{kind}"
    tag += "-jail" if jailed else ""
    return cache_dir / "ext" / tag.replace("+", "_") / solution_hash[:24]


def compiler_errors(text: str, max_lines: int = 25) -> str:
    """The compiler's own first error lines, without torch's and ninja's wrapping."""
    text = text.replace("\\n", "\n")
    lines = [l.rstrip() for l in text.splitlines()]
    picked: list[str] = []
    for i, line in enumerate(lines):
        if _ERROR_LINE.search(line) and not _NOISE.match(line) and "Error building extension" not in line:
            picked.append(line.strip())
            # keep the source line and caret the compiler prints under the error
            for extra in lines[i + 1:i + 3]:
                if extra.strip() and not _ERROR_LINE.search(extra) and not _NOISE.match(extra):
                    picked.append(extra.rstrip())
        if len(picked) >= max_lines:
            break
    return "\n".join(picked) if picked else text.strip()[-3000:]


class _Lock:
    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.f = open(path, "w")

    def __enter__(self) -> "_Lock":
        fcntl.flock(self.f, fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc: object) -> None:
        fcntl.flock(self.f, fcntl.LOCK_UN)
        self.f.close()


# What a sandboxed builder may not hand back: the runner's own files in a build folder.
_RUNNER_FILES = ("solution.py", "BUILT.json", "FAILED.json")


def build(solution_file: Path, solution_hash: str, cache_dir: Path, device: str, *,
          timeout: float, jobs: int = 1, cuda_arch: str = "", cache_failures: bool = True,
          jail: Optional[Jail] = None, pch_sets: Sequence[str] = (), output_mb: int = 4096,
          nice: int = 0) -> Build:
    """Under `jail`, the builder compiles in its own tmpfs (/kh/ext) from a copy of the
    solution and sends the build back; only this process writes the cache. `pch_sets`: the
    extra_cflags sets whose precompiled headers the builder is offered (read-only in the jail)."""
    ext_dir = ext_dir_for(cache_dir, solution_hash, device, jail is not None)
    marker, failed = ext_dir / "BUILT.json", ext_dir / "FAILED.json"
    t0 = time.monotonic()
    with _Lock(ext_dir.parent / f"{ext_dir.name}.lock"):
        if marker.exists():
            return Build(True, ext_dir, cached=True, extensions=json.loads(marker.read_text()))
        if failed.exists() and cache_failures:
            f = json.loads(failed.read_text())
            return Build(False, ext_dir, Outcome(f["outcome"]), f["message"], cached=True)
        for stale in ext_dir.glob("*/lock"):      # left by a build killed mid-way
            stale.unlink(missing_ok=True)
        ext_dir.mkdir(parents=True, exist_ok=True)
        offers = _pch_offers(cache_dir, device, pch_sets, timeout)
        if jail is not None and offers:
            jail = dataclasses.replace(jail, ro_binds=(str(pch.root(cache_dir.resolve())),))
        scratch = cache_dir / "scratch" / f"build-{uuid.uuid4().hex[:12]}"
        ext_in = Path(isolate.EXT) if jail else ext_dir   # where the builder sees the folder
        env = {"TORCH_EXTENSIONS_DIR": str(ext_in), "MAX_JOBS": str(jobs),
               "TRITON_CACHE_DIR": str(triton_support.cache_dir(ext_in)),
               **triton_support.spawn_env(device)}
        if cuda_arch:
            env["TORCH_CUDA_ARCH_LIST"] = cuda_arch
        if device == "cpu":
            env["CUDA_VISIBLE_DEVICES"] = ""
        elif device.startswith("cuda:"):
            env["CUDA_VISIBLE_DEVICES"] = device.split(":", 1)[1]
        worker = WorkerProcess("build", scratch, env, output_mb=output_mb, jail=jail, nice=nice)
        request = P.Build(str(solution_file), tuple(o.message() for o in offers))
        try:
            if jail is not None:
                worker.request(P.Stage(isolate.pack({f"ext/{solution_file.name}": solution_file})),
                               timeout)
                request = dataclasses.replace(request, solution=f"{isolate.EXT}/{solution_file.name}",
                                              send_back=isolate.EXT)
            reply = worker.request(request, timeout)
            if isinstance(reply, P.Built) and jail is not None:
                try:
                    isolate.unpack(reply.files, ext_dir, skip=_RUNNER_FILES)
                except (tarfile.TarError, OSError, KeyError, AttributeError, TypeError) as e:
                    return Build(False, ext_dir, Outcome.CRASHED, f"the builder sent back an "
                                 f"unusable build folder: {e}", seconds=time.monotonic() - t0)
        except WorkerFailed as e:
            kind = e.failure.kind
            outcome = Outcome.TIMEOUT if kind == "timeout" else Outcome.CRASHED
            msg = f"build {e.failure.message}" if kind != "timeout" else \
                f"build did not finish within {timeout:g} s"
            return Build(False, ext_dir, outcome, msg, seconds=time.monotonic() - t0)
        finally:
            worker.close()
            shutil.rmtree(scratch, ignore_errors=True)
        seconds = time.monotonic() - t0
        built = isinstance(reply, P.Built)
        used = pch.settle(offers, getattr(reply, "pch", None), built)
        if isinstance(reply, P.Built):
            marker.write_text(json.dumps(list(reply.extensions)))
            return Build(True, ext_dir, seconds=seconds, extensions=list(reply.extensions), pch=used)
        assert isinstance(reply, P.Error)
        if reply.kind == "compile":
            outcome, message = Outcome.COMPILE_ERROR, compiler_errors(reply.error)
        else:
            outcome, message = Outcome.LOAD_ERROR, _load_message(reply)
        if outcome is Outcome.COMPILE_ERROR:
            failed.write_text(json.dumps({"outcome": outcome.value, "message": message}))
        return Build(False, ext_dir, outcome, message, seconds=seconds)


def _pch_offers(cache_dir: Path, device: str, sets: Sequence[str], timeout: float) -> tuple[pch.Offer, ...]:
    """The precompiled headers to offer a build, those that earlier builds asked for made first."""
    if not sets:
        return ()
    root = pch.root(cache_dir.resolve())
    root.mkdir(parents=True, exist_ok=True)
    offers = pch.offers(root, tuple(sets), device.startswith("cuda"))
    pch.make_wanted(offers, timeout)
    return offers


def _load_message(reply: P.Error) -> str:
    """The error plus the solution's own line from the traceback, if it has one."""
    msg, trace = reply.error, reply.trace
    frames = re.findall(r'File "([^"]*kh_solution[^"]*|[^"]*\.py)", line (\d+)', trace)
    own = [f for f in frames if "/harness/" not in f[0] and "site-packages" not in f[0]]
    if own:
        msg += f" (at {Path(own[-1][0]).name}:{own[-1][1]})"
    return msg
