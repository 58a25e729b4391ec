"""A precompiled `torch/extension.h` for the C++ compiles that load_inline/load run in the builder.

Every extension's C++ file starts with `#include <torch/extension.h>`, and parsing it is about
half of the compile. GCC looks for `<dir>/torch/extension.h.gch` in each include folder just
before the header itself and uses it only if it was made by the same compiler with the same
options and is included before anything else; otherwise it reads the header as usual. So the
builder puts a folder with the PCH (and a byte copy of the header, for when it is not used) on
`CPATH` while ninja runs: the command line torch writes, hence its build.ninja, ninja's log and
the object code, stays exactly the same (the candidate's own ninja run finds nothing to do).

One PCH per key (compiler, torch's headers, options), made once under a lock and probed before
use; while another build makes it, a build goes on without. A build that fails on a PCH is built
again without it (and a broken PCH is retired). A folder, once used, is never deleted or
rewritten: an extension built from its header copy lists that among its ninja dependencies.
"""
from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator, Optional

import torch
import torch.utils.cpp_extension as cpp_extension

HEADER = "torch/extension.h"
_READY, _BAD, _FAILED = "READY.json", "BAD", "FAILED"
_NAME_FLAG = re.compile(r"^-DTORCH_EXTENSION_NAME=")
_FIRST_INCLUDE = re.compile(r"^\s*#\s*include\s*<torch/extension\.h>")
_COMPILE_EDGE = re.compile(r"^build [^:]+: compile (.+)$", re.M)


@dataclass(frozen=True)
class Compile:
    """The C++ compile of one build.ninja: the compiler and the options every file gets."""
    cxx: list[str]
    flags: list[str]      # cflags then post_cflags, without the extension's name


def _unescape(value: str) -> str:
    return value.replace("$$", "\0").replace("$ ", " ").replace("$:", ":").replace("\0", "$")


def _ninja_value(text: str, var: str) -> str:
    m = re.search(rf"^{var} = (.*)$", text, re.M)
    return _unescape(m.group(1)) if m else ""


def parse_ninja(text: str) -> Optional[Compile]:
    """What build.ninja compiles its C++ files with; None if it compiles no C++ file."""
    if not _COMPILE_EDGE.search(text):
        return None
    cxx = shlex.split(_ninja_value(text, "cxx"))
    if not cxx:
        return None
    flags = shlex.split(_ninja_value(text, "cflags")) + shlex.split(_ninja_value(text, "post_cflags"))
    return Compile(cxx, [f for f in flags if not _NAME_FLAG.match(f)])


def starts_with_header(source: Path) -> bool:
    """The compiler can use the PCH only for a file whose first line of code includes it."""
    try:
        with open(source, encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.strip() and not line.lstrip().startswith("//"):
                    return bool(_FIRST_INCLUDE.match(line))
    except OSError:
        pass
    return False


def uses_header(text: str, build_dir: Path) -> bool:
    return any(starts_with_header(build_dir / _unescape(src.strip()))
               for src in _COMPILE_EDGE.findall(text))


def _run(cmd: list[str], timeout: float, env: Optional[dict[str, str]] = None) -> tuple[int, str]:
    try:
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=timeout,
                           env=env, text=True, errors="replace")
        return p.returncode, p.stdout
    except (OSError, subprocess.SubprocessError) as e:
        return -1, str(e)


def compiler_identity(cxx: list[str]) -> Optional[str]:
    """GCC's version text and the exact compiler proper it runs; None for a compiler that is not
    GCC (clang and others find precompiled headers differently)."""
    exe = shutil.which(cxx[0])
    if exe is None or not cpp_extension.check_compiler_is_gcc(exe):
        return None
    rc, version = _run([exe, *cxx[1:], "--version"], 30)
    rc2, cc1 = _run([exe, *cxx[1:], "-print-prog-name=cc1plus"], 30)
    if rc or rc2:
        return None
    cc1 = os.path.realpath(cc1.strip())
    try:
        st = os.stat(cc1)
    except OSError:
        return None
    return f"{os.path.realpath(exe)}|{version.strip()}|{cc1}|{st.st_size}|{st.st_mtime_ns}"


def _headers_identity() -> str:
    """GCC does not notice headers that changed under a PCH: torch's version and its headers'
    files (a reinstall of the same version too) are part of the key."""
    inc = Path(cpp_extension.include_paths()[0])
    parts = [torch.__version__, str(getattr(torch.version, "git_version", "")), str(inc),
             sys.version]
    for rel in (HEADER, "torch/csrc/api/include/torch/version.h", "ATen/core/TensorBody.h",
                "c10/macros/cmake_macros.h"):
        try:
            st = os.stat(inc / rel)
            parts.append(f"{rel}|{st.st_size}|{st.st_mtime_ns}")
        except OSError:
            parts.append(f"{rel}|missing")
    return "\n".join(parts)


def pch_key(compiler: str, headers: str, flags: list[str]) -> str:
    blob = json.dumps([compiler, headers, flags])
    return hashlib.sha256(blob.encode()).hexdigest()[:24]


class _TryLock:
    """Non-blocking: a build never waits for another build's PCH, it goes on without."""

    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.f = open(path, "w")
        try:
            fcntl.flock(self.f, fcntl.LOCK_EX | fcntl.LOCK_NB)
            self.held = True
        except OSError:
            self.held = False

    def __enter__(self) -> "_TryLock":
        return self

    def __exit__(self, *exc: object) -> None:
        if self.held:
            fcntl.flock(self.f, fcntl.LOCK_UN)
        self.f.close()


def ready(folder: Path) -> bool:
    return (folder / _READY).exists() and not (folder / _BAD).exists()


def make(folder: Path, comp: Compile, timeout: float) -> bool:
    """Compile the PCH in its final folder (its dependency paths are recorded in it), probe that
    the compiler takes it for these options, and only then mark it ready."""
    real = Path(cpp_extension.include_paths()[0]) / HEADER
    header = folder / HEADER
    header.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(real, header)
    gch = header.with_name(header.name + ".gch")
    rc, out = _run([*comp.cxx, *comp.flags, "-x", "c++-header", str(header), "-o", str(gch)], timeout)
    if rc == 0:
        probe = folder / "probe.cpp"
        probe.write_text(f"#include <{HEADER}>\n#error kh_pch_probe\n")
        env = dict(os.environ, CPATH=str(folder), LC_ALL="C")
        rc, out = _run([*comp.cxx, *comp.flags, "-H", "-Wfatal-errors", "-fsyntax-only", str(probe)],
                       timeout, env)
        if f"! {gch}" in out:
            (folder / _READY).write_text(json.dumps({"cxx": comp.cxx, "flags": comp.flags}))
            return True
    gch.unlink(missing_ok=True)
    if rc >= 0:   # the compiler said no; a timeout (a loaded machine) may do better next time
        (folder / _FAILED).write_text(out[-4000:])
    return False


def folder_for(root: Path, build_dir: Path, timeout: float) -> Optional[Path]:
    """The PCH folder for this build, made now if need be; None: build without one."""
    try:
        text = (build_dir / "build.ninja").read_text()
    except OSError:
        return None
    comp = parse_ninja(text)
    if comp is None or not uses_header(text, build_dir):
        return None
    compiler = compiler_identity(comp.cxx)
    if compiler is None:
        return None
    folder = root / pch_key(compiler, _headers_identity(), comp.flags)
    if ready(folder):
        return folder
    if (folder / _FAILED).exists() or (folder / _BAD).exists():
        return None
    with _TryLock(root / f"{folder.name}.lock") as lock:
        if not lock.held:
            return None
        if ready(folder):
            return folder
        return folder if make(folder, comp, timeout) else None


def retire(folder: Path, why: str) -> None:
    """Marked, not removed: extensions built with its header copy list it as a dependency."""
    try:
        (folder / _BAD).write_text(why[-4000:])
    except OSError:
        pass


def about_pch(error: str) -> bool:
    """GCC's words for a PCH it found but could not read. (The folder's path alone says nothing:
    an ordinary error's notes name it as where torch's headers were included from.)"""
    return "precompiled header" in error


@contextmanager
def on_cpath(folder: Path) -> Iterator[None]:
    old = os.environ.get("CPATH")
    os.environ["CPATH"] = f"{folder}{os.pathsep}{old}" if old else str(folder)
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("CPATH", None)
        else:
            os.environ["CPATH"] = old


def install(root: Path, timeout: float = 300.0) -> list[str]:
    """Builder only: every ninja run of load_inline/load gets the PCH for its options. Returns
    the list it fills with the PCH folders that builds succeeded with."""
    original: Callable[..., None] = cpp_extension._run_ninja_build
    used: list[str] = []

    def run_ninja(build_directory: str, verbose: bool, error_prefix: str) -> None:
        try:
            folder = folder_for(root, Path(build_directory), timeout)
        except Exception:   # a PCH is only ever a shortcut
            folder = None
        if folder is None:
            return original(build_directory, verbose, error_prefix)
        try:
            with on_cpath(folder):
                original(build_directory, verbose, error_prefix)
            used.append(folder.name)
            return None
        except RuntimeError as e:
            error = str(e)
            # verbose=True sends the compiler's output to stdout: the error cannot say why
            if not (verbose or about_pch(error)):
                raise
        if about_pch(error):
            retire(folder, error)
        return original(build_directory, verbose, error_prefix)

    run_ninja.__wrapped__ = original  # type: ignore[attr-defined]
    cpp_extension._run_ninja_build = run_ninja
    return used
