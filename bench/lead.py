"""Does the lead before a timed call leave room for work on another stream? (issue 16)

The timing clock spins on the device while the host launches the call (`timing.lead_us`), so
the host's launch path is not timed. `torch.cuda._sleep` is one block of one thread: a kernel
that a forward launches on a stream of its own, without waiting for the caller's stream, runs
beside it, and while it ends within the spin neither the timer nor the synced wall time sees
it. A spin of one full wave of blocks (every SM's thread slots taken) would let nothing start
until it ends. This measures both, on the device, for a memory-bound and a compute-bound side
kernel: the synced wall time of lead + side kernel launched at once, against each alone.
`overlap` is the share of the shorter one that ran beside the other (1: fully hidden, 0: none).

    python bench/lead.py [--lead-us 500] [--waves 1,2,4] [--repeat 20] [--out FILE]
"""
from __future__ import annotations

import argparse
import datetime
import statistics
import sys
import time
from pathlib import Path
from typing import Callable

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

_SPIN = """
template <typename T> T kh_spin(T x, T cycles) {
    long long start = clock64();
    long long n = (long long)cycles;
    while (clock64() - start < n) { }
    return x;
}
"""


def wall_ms(launch: Callable[[], None], repeat: int) -> float:
    """Median synced wall time of `launch` from an idle device."""
    out = []
    for _ in range(repeat):
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        launch()
        torch.cuda.synchronize()
        out.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(out)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--lead-us", type=float, default=500.0)
    ap.add_argument("--waves", default="1,2,4", help="full-wave spin sizes to try, in waves of "
                    "128-thread blocks x 16 per SM (one wave, if the launcher gives a thread one element)")
    ap.add_argument("--repeat", type=int, default=20)
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    if not torch.cuda.is_available():
        print("error: bench/lead.py needs a CUDA device", file=sys.stderr)
        return 2
    props = torch.cuda.get_device_properties(0)
    sms = props.multi_processor_count
    cycles = int(args.lead_us * 2000)   # as timing._SPIN_CYCLES_PER_US: a 2 GHz SM clock
    spin = torch.cuda.jiterator._create_jit_fn(_SPIN)
    side = torch.cuda.Stream()
    x = torch.rand(64 << 20, device="cuda")   # 256 MiB: a memory-bound copy of ~0.13 ms
    y = torch.empty_like(x)
    a = torch.rand(2048, 2048, device="cuda")
    torch.backends.cuda.matmul.allow_tf32 = False   # a compute-bound fp32 matmul of ~0.3 ms
    works: dict[str, Callable[[], object]] = {"copy 256 MiB": lambda: y.copy_(x), "matmul 2048 fp32": lambda: a @ a}
    leads: dict[str, Callable[[], object]] = {"_sleep (1 thread)": lambda: torch.cuda._sleep(cycles)}
    n = torch.full((), float(cycles), device="cuda")
    for w in (int(s) for s in args.waves.split(",") if s.strip()):
        buf = torch.zeros(sms * 16 * 128 * w, device="cuda")
        leads[f"wave x{w} ({buf.numel()} elements)"] = lambda buf=buf: spin(buf, n)
    for f in [*leads.values(), *works.values()]:   # compile and warm everything first
        f()
    torch.cuda.synchronize()
    lines = [f"# Lead spins and a side stream ({props.name}, {sms} SMs)", "",
             f"Command: `python bench/lead.py {' '.join(sys.argv[1:])}`; date {datetime.date.today()}; "
             f"torch {torch.__version__}; lead {args.lead_us:g} us = {cycles} cycles; "
             f"medians of {args.repeat} synced walls.", "",
             "| lead | side kernel | lead alone ms | side alone ms | both ms | overlap |",
             "| --- | --- | --- | --- | --- | --- |"]
    for lname, lead in leads.items():
        lead_ms = wall_ms(lambda lead=lead: lead(), args.repeat)
        for wname, work in works.items():
            work_ms = wall_ms(lambda work=work: work(), args.repeat)

            def both(lead: Callable[[], object] = lead, work: Callable[[], object] = work) -> None:
                lead()
                with torch.cuda.stream(side):   # no wait on the caller's stream: the cheat's way
                    work()
            both_ms = wall_ms(both, args.repeat)
            overlap = (lead_ms + work_ms - both_ms) / min(lead_ms, work_ms)
            lines.append(f"| {lname} | {wname} | {lead_ms:.3f} | {work_ms:.3f} | {both_ms:.3f} | "
                         f"{max(0.0, overlap):.2f} |")
            print(lines[-1], flush=True)
    text = "\n".join(lines) + "\n"
    if args.out:
        Path(args.out).write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
