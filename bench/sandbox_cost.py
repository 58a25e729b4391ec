"""What the OS sandbox adds to a case: worker start (spawn, import torch, first answer) with and
without it, and sending a build into a candidate. python bench/sandbox_cost.py [--device cuda]
[--runs 5] [--ext DIR] [--out FILE]
"""
from __future__ import annotations

import argparse
import datetime
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from omegaconf import OmegaConf  # noqa: E402

from harness import isolate, protocol as P  # noqa: E402
from harness.config import EvalCfg  # noqa: E402
from harness.device import resolve  # noqa: E402
from harness.proc import WorkerProcess, device_env  # noqa: E402


def start(jail, env: dict, scratch: Path) -> float:
    t0 = time.monotonic()
    w = WorkerProcess("candidate", scratch, env, jail=jail)
    try:
        w.request(P.Finish(), 120)
        return time.monotonic() - t0
    finally:
        w.close()


def stage(jail, env: dict, scratch: Path, ext: Path) -> float:
    w = WorkerProcess("candidate", scratch, env, jail=jail)
    try:
        w.request(P.Finish(), 120)
        t0 = time.monotonic()
        w.request(P.Stage(isolate.pack(isolate.folder(ext, "ext"))), 120)
        return time.monotonic() - t0
    finally:
        w.close()


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--ext", default="", help="a build folder to time sending (cache_dir/ext/...)")
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    cfg = OmegaConf.structured(EvalCfg(device=args.device))
    t0 = time.monotonic()
    plan = isolate.plan_for(cfg)
    probe_s = time.monotonic() - t0
    if plan.mode == "off":
        print(f"no sandbox here: {plan.reason}", file=sys.stderr)
        return 1
    device = resolve(args.device).device   # cuda -> cuda:0, as the runner names it
    env = device_env(device, 1)[0]
    jail = isolate.jail_for(cfg, "candidate", device != "cpu")
    plain, jailed = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.runs):   # alternate, so machine load falls on both alike
            plain.append(start(None, env, Path(tmp) / f"p{i}"))
            jailed.append(start(jail, env, Path(tmp) / f"j{i}"))
        sends = [stage(jail, env, Path(tmp) / f"s{i}", Path(args.ext)) for i in range(3)] \
            if args.ext else []
    med = statistics.median
    rows = [f"| worker start to first answer, no sandbox | {med(plain):.3f} s | {min(plain):.3f} s |",
            f"| worker start to first answer, sandboxed | {med(jailed):.3f} s | {min(jailed):.3f} s |",
            f"| difference (per worker, so per case) | {med(jailed) - med(plain):+.3f} s | |",
            f"| sandbox check, once per runner | {probe_s:.3f} s | |"]
    if sends:
        size = sum(p.stat().st_size for p in Path(args.ext).rglob("*") if p.is_file())
        rows.append(f"| sending the build ({size / 2**20:.1f} MiB) into the candidate | "
                    f"{med(sends):.3f} s | {min(sends):.3f} s |")
    text = "\n".join([
        f"# Sandbox cost ({args.device})", "",
        f"Command: `python bench/sandbox_cost.py {' '.join(sys.argv[1:])}`", "",
        f"Date {datetime.date.today()}; python {platform.python_version()}; {args.runs} runs each; "
        f"sandbox {plan.describe()}.", "",
        "| what | median | best |", "| --- | --- | --- |", *rows, ""])
    if args.out:
        Path(args.out).write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
