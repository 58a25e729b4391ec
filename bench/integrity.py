"""Judge every example and adversarial solution for one device and tabulate against
solutions/expected.json: python bench/integrity.py --device cuda --out bench/integrity-gpu.md

Runs the real batch runner (parallel builds, isolated workers) over the pairs in expected.json,
then writes a markdown table: example, verdict, flags, speedup, and whether it is what the
integrity issue requires.
"""
from __future__ import annotations

import argparse
import fnmatch
import datetime
import platform
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from harness import selftest  # noqa: E402
from harness.problem import problem_id  # noqa: E402
from harness.store import Store  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--out", default=None)
    ap.add_argument("--store", default=".harness-cache/integrity.db")
    ap.add_argument("--build-workers", type=int, default=0)
    ap.add_argument("--select", default="*")
    ap.add_argument("--budget", type=float, default=3.0)
    ap.add_argument("--time-limit", type=float, default=0,
                    help="stop the batch (as Ctrl-C does) after this many seconds; the table "
                         "then shows what was scored")
    ap.add_argument("extra", nargs="*", help="more key=value overrides for harness.batch")
    args = ap.parse_args()
    kind = "cpu" if args.device == "cpu" else "cuda"
    Path(args.store).parent.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "harness.batch", "layout=pairs", "pairs=solutions/expected.json",
           f"select='{args.select}'", f"device={args.device}", f"store={args.store}", "force=true",
           f"timing.budget_s={args.budget}", "limits.step_s=60", "limits.load_s=120",
           "board=false", *args.extra]
    if args.build_workers:
        cmd.append(f"build_workers={args.build_workers}")
    t0 = time.monotonic()
    p = subprocess.Popen(cmd, cwd=ROOT)
    try:
        p.wait(timeout=args.time_limit or None)
    except subprocess.TimeoutExpired:
        p.send_signal(signal.SIGINT)
        p.wait()
    wall = time.monotonic() - t0
    if p.returncode:
        print(f"batch exited {p.returncode}", file=sys.stderr)
    expected = {(Path(e.solution).parent.name, problem_id(e.problem), Path(e.solution).stem): e
                for e in selftest.load(ROOT / "solutions/expected.json", kind)
                if fnmatch.fnmatch(e.solution, args.select)}
    with Store(ROOT / args.store) as store:
        got = {(c.label, c.problem_id, c.sample): v for c, v in store.case_rows()}
    rows, bad = [], 0
    for key, e in sorted(expected.items()):
        v = got.get(key)
        if v is None:
            rows.append(f"| {key[0]}/{key[2]} on {key[1]} | (not scored) | | | {'|'.join(e.outcomes)} {','.join(e.flags)} | NO |")
            bad += 1
            continue
        ok, why = selftest.check(v, e)
        bad += not ok
        d = selftest.describe(v)
        rows.append(f"| {key[0]}/{key[2]} on {key[1]} | {d['outcome']} | {d['flags']} | {d['speedup']} | "
                    f"{'|'.join(e.outcomes)} {','.join(e.flags) or '-'} | {'yes' if ok else 'NO: ' + why} |")
    hw = next(iter(got.values())).hardware if got else "?"
    text = "\n".join([
        f"# Integrity table ({kind})", "",
        f"Command: `{' '.join(shlex.quote(a) for a in ['python', 'bench/integrity.py', *sys.argv[1:]])}`",
        f"(runs `{' '.join(cmd[1:])}`)", "",
        f"Hardware: {hw}; date {datetime.date.today()}; python {platform.python_version()}; "
        f"wall {wall:.0f} s; {len(expected) - bad} of {len(expected)} as required.", "",
        "| solution | outcome | flags | speedup | required | as required |",
        "| --- | --- | --- | --- | --- | --- |", *rows, ""])
    if args.out:
        Path(args.out).write_text(text)
    print(text)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
