"""Why does a reference submitted as its own solution not read 1.00? (issue 16) The same
problem's Model in a reference worker and, as `ModelNew(Model)`, in a sandboxed candidate worker,
side by side: each one's kernels under the profiler (names, device time), then timed rounds in
turns with the case's own settings, so a gap can be pinned on a kernel, a side or a round.

    python bench/sides.py PROBLEM [PROBLEM ...] [--device cuda] [--rounds 10] [--out FILE]
"""
from __future__ import annotations

import argparse
import datetime
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from omegaconf import OmegaConf  # noqa: E402

from harness import protocol as P, trials  # noqa: E402
from harness.config import EvalCfg  # noqa: E402
from harness.device import resolve  # noqa: E402
from harness.pool import new_pair  # noqa: E402
from harness.proc import device_env  # noqa: E402
from harness.talk import Talk  # noqa: E402
from harness.verdict import Outcome, Verdict  # noqa: E402
from sections import add_section  # noqa: E402


def side_by_side(problem: Path, cfg: EvalCfg, rounds: int, tmp: Path, profiled: tuple[str, ...]) -> list[str]:
    dev = resolve(cfg.device)
    env, device = device_env(dev.device, cfg.timing.cpu_threads)
    ext = tmp / problem.stem
    ext.mkdir(parents=True)
    solution = ext / "solution.py"
    solution.write_text(problem.read_text() + "\n\nclass ModelNew(Model):\n    pass\n")
    scratch, (ref, cand) = new_pair(cfg, env)
    talk = Talk(Verdict(str(problem), str(solution), Outcome.OK), cfg.limits)
    t = cfg.timing
    try:
        load = P.Load(str(problem.resolve()), device, 1)
        talk.ask(ref, load, cfg.limits.load_s, "reference load")
        talk.ask(cand, trials.expose(talk, cand, problem, solution, ext, [], cfg, load),
                 cfg.limits.load_s, "load")
        kernels = {}
        for name, w in (("reference", ref), ("candidate", cand)):
            talk.ask(w, P.Warm(2), cfg.limits.step_s, "warm")
            got = talk.ask(w, P.Run((3,), profile=name in profiled), cfg.limits.step_s, "run", P.Trials)
            kernels[name] = dict(got.trials[0].obs.get("kernels") or [])
        times: dict[str, list[float]] = {"reference": [], "candidate": []}
        per_round: list[tuple[float, float]] = []
        for i in range(rounds):
            order = [("reference", ref), ("candidate", cand)][:: 1 if i % 2 == 0 else -1]
            medians = {}
            for name, w in order:
                req = P.Time(t.round_calls * 4, (11, 12, 13, 14)[: t.rotate_sets], t.cache,
                             t.flush_bytes, t.lead_us, i == 0, t.warmup_calls, t.warmup_s, t.rotate_sets,
                             graph=t.cuda_graph and device != "cpu", poison=t.poison)
                got_t = talk.ask(w, req, cfg.limits.step_s, "time", P.Timed)
                times[name] += list(got_t.device_ms)
                medians[name] = statistics.median(got_t.device_ms)
            per_round.append((medians["reference"], medians["candidate"]))
    finally:
        for w in (ref, cand):
            w.close()
        shutil.rmtree(scratch, ignore_errors=True)
    rm, cm = statistics.median(times["reference"]), statistics.median(times["candidate"])
    lines = [f"## {problem.relative_to(ROOT) if problem.is_relative_to(ROOT) else problem} "
             f"(profiled before timing: {', '.join(profiled) or 'neither side'})", "",
             f"median device time: reference {rm:.4f} ms, candidate {cm:.4f} ms, ratio "
             f"(reference / candidate) **{rm / cm:.4f}** over {len(times['reference'])} calls each", "",
             "| round | reference median ms | candidate median ms | ratio |", "| --- | --- | --- | --- |"]
    lines += [f"| {i} | {r:.4f} | {c:.4f} | {r / c:.4f} |" for i, (r, c) in enumerate(per_round)]
    names = sorted(set(kernels["reference"]) | set(kernels["candidate"]),
                   key=lambda k: -max(kernels["reference"].get(k, 0), kernels["candidate"].get(k, 0)))
    lines += ["", "Kernels of one profiled call (device us; `-`: that side did not launch it):", "",
              "| kernel | reference | candidate |", "| --- | --- | --- |"]
    for k in names[:25]:
        r, c = kernels["reference"].get(k), kernels["candidate"].get(k)
        lines.append(f"| `{k[:90]}` | {f'{r:.1f}' if r is not None else '-'} | {f'{c:.1f}' if c is not None else '-'} |")
    return lines + [""]


def cpu_load(n: int, nice: int) -> list[subprocess.Popen]:
    """n busy processes at this niceness: a batch's compiles, without the compiler."""
    def lower() -> None:
        os.nice(nice)
    return [subprocess.Popen([sys.executable, "-c", "while True: pass"], preexec_fn=lower if nice else None)
            for _ in range(n)]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("problems", nargs="+")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--rounds", type=int, default=10)
    ap.add_argument("--out", default=None)
    ap.add_argument("--profile", default="reference,candidate",
                    help="which sides run one profiled call before the timed rounds (a case profiles "
                         "the candidate only); comma-separated, or 'none'")
    ap.add_argument("--repeat-profiles", default="",
                    help="also run each problem again with these --profile values, ';'-separated")
    ap.add_argument("--load", type=int, default=0, help="busy CPU processes while it runs")
    ap.add_argument("--load-nice", type=int, default=0, help="their niceness (build.nice is 10)")
    args = ap.parse_args()
    cfg = OmegaConf.structured(EvalCfg(device=args.device,
                                       cache_dir=tempfile.mkdtemp(prefix="kh-sides-")))
    text = [f"# The two sides of a case, side by side ({resolve(args.device).hardware})", "",
            f"Command: `python bench/sides.py {' '.join(sys.argv[1:])}`; date {datetime.date.today()}; "
            f"{args.load} busy processes at nice {args.load_nice} on {os.cpu_count()} cores.", ""]
    load = cpu_load(args.load, args.load_nice)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))   # a timeout's kill still ends the load
    try:
        return _run(args, cfg, text)
    finally:
        for p in load:
            p.kill()


def _run(args: argparse.Namespace, cfg: EvalCfg, text: list[str]) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        variants = [args.profile] + [v for v in args.repeat_profiles.split(";") if v]
        for p in args.problems:
            for n, v in enumerate(variants):
                profiled = tuple(x for x in v.split(",") if x in ("reference", "candidate"))
                add_section(text, p, lambda p=p, n=n, profiled=profiled: side_by_side(
                    Path(p).resolve(), cfg, args.rounds, Path(tmp) / str(n), profiled), args.out)
    print("\n".join(text))
    return 0


if __name__ == "__main__":
    sys.exit(main())
