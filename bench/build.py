"""Build figures: wall and CPU seconds (user+sys of every compiler process) of one solution's
extension build, cold without the precompiled header, cold while making it, cold with it made,
and a warm hit. CPU seconds are the figure to trust on a shared, loaded machine.

    python bench/build.py                       # C++ (relu_cpp.py) through the real builder
    python bench/build.py --cuda --arch 9.0     # + CUDA (relu_cuda.py): the real builder where
                                                #   torch has CUDA; else (a CPU-only torch with nvcc
                                                #   beside it) its two compiles without the link

A CPU-only torch lacks a few CUDA headers (cuSPARSE/cuBLAS/cuSOLVER from their wheels and
c10/cuda/impl/cuda_cmake_macros.h): put a folder with them on CPATH for --cuda there.
"""
from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from harness.build import build, pch_root  # noqa: E402
from harness.case import read_solution  # noqa: E402

EXAMPLES = ROOT / "solutions" / "examples"


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def _variant(src: Path, tag: str, where: Path) -> Path:
    """The same extension source under a new hash: a fresh build of identical C++."""
    path = where / f"{src.stem}_{tag}.py"
    path.write_text(src.read_text() + f"\n# bench variant {tag}\n")
    return path


def _row(label: str, wall: float, cpu: float, note: str = "") -> None:
    print(f"| {label} | {wall:.1f} | {cpu:.1f} | {note} |", flush=True)


def real_build(label: str, src: Path, cache: Path, device: str, pch: bool, arch: str) -> None:
    s = read_solution(src)
    assert s.code is not None and s.hash is not None
    code = cache / f"{s.hash[:12]}.py"
    cache.mkdir(parents=True, exist_ok=True)
    code.write_text(s.code)
    c0, t0 = _cpu(), time.monotonic()
    b = build(code, s.hash, cache, device, timeout=1800, cuda_arch=arch, pch=pch)
    wall, cpu = time.monotonic() - t0, _cpu() - c0
    note = "ok" if b.ok else f"FAILED {b.outcome}: {b.message[:200]}"
    note += ", cache hit" if b.cached else ""
    note += f", PCH {b.pch[0][:8]}" if b.pch else ""
    _row(label, wall, cpu, note)


def objects_only(src: Path, ext_root: Path, pch_dir: str, cpp_only: bool) -> None:
    """Child process: torch writes the build.ninja of src's load_inline; ninja compiles its
    objects one at a time (the link needs torch's CUDA libraries, which a CPU torch lacks).
    The PCH changes nothing of the .cu compile (nvcc preprocesses): cpp_only skips it."""
    import torch.utils.cpp_extension as cpp_extension
    from harness import pch
    nvcc = shutil.which("nvcc")
    cpp_extension.CUDA_HOME = cpp_extension.CUDA_HOME or str(Path(os.path.realpath(nvcc)).parent.parent)
    os.environ["TORCH_EXTENSIONS_DIR"] = str(ext_root)

    class Done(Exception):
        pass

    def run_ninja(build_directory: str, verbose: bool, error_prefix: str) -> None:
        d = Path(build_directory)
        c0, t0 = _cpu(), time.monotonic()
        folder = pch.folder_for(Path(pch_dir), d, 1800) if pch_dir else None
        if pch_dir:
            _row("  PCH (made or found)", time.monotonic() - t0, _cpu() - c0,
                 "ready" if folder is not None else "none")
        objects = [line.split(":")[0].split()[1] for line in (d / "build.ninja").read_text().splitlines()
                   if line.startswith("build ") and not line.split(":")[0].endswith(".so")
                   and not (cpp_only and ": cuda_compile " in line)]
        for obj in objects:
            c0, t0 = _cpu(), time.monotonic()
            env = dict(os.environ)
            if folder is not None:
                env["CPATH"] = f"{folder}{os.pathsep}{env['CPATH']}" if env.get("CPATH") else str(folder)
            p = subprocess.run(["ninja", "-j1", obj], cwd=d, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
            note = "ok" if p.returncode == 0 else "FAILED " + p.stdout[-300:].replace("\n", " ")
            _row(f"  {obj}{' (PCH)' if folder is not None else ''}", time.monotonic() - t0,
                 _cpu() - c0, note)
        raise Done

    cpp_extension._run_ninja_build = run_ninja
    import runpy
    try:
        runpy.run_path(str(src))
    except Done:
        pass


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cuda", action="store_true")
    ap.add_argument("--arch", default="9.0", help="TORCH_CUDA_ARCH_LIST for --cuda")
    ap.add_argument("--objects", nargs=4, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.objects:
        return objects_only(Path(a.objects[0]), Path(a.objects[1]), a.objects[2], a.objects[3] == "1")
    work = Path(tempfile.mkdtemp(prefix="kh-bench-build-"))
    print(f"cores {len(os.sched_getaffinity(0))}, load {os.getloadavg()[0]:.1f}, in {work}\n")
    print("| build | wall s | CPU s | |\n| --- | --- | --- | --- |")
    try:
        plain, fast = work / "plain", work / "pch"
        relu = EXAMPLES / "relu_cpp.py"
        real_build("C++ cold, no PCH", relu, plain, "cpu", False, "")
        real_build("C++ cold, making the PCH", relu, fast, "cpu", True, "")
        real_build("C++ cold, PCH ready", _variant(relu, "a", work), fast, "cpu", True, "")
        real_build("C++ warm hit", relu, fast, "cpu", True, "")
        if a.cuda:
            import torch
            cuda = EXAMPLES / "relu_cuda.py"
            if torch.version.cuda:
                real_build("CUDA cold, no PCH", cuda, plain, "cuda:0", False, a.arch)
                real_build("CUDA cold, making the PCH", cuda, fast, "cuda:0", True, a.arch)
                real_build("CUDA cold, PCH ready", _variant(cuda, "a", work), fast, "cuda:0", True, a.arch)
            else:
                env = dict(os.environ, TORCH_CUDA_ARCH_LIST=a.arch, MAX_JOBS="1")
                for label, tag, pch_dir in (("no PCH", "plain", ""), ("making the PCH", "m", str(pch_root(fast))),
                                            ("PCH ready", "r", str(pch_root(fast)))):
                    print(f"| CUDA cold, {label}: compiles without the link | | | |", flush=True)
                    subprocess.run([sys.executable, __file__, "--objects", str(_variant(cuda, tag, work)),
                                    str(work / f"cuda-{tag}"), pch_dir, "1" if pch_dir else "0"],
                                   env=env, check=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"\nload after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
