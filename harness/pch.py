"""A precompiled `torch/extension.h` for the C++ compiles of a solution's load_inline/load.

Every extension's C++ file starts with `#include <torch/extension.h>`, and parsing it is about
half of the compile. GCC looks for `<dir>/torch/extension.h.gch` in each include folder just
before the header itself and uses it only if the same compiler made it with compatible
options. So a folder with the PCH (and a byte copy of the header it was made from, which GCC
reads where it does not take the PCH), first on `CPATH` while ninja compiles the C++ files that
start with that include (nvcc never sees it), leaves torch's command line (its build.ninja,
ninja's log) and the object code as they are. A compile that took the PCH records no
dependency on the folder (torch's headers are system headers, left out either way), so the
candidate's ninja finds nothing to do without it; one that read the copy instead would, and is
built again without the folder.

The builder runs solution code in a jail that cannot write the cache, and nothing a solution
chose may be compiled outside it. So the runner makes them, for the extra_cflags sets of
`build.pch` only: torch writes the build.ninja of a probe extension with that set, and its
exact C++ options are precompiled into `cache_dir/pch/<key>` (key: compiler, torch's headers,
options), under a lock, probed before use. The builder sees the folder read-only and uses a PCH
only for a compile with exactly its options (GCC would also take one made at another -O level,
and the code would differ). A compile that an offered PCH would serve, were it made, asks for
it; the runner makes it before its next build. A build that fails on a PCH, or that GCC built
from the copy, is built again without it, and the runner retires that PCH.
"""
from __future__ import annotations

import fcntl
import functools
import hashlib
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Optional, Sequence

import torch
import torch.utils.cpp_extension as cpp_extension

HEADER = "torch/extension.h"
_READY, _BAD, _FAILED, _WANTED = "READY.json", "BAD", "FAILED", "WANTED"
_NAME_FLAG = re.compile(r"^-DTORCH_EXTENSION_NAME=")
_FIRST_INCLUDE = re.compile(r"^\s*#\s*include\s*<torch/extension\.h>")
_COMPILE_TARGET = re.compile(r"^build ([^:]+): compile (.+)$", re.M)
_timed_out: set[Path] = set()   # not tried again by this process; a later run may do better


@dataclass(frozen=True)
class Compile:
    """The C++ compile of one build.ninja: the compiler and the options every file gets."""
    cxx: tuple[str, ...]
    flags: tuple[str, ...]      # cflags then post_cflags, without the extension's name


@dataclass(frozen=True)
class Offer:
    """A PCH the runner gives builds: its folder and the compile it is for."""
    dir: Path
    compile: Compile

    @property
    def header(self) -> Path:
        return self.dir / HEADER

    @property
    def gch(self) -> Path:
        return self.dir / (HEADER + ".gch")

    @property
    def ready(self) -> bool:
        return (self.dir / _READY).exists() and not (self.dir / _BAD).exists()

    def message(self) -> dict[str, Any]:
        return {"dir": str(self.dir), "cxx": list(self.compile.cxx),
                "flags": list(self.compile.flags), "ready": self.ready}


def root(cache_dir: Path) -> Path:
    return cache_dir / "pch"


# -- build.ninja --------------------------------------------------------------------------------
def _unescape(value: str) -> str:
    return value.replace("$$", "\0").replace("$ ", " ").replace("$:", ":").replace("\0", "$")


def _ninja_value(text: str, var: str) -> str:
    m = re.search(rf"^{var} = (.*)$", text, re.M)
    return _unescape(m.group(1)) if m else ""


def parse_ninja(text: str) -> Optional[Compile]:
    """What build.ninja compiles its C++ files with; None if it compiles no C++ file."""
    if not _COMPILE_TARGET.search(text):
        return None
    cxx = shlex.split(_ninja_value(text, "cxx"))
    if not cxx:
        return None
    flags = shlex.split(_ninja_value(text, "cflags")) + shlex.split(_ninja_value(text, "post_cflags"))
    return Compile(tuple(cxx), tuple(f for f in flags if not _NAME_FLAG.match(f)))


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


# -- the runner: what to offer, making it -------------------------------------------------------
def _run(cmd: Sequence[str], timeout: float, env: Optional[dict[str, str]] = None,
         cwd: Optional[Path] = None) -> tuple[int, str]:
    """The exit status and output; -1 for a command that could not start or timed out."""
    try:
        p = subprocess.run(list(cmd), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           timeout=timeout, env=env, cwd=cwd, text=True, errors="replace")
        return p.returncode, p.stdout
    except (OSError, subprocess.SubprocessError) as e:
        return -1, str(e)


def compiler_identity(cxx: Sequence[str]) -> Optional[str]:
    """GCC's version text and the exact compiler proper it runs; None for a compiler that is not
    GCC (clang and others find precompiled headers differently)."""
    exe = shutil.which(cxx[0])
    if exe is None or not cpp_extension.check_compiler_is_gcc(exe):
        return None
    env = dict(os.environ, LC_ALL="C")
    rc, version = _run([exe, *cxx[1:], "--version"], 30, env)
    rc2, cc1 = _run([exe, *cxx[1:], "-print-prog-name=cc1plus"], 30, env)
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


def pch_key(compiler: str, headers: str, flags: Sequence[str]) -> str:
    blob = json.dumps([compiler, headers, list(flags)])
    return hashlib.sha256(blob.encode()).hexdigest()[:24]


def torch_compile(extra_cflags: list[str], with_cuda: bool) -> Optional[Compile]:
    """The C++ compile torch writes for an extension built with these extra_cflags (from its own
    build.ninja writer, so the options match a solution's to the byte); None where it cannot say
    (a CUDA one without CUDA's headers)."""
    with tempfile.TemporaryDirectory(prefix="kh-pch-") as d:
        try:
            cpp_extension._write_ninja_file_to_build_library(
                path=f"{d}/build.ninja", name="kh_pch_probe", sources=[f"{d}/main.cpp"],
                extra_cflags=extra_cflags,
                # any -arch: torch then asks no GPU for one (only the .cu compile sees it)
                extra_cuda_cflags=["-arch=sm_90"] if with_cuda else [],
                extra_sycl_cflags=[], extra_ldflags=[], extra_include_paths=[],
                with_cuda=with_cuda, with_sycl=False, is_standalone=False)
            return parse_ninja(Path(d, "build.ninja").read_text())
        except Exception:   # a PCH is only ever a shortcut
            return None


@functools.lru_cache(maxsize=None)
def offers(pch_root: Path, sets: tuple[str, ...], cuda: bool) -> tuple[Offer, ...]:
    """The PCH for each extra_cflags set (one string each): C++-only extensions' and, on a GPU,
    CUDA ones' too (their .cpp files get CUDA's headers folder as well)."""
    out: list[Offer] = []
    headers = _headers_identity()
    for with_cuda in (False, True) if cuda else (False,):
        for flags in sets:
            comp = torch_compile(shlex.split(flags), with_cuda)
            compiler = compiler_identity(comp.cxx) if comp is not None else None
            if comp is not None and compiler is not None:
                out.append(Offer(pch_root / pch_key(compiler, headers, comp.flags), comp))
    return tuple(dict.fromkeys(out))


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


def make(offer: Offer, timeout: float) -> bool:
    """Precompile a copy of torch's header in the offer's folder, probe that the compiler takes
    it for these options, and only then mark it ready. False: not ready (failed, timed out, or
    another build is making it)."""
    with _TryLock(offer.dir.parent / f"{offer.dir.name}.lock") as lock:
        if not lock.held:
            return False
        if offer.ready:
            return True
        comp, gch = offer.compile, offer.gch
        gch.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(Path(cpp_extension.include_paths()[0]) / HEADER, offer.header)
        rc, out = _run([*comp.cxx, *comp.flags, "-x", "c++-header", str(offer.header), "-o", str(gch)],
                       timeout)
        if rc == 0:
            probe = offer.dir / "probe.cpp"
            probe.write_text(f"#include <{HEADER}>\n#error kh_pch_probe\n")
            env = dict(os.environ, CPATH=str(offer.dir), LC_ALL="C")
            rc, out = _run([*comp.cxx, *comp.flags, "-DTORCH_EXTENSION_NAME=kh_pch_probe", "-H",
                            "-Wfatal-errors", "-fsyntax-only", str(probe)], timeout, env)
            if f"! {gch}" in out:
                (offer.dir / _READY).write_text(json.dumps({"cxx": comp.cxx, "flags": comp.flags}))
                return True
        gch.unlink(missing_ok=True)
        if rc >= 0:   # the compiler said no; a timeout (a loaded machine) may do better next run
            (offer.dir / _FAILED).write_text(out[-4000:])
        else:
            _timed_out.add(offer.dir)
        return False


def make_wanted(offers: Sequence[Offer], timeout: float) -> None:
    """Before a build: make the PCHs that earlier builds asked for."""
    for o in offers:
        if (o.dir / _WANTED).exists() and not o.ready and o.dir not in _timed_out \
                and not (o.dir / _FAILED).exists() and not (o.dir / _BAD).exists():
            make(o, timeout)


def settle(offers: Sequence[Offer], report: Any, ok: bool) -> list[str]:
    """After a build, from the builder's report (from the jail: only names of `offers` count):
    mark the PCHs it asked for, retire the ones it failed on if it then built without them (an
    error that only says "precompiled header" may be the solution's own), and return the ones
    a successful build used."""
    by_name = {o.dir.name: o for o in offers}

    def named(kind: str) -> list[Offer]:
        got = report.get(kind) if isinstance(report, dict) else None
        return [by_name[n] for n in got if isinstance(n, str) and n in by_name] if isinstance(got, list) else []

    for o in named("wanted"):
        o.dir.mkdir(parents=True, exist_ok=True)
        (o.dir / _WANTED).touch()
    if not ok:
        return []
    for o in named("broken"):
        (o.dir / _BAD).write_text("a build failed on it, or did not take it, then built without")
        o.gch.unlink(missing_ok=True)   # nothing depends on it: no build records it
    return [o.dir.name for o in named("used")]


# -- the builder: using it ----------------------------------------------------------------------
def about_pch(error: str) -> bool:
    """GCC's words for a PCH it found but could not read."""
    return "precompiled header" in error


def read_copy(build_dir: Path, objects: list[str], folder: str) -> bool:
    """Whether a compile read the folder's header copy instead of taking the PCH: ninja's deps
    log then names it (and the candidate, without the folder, would build again)."""
    rc, deps = _run(["ninja", "-t", "deps", *objects], 30, None, cwd=build_dir)
    return rc != 0 or folder + "/" in deps


def _match(offered: list[dict[str, Any]], build_dir: Path) -> tuple[Optional[dict[str, Any]], list[str]]:
    """The offer made for exactly this build's C++ compile, and the objects that can take it."""
    text = (build_dir / "build.ninja").read_text()
    comp = parse_ninja(text)
    objects = [_unescape(obj) for obj, src in _COMPILE_TARGET.findall(text)
               if starts_with_header(build_dir / _unescape(src.strip()))]
    if comp is None or not objects:
        return None, []
    return next((o for o in offered if tuple(o["cxx"]) == comp.cxx and tuple(o["flags"]) == comp.flags),
                None), objects


def _with_pch(build_dir: Path, objects: list[str], folder: str, error_prefix: str) -> bool:
    """Compile `objects` alone with the folder first on CPATH (the rest of the build, nvcc's
    compiles included, never sees it). False: GCC could not read the PCH or did not take it,
    and the objects are gone, to be built without. An ordinary compile error raises as torch's
    own ninja run does."""
    env = dict(os.environ, CPATH=f"{folder}{os.pathsep}{os.environ['CPATH']}" if os.environ.get("CPATH")
               else folder)
    jobs = ["-j", os.environ["MAX_JOBS"]] if os.environ.get("MAX_JOBS") else []
    p = subprocess.run(["ninja", "-v", *jobs, *objects], cwd=build_dir, env=env, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True, errors="replace")
    if p.returncode and not about_pch(p.stdout):
        raise RuntimeError(f"{error_prefix}: {p.stdout}")
    if p.returncode == 0 and not read_copy(build_dir, objects, folder):
        return True
    for obj in objects:
        (build_dir / obj).unlink(missing_ok=True)
    return False


def install(offered: list[dict[str, Any]]) -> dict[str, list[str]]:
    """Builder only: every ninja run of load_inline/load first compiles the C++ files that can
    take the ready PCH made for exactly their options, then runs as torch would. ninja's output
    is always captured (torch puts it in the error), so that a failure says whether it was the
    PCH's. Returns the report it fills for the runner: PCHs used, asked for (offered, not made
    yet), failed on or not taken."""
    original: Callable[..., None] = cpp_extension._run_ninja_build
    report: dict[str, list[str]] = {"used": [], "wanted": [], "broken": []}

    def run_ninja(build_directory: str, verbose: bool, error_prefix: str) -> None:
        try:
            offer, objects = _match(offered, Path(build_directory))
        except Exception:   # a PCH is only ever a shortcut
            offer, objects = None, []
        if offer is not None:
            name = Path(offer["dir"]).name
            if not offer["ready"]:
                report["wanted"].append(name)
            elif _with_pch(Path(build_directory), objects, offer["dir"], error_prefix):
                report["used"].append(name)
            else:
                report["broken"].append(name)
        return original(build_directory, False, error_prefix)

    run_ninja.__wrapped__ = original  # type: ignore[attr-defined]
    cpp_extension._run_ninja_build = run_ninja
    return report
