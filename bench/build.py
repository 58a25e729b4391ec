"""Build figures: wall and CPU seconds (user+sys of every child process, compilers included) of one
solution's extension build through the real builder, in the sandbox where it starts (`auto`):
cold without a precompiled header, the runner making it, cold with it, a warm hit, and cold
builds without the sandbox (whose CPU seconds can be counted); then that build's main.cpp
compiled alone, without and with the PCH. CPU seconds are the figure to trust on a shared,
loaded machine.

    python bench/build.py                       # C++ (relu_cpp.py)
    python bench/build.py --cuda --arch 9.0     # + CUDA (relu_cuda.py), where torch has CUDA
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
from typing import Any, Optional

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from omegaconf import OmegaConf  # noqa: E402

from harness import isolate, pch  # noqa: E402
from harness.solution import prepare  # noqa: E402
from harness.config import EvalCfg  # noqa: E402

EXAMPLES = ROOT / "solutions" / "examples"


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def _row(label: str, wall: float, cpu: Optional[float], note: str = "") -> None:
    print(f"| {label} | {wall:.1f} | {'n/a' if cpu is None else f'{cpu:.1f}'} | {note} |", flush=True)


def _variant(src: Path, tag: str, where: Path) -> Path:
    """The same extension source under a new hash: a fresh build of identical C++."""
    path = where / f"{src.stem}_{tag}.py"
    path.write_text(src.read_text() + f"\n# bench variant {tag}\n")
    return path


def timed_build(label: str, sol: Path, cfg: Any, device: str) -> Path:
    c0, t0 = _cpu(), time.monotonic()
    _, _, b = prepare(sol, cfg, device)
    wall, cpu = time.monotonic() - t0, _cpu() - c0
    assert b is not None
    note = "ok" if b.ok else f"FAILED {b.outcome}: {b.message[:200]}"
    note += ", cache hit" if b.cached else ""
    note += f", PCH {b.pch[0][:8]}" if b.pch else ", no PCH"
    # a sandboxed builder's compilers end inside its PID namespace, unreaped by this process
    _row(label, wall, None if "-jail" in str(b.ext_dir) and not b.cached else cpu, note)
    return b.ext_dir


def make_pch(cfg: Any, device: str) -> None:
    """What the runner does before the build after one that asked for a PCH."""
    root = pch.root(Path(cfg.cache_dir).resolve())
    offers = pch.offers(root, tuple(cfg.build.pch), device.startswith("cuda"))
    c0, t0 = _cpu(), time.monotonic()
    pch.make_wanted(offers, 1800)
    made = [o.dir.name[:8] for o in offers if o.ready]
    _row("the runner makes the PCH asked for (once per compiler, torch, options)",
         time.monotonic() - t0, _cpu() - c0, f"ready: {', '.join(made) or 'none'}")


def compile_alone(ext_dir: Path, cfg: Any, device: str, work: Path) -> None:
    """The build's main.cpp compiled by hand with its own options, outside the builder."""
    build_dir = next(ext_dir.glob("*/build.ninja")).parent
    comp = pch.parse_ninja((build_dir / "build.ninja").read_text())
    assert comp is not None
    src = work / "alone" / "main.cpp"
    src.parent.mkdir(exist_ok=True)
    shutil.copy(build_dir / "main.cpp", src)
    root = pch.root(Path(cfg.cache_dir).resolve())
    offer = next((o for o in pch.offers(root, tuple(cfg.build.pch), device.startswith("cuda"))
                  if o.compile == comp and o.ready), None)
    for label, folder in (("no PCH", None), ("with the PCH", offer.dir if offer else None)):
        if label != "no PCH" and folder is None:
            continue
        env = dict(os.environ, CPATH=str(folder)) if folder else None   # as the builder does
        c0, t0 = _cpu(), time.monotonic()
        p = subprocess.run([*comp.cxx, *comp.flags, "-DTORCH_EXTENSION_NAME=kh_bench", "-c", str(src),
                            "-o", str(src.with_suffix(f".{len(label)}.o"))], env=env,
                           capture_output=True, text=True)
        _row(f"  main.cpp alone, {label}", time.monotonic() - t0, _cpu() - c0,
             "ok" if p.returncode == 0 else p.stderr[-200:])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cuda", action="store_true")
    ap.add_argument("--arch", default="9.0", help="build.cuda_arch for --cuda")
    a = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="kh-bench-build-"))
    cfg = OmegaConf.structured(EvalCfg(device="cpu", cache_dir=str(work / "cache")))
    plain = OmegaConf.merge(cfg, {"build": {"pch": []}})
    print(f"cores {len(os.sched_getaffinity(0))}, load {os.getloadavg()[0]:.1f}, "
          f"sandbox {isolate.plan_for(cfg).mode}, PCH sets {list(cfg.build.pch)}, in {work}\n")
    print("| build | wall s | CPU s | |\n| --- | --- | --- | --- |")
    try:
        runs = [("C++", EXAMPLES / "relu_cpp.py", "cpu")]
        if a.cuda:
            runs.append(("CUDA", EXAMPLES / "relu_cuda.py", "cuda:0"))
            cfg.build.cuda_arch = plain.build.cuda_arch = a.arch
        for kind, src, device in runs:
            timed_build(f"{kind} cold, PCH off", _variant(src, "off", work), plain, device)
            timed_build(f"{kind} cold, PCH off, sandbox off", _variant(src, "off", work),
                        OmegaConf.merge(plain, {"sandbox": {"mode": "off"}}), device)
            timed_build(f"{kind} cold, no PCH yet (asks for one)", _variant(src, "ask", work), cfg, device)
            make_pch(cfg, device)
            timed_build(f"{kind} cold, PCH ready", _variant(src, "ready", work), cfg, device)
            timed_build(f"{kind} warm hit (same source)", _variant(src, "ready", work), cfg, device)
            # unsandboxed, the build folder names real paths: its main.cpp can be compiled by hand
            ext_dir = timed_build(f"{kind} cold, PCH ready, sandbox off", _variant(src, "unjailed", work),
                                  OmegaConf.merge(cfg, {"sandbox": {"mode": "off"}}), device)
            compile_alone(ext_dir, cfg, device, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"\nload after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
