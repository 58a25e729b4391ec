"""The cost of an output's way from the candidate's device to the reference's (issue 13): a
device tensor shared into a sealed memfd (channel.share), then mapped and copied to the device
(what the reference's comparison does), each with and without the faster path (pages faulted in
by threads, mappings pinned). Needs CUDA.

    python bench/share.py [--sizes-mib 64,1024,6144] [--repeats 3] [--out bench/share-h200.md]
"""
from __future__ import annotations

import argparse
import os
import datetime
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from harness import channel  # noqa: E402


def one(x: torch.Tensor, fast: bool) -> tuple[float, float, bool]:
    channel._PIN_BYTES = 64 << 20 if fast else 1 << 62   # both sides follow this threshold
    torch.cuda.synchronize()
    t0 = time.perf_counter()
    handle = channel.share([x])[0]
    t1 = time.perf_counter()
    blob = channel.Blob(os.dup(handle.blob.fd), 1 << 62)   # as the reference receives it
    y = blob.tensor(handle.offset, x.dtype, list(x.shape)).to(x.device)
    torch.cuda.synchronize()
    t2 = time.perf_counter()
    same = bool(torch.equal(x, y))
    del y
    return t1 - t0, t2 - t1, same


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes-mib", default="64,1024,6144")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    if not torch.cuda.is_available():
        print("bench/share.py needs CUDA", file=sys.stderr)
        return 1
    try:
        thp = Path("/sys/kernel/mm/transparent_hugepage/shmem_enabled").read_text().strip()
    except OSError:
        thp = "?"
    rows = []
    for mib in (int(s) for s in args.sizes_mib.split(",")):
        x = torch.randn(mib << 18, device="cuda")
        for fast in (False, True):
            got = [one(x, fast) for _ in range(args.repeats)]
            share, back = statistics.median(g[0] for g in got), statistics.median(g[1] for g in got)
            rows.append(f"| {mib} MiB | {'faulted in by threads, pinned' if fast else 'pageable'} | "
                        f"{share:.3f} s ({mib / 1024 / share:.1f} GiB/s) | {back:.3f} s "
                        f"({mib / 1024 / back:.1f} GiB/s) | {all(g[2] for g in got)} |")
            print(rows[-1], flush=True)
        del x
        torch.cuda.empty_cache()
    text = "\n".join([
        "# An output's way through sealed host memory", "",
        f"Command: `python bench/share.py {' '.join(sys.argv[1:])}`", "",
        f"Date {datetime.date.today()}; {torch.cuda.get_device_name()}; torch {torch.__version__}; "
        f"shmem_enabled: {thp}; median of {args.repeats}.", "",
        "| output | path | share (device -> sealed memfd) | map + copy to the device | bit-exact |",
        "| --- | --- | --- | --- | --- |", *rows, ""])
    if args.out:
        Path(args.out).write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
