"""Does where a side's buffers sit change its kernels' speed? (issue 16's noise floor) In one
process, the same problem's inputs and model are placed again and again (fresh copies after a
spacer allocation of a random size, the previous placements held, so each lands in other memory)
and each placement is timed with the harness's own clock (cold cache, the lead spin). If medians
differ between placements by more than the noise floor's 2%, one worker's fixed placement can
bias a side by that much, whatever the rounds and the CI say. With several `--leads`, each
placement is timed under each lead spin in turn, and the calls whose lead ran out before the host
had launched the call are counted: if the slow episodes are the host's launch path showing through
a lead too short for it, they are those calls, and a longer lead ends them.

    python bench/placement.py PROBLEM [PROBLEM ...] [--device cuda] [--placements 12]
                              [--calls 40] [--leads 50,200,1000] [--out FILE]
"""
from __future__ import annotations

import argparse
import copy
import datetime
import random
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from harness.config import TimingCfg  # noqa: E402
from harness.device import resolve  # noqa: E402
from harness.problem import load_problem  # noqa: E402
from harness.timing import Clock  # noqa: E402
from sections import add_section  # noqa: E402


def placements(path: Path, device: torch.device, n: int, calls: int, leads: list[float],
               rng: random.Random) -> list[str]:
    mod = load_problem(path)
    torch.manual_seed(1)
    model = mod.Model(*mod.get_init_inputs()).to(device).eval()
    torch.manual_seed(2)
    inputs = [x.to(device) if isinstance(x, torch.Tensor) else x for x in mod.get_inputs()]
    clocks = {lead: Clock(device, "cold", lead_us=lead, count_late=True) for lead in leads}
    held: list[object] = []
    rows, medians = [], {lead: [] for lead in leads}
    late = {lead: 0 for lead in leads}
    with torch.no_grad():
        for i in range(n):
            held.append(torch.empty(rng.randrange(1, 64) << 20, dtype=torch.uint8, device=device))
            m = copy.deepcopy(model)
            xs = [x.clone() if isinstance(x, torch.Tensor) else x for x in inputs]
            held += [m, xs]
            for _ in range(3):
                m(*xs)
            ptr = next((x.data_ptr() for x in xs if isinstance(x, torch.Tensor)), 0)
            order = list(clocks.items())
            k = i % len(order)   # the first lead after a new placement rotates
            cells = {}
            for lead, clock in order[k:] + order[:k]:   # the same placement under each lead, in turn
                before = clock.late
                times = [clock.time_call(lambda m=m, xs=xs: m(*xs))[0] for _ in range(calls)]
                med = statistics.median(times)
                q1, _, q3 = statistics.quantiles(times, n=4)
                medians[lead].append(med)
                late[lead] += clock.late - before
                cells[lead] = f"{med:.4f} / {q3 - q1:.4f} / {clock.late - before}"
            rows.append(f"| {i} | {ptr:#x} | " + " | ".join(cells[lead] for lead in leads) + " |")
    summary = [f"lead {lead:g} us: median of medians {statistics.median(ms):.4f} ms, max/min "
               f"**{max(ms) / min(ms):.4f}**, lead ran out on {late[lead]} of {n * calls} calls"
               for lead, ms in medians.items()]
    head = " | ".join(f"lead {lead:g} us: median ms / IQR ms / late" for lead in leads)
    return [f"## {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}", "",
            f"{n} placements x {calls} calls per lead; 'late': calls whose start event had fired "
            "before the call returned (the lead spin ran out while the host was launching).", "",
            *[f"- {line}" for line in summary], "",
            f"| placement | first input at | {head} |", "| --- | --- |" + " --- |" * len(leads), *rows, ""]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("problems", nargs="+")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--placements", type=int, default=12)
    ap.add_argument("--calls", type=int, default=40)
    ap.add_argument("--leads", default=f"{TimingCfg().lead_us:g}",
                    help="comma-separated lead spins in us, each timed in turn (default: the harness's)")
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    dev = resolve(args.device)
    device = torch.device(dev.device)
    if device.type == "cuda":
        torch.cuda.set_device(device)
        torch.backends.cuda.matmul.allow_tf32 = False   # as the workers judge fp32
        torch.backends.cudnn.allow_tf32 = False
    text = [f"# Placement and speed ({dev.hardware})", "",
            f"Command: `python bench/placement.py {' '.join(sys.argv[1:])}`; date {datetime.date.today()}.", ""]
    rng = random.Random(0)
    leads = [float(x) for x in args.leads.split(",") if x.strip()]
    for p in args.problems:
        add_section(text, p, lambda p=p: placements(Path(p).resolve(), device, args.placements,
                                                    args.calls, leads, rng), args.out, tail=4)
    print("\n".join(text))
    return 0


if __name__ == "__main__":
    sys.exit(main())
