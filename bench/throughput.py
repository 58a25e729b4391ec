"""Throughput figures (issue 13), each part one run of the real batch runner from an empty build
cache, with the report rewritten after each part so a cut-off run still leaves figures:

    python bench/throughput.py --device cuda --parts mixed,size,kernelbench \
        --kernelbench .kb/level1 --out bench/throughput-h200.md

- mixed: every CUDA (or CPU) pair of solutions/expected.json (honest, wrong, crashing, failing
  to compile, cheats, native escapes), judged as the slow path must judge them (selftest.check).
- size: generated problems with 8.6 GB of inputs and with a 1 GiB output, each submitted as
  its own solution, and a forward that never returns; the seconds each case costs.
- kernelbench: a folder of KernelBench problems as published, each problem's reference submitted
  as its own solution (`class ModelNew(Model)`): how many scored, and how many read 1.00 +- 0.05.

Per-case harness overhead is a verdict's wall time less its GPU work: the timed calls (calls x
median, both sides) and the correctness calls (trials, the reused-storage trial, the stream-order
trial and the warm-up, both sides, at the median); the build is done beforehand by the build pool.
"""
from __future__ import annotations

import argparse
import datetime
import json
import platform
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from harness import selftest  # noqa: E402
from harness.store import Store  # noqa: E402
from harness.verdict import Verdict  # noqa: E402

CORRECTNESS_CALLS = 5 + 1 + 1 + 1   # trials, reused storage, stream order, warm-up (defaults)

BIG_INPUTS = '''"""MSE over two 32768x32768 fp32 inputs: 8.6 GB of inputs, a scalar out."""
import torch
import torch.nn as nn


class Model(nn.Module):
    def forward(self, a, b):
        return torch.mean((a - b) ** 2)


def get_inputs():
    return [torch.randn(32768, 32768), torch.randn(32768, 32768)]


def get_init_inputs():
    return []
'''
BIG_OUTPUT = '''"""ReLU of a 16384x16384 fp32 input: a 1 GiB output per call."""
import torch
import torch.nn as nn


class Model(nn.Module):
    def forward(self, x):
        return torch.relu(x)


def get_inputs():
    return [torch.randn(16384, 16384)]


def get_init_inputs():
    return []
'''
HANG = '''import torch.nn as nn


class ModelNew(nn.Module):
    def forward(self, x):
        while True:
            pass
'''


def as_own_solution(problem_src: str) -> str:
    """A problem's reference, submitted as its solution: the noise floor of a speedup."""
    return problem_src + "\n\nclass ModelNew(Model):\n    pass\n"


def run_batch(pairs: list[dict], work: Path, args: argparse.Namespace, name: str) -> dict[str, Any]:
    """One `harness.batch` over `pairs` with its own empty cache; its verdicts and wall time."""
    (work / f"{name}.json").write_text(json.dumps(pairs))
    store, cache = work / f"{name}.db", work / f"cache-{name}"
    shutil.rmtree(cache, ignore_errors=True)
    cmd = [sys.executable, "-m", "harness.batch", "layout=pairs", f"pairs={work / f'{name}.json'}",
           "select=*", f"device={args.device}", f"store={store}", f"cache_dir={cache}", "force=true",
           "board=false", f"timing.budget_s={args.budget}", *args.extra]
    if args.build_workers:
        cmd.append(f"build_workers={args.build_workers}")
    t0 = time.monotonic()
    try:
        p = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=args.part_limit)
        status, tail = p.returncode, (p.stdout + p.stderr)[-1500:]
    except subprocess.TimeoutExpired as e:
        status, tail = "cut off", str(e.stderr or "")[-1500:]
    wall = time.monotonic() - t0
    rows: list[tuple[Any, Verdict]] = []
    if store.exists():
        with Store(str(store)) as s:
            rows = list(s.case_rows())
    hw = rows[0][1].hardware if rows else "?"
    return {"wall": wall, "rows": rows, "status": status, "tail": tail, "hardware": hw,
            "cmd": " ".join(shlex.quote(str(c)) for c in cmd[1:])}


def gpu_work_s(v: Verdict) -> float:
    t = v.timing
    if t is None:
        return 0.0
    calls = t.ref_calls * t.ref_median_ms + t.cand_calls * t.cand_median_ms
    return (calls + CORRECTNESS_CALLS * (t.ref_median_ms + t.cand_median_ms)) / 1e3


def overhead_s(v: Verdict) -> float:
    return v.durations.get("total", 0.0) - v.durations.get("build", 0.0) - gpu_work_s(v)


def _stats(xs: list[float]) -> str:
    if not xs:
        return "-"
    return f"median {statistics.median(xs):.2f} s, max {max(xs):.2f} s (n={len(xs)})"


def stage_shares(rows: list[tuple[Any, Verdict]]) -> str:
    total = sum(v.durations.get("total", 0.0) for _, v in rows) or 1.0
    stages = Counter[str]()
    for _, v in rows:
        for k in ("build", "reference", "candidate", "timing"):
            stages[k] += v.durations.get(k, 0.0)
    stages["other"] = total - sum(stages.values())
    return ", ".join(f"{k} {100 * s / total:.0f}%" for k, s in stages.items())


def request_means(verdicts: list[Verdict]) -> str:
    """Mean seconds per worker request kind: where a case's wall time goes."""
    sums = Counter[str]()
    for v in verdicts:
        for k, sec in v.details.get("requests", {}).items():
            sums[k] += sec
    n = max(1, len(verdicts))
    return ", ".join(f"{k} {s / n:.2f}" for k, s in sums.most_common())


def part_mixed(work: Path, args: argparse.Namespace) -> list[str]:
    kind = "cpu" if args.device == "cpu" else "cuda"
    expected = selftest.load(ROOT / "solutions/expected.json", kind)
    pairs = [{"solution": str(ROOT / e.solution), "problem": str(ROOT / e.problem),
              "label": Path(e.solution).parent.name, "device": kind} for e in expected]
    got = run_batch(pairs, work, args, "mixed")
    by_file = {Path(v.solution).name + "@" + Path(v.problem).stem: v for _, v in got["rows"]}
    misses = []
    for e in expected:
        v = by_file.get(Path(e.solution).name + "@" + Path(e.problem).stem)
        ok, why = selftest.check(v, e) if v else (False, "not scored")
        if not ok:
            misses.append(f"{e.id} on {Path(e.problem).stem}: {why}")
    verdicts = [v for _, v in got["rows"]]
    worked = [v for v in verdicts if v.timing is not None]
    builds = [v.details["build"]["seconds"] for v in verdicts
              if v.details.get("build", {}).get("extensions") and not v.details["build"].get("cached")]
    rate = len(verdicts) / got["wall"] * 60
    return [
        f"## mixed: {len(pairs)} {kind} pairs of solutions/expected.json over "
        f"{len({e.problem for e in expected})} problems", "",
        f"`python {got['cmd']}` (exit: {got['status']}; {got['hardware']})", "",
        "| figure | value | target |", "| --- | --- | --- |",
        f"| evaluations/min (cold cache, builds included) | {rate:.1f} ({len(verdicts)} verdicts "
        f"in {got['wall']:.0f} s) | >= 20 |",
        f"| as the slow path requires | {len(expected) - len(misses)} of {len(expected)} | all |",
        f"| per-case harness overhead, timed cases | {_stats([overhead_s(v) for v in worked])} | "
        "median <= 2 s |",
        f"| case wall time, timed cases | {_stats([v.durations.get('total', 0) for v in worked])} | |",
        f"| extension build wall time | {_stats(builds)} | <= 30 s CUDA |",
        f"| share of evaluation time by stage | {stage_shares(got['rows'])} | |",
        f"| mean seconds per request, timed cases | {request_means(worked)} | |", "",
        *(["Not as required:", "", *[f"- {m}" for m in misses], ""] if misses else []),
        "Outcomes: " + ", ".join(f"{k} {n}" for k, n in sorted(Counter(
            v.outcome.value for v in verdicts).items())), ""]


def part_size(work: Path, args: argparse.Namespace) -> list[str]:
    d = work / "size"
    d.mkdir(parents=True, exist_ok=True)
    files = {"big_inputs.py": BIG_INPUTS, "big_output.py": BIG_OUTPUT}
    pairs = []
    for name, src in files.items():
        (d / name).write_text(src)
        (d / f"own_{name}").write_text(as_own_solution(src))
        pairs.append({"problem": str(d / name), "solution": str(d / f"own_{name}"), "label": "size"})
    (d / "hang.py").write_text(HANG)
    pairs.append({"problem": str(ROOT / "problems/level1/relu.py"), "solution": str(d / "hang.py"),
                  "label": "size"})
    got = run_batch(pairs, work, args, "size")
    lines = ["## size: 8.6 GB of inputs, a 1 GiB output, a forward that never returns", "",
             f"`python {got['cmd']}` (exit: {got['status']}; {got['hardware']})", "",
             "| case | outcome | speedup | case s | overhead s | stages s | requests s | target |",
             "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for _, v in got["rows"]:
        stages = ", ".join(f"{k} {s:.1f}" for k, s in v.durations.items() if k != "total")
        target = "<= 15 s" if "hang" in v.solution else "<= 30 s"
        sp = f"{v.timing.speedup:.3f}" if v.timing else "-"
        lines.append(f"| {Path(v.solution).stem} on {Path(v.problem).stem} | {v.outcome.value} "
                     f"{','.join(v.flags)} | {sp} | {v.durations.get('total', 0):.1f} | "
                     f"{overhead_s(v):.1f} | {stages} | {request_means([v])} | {target} |")
        if v.outcome.value != "ok":
            lines.append(f"| | {v.message.splitlines()[0][:300].replace('|', '/') if v.message else ''} | | | | | | |")
    if not got["rows"]:
        lines.append(f"| (none scored) | | | | | | | |\n\n```\n{got['tail']}\n```")
    return lines + [""]


def part_kernelbench(work: Path, args: argparse.Namespace) -> list[str]:
    src = Path(args.kernelbench)
    d = work / "kb"
    d.mkdir(parents=True, exist_ok=True)
    pairs = []
    for p in sorted(src.glob("*.py")):
        (d / p.name).write_text(as_own_solution(p.read_text()))
        pairs.append({"problem": str(p.resolve()), "solution": str(d / p.name), "label": "kb-own"})
    got = run_batch(pairs, work, args, "kernelbench")
    verdicts = [v for _, v in got["rows"]]
    timed = [v for v in verdicts if v.timing is not None]
    near = [v for v in timed if abs(v.timing.speedup - 1) <= 0.05]
    off = sorted(timed, key=lambda v: abs(v.timing.speedup - 1), reverse=True)
    lines = [f"## kernelbench: {len(pairs)} problems of {src}, each reference as its own solution", "",
             f"`python {got['cmd']}` (exit: {got['status']}; {got['hardware']})", "",
             "| figure | value | target |", "| --- | --- | --- |",
             f"| scored | {len(verdicts)} of {len(pairs)} in {got['wall']:.0f} s | all within 600 s |",
             f"| speedup within 1.00 +- 0.05 | {len(near)} of {len(timed)} timed | all |",
             f"| case wall time | {_stats([v.durations.get('total', 0) for v in verdicts])} | |",
             f"| per-case harness overhead | {_stats([overhead_s(v) for v in timed])} | median <= 2 s |",
             f"| mean seconds per request | {request_means(timed)} | |",
             "", "Outcomes: " + ", ".join(f"{k} {n}" for k, n in sorted(Counter(
                 v.outcome.value for v in verdicts).items())), ""]
    untimed = [v for v in verdicts if v.timing is None]
    if untimed:
        lines += ["Not timed:", "", *[f"- {Path(v.problem).stem}: {v.outcome.value}: "
                                      f"{v.message.splitlines()[0][:200] if v.message else ''}"
                                      for v in untimed], ""]
    outliers = [v for v in off if v not in near]
    if outliers:
        lines += ["Outside 1.00 +- 0.05:", "", *[
            f"- {Path(v.problem).stem}: {v.timing.speedup:.3f} (CI {v.timing.speedup_ci[0]:.3f}-"
            f"{v.timing.speedup_ci[1]:.3f}; ref {v.timing.ref_median_ms:.4g} ms)" for v in outliers], ""]
    return lines


PARTS: dict[str, Callable[[Path, argparse.Namespace], list[str]]] = {
    "mixed": part_mixed, "size": part_size, "kernelbench": part_kernelbench}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--parts", default="mixed,size", help=f"comma-separated: {', '.join(PARTS)}")
    ap.add_argument("--kernelbench", default=None, help="a folder of KernelBench problem files")
    ap.add_argument("--build-workers", type=int, default=0)
    ap.add_argument("--budget", type=float, default=1.0, help="timing.budget_s")
    ap.add_argument("--part-limit", type=float, default=None, help="seconds before a part is cut off")
    ap.add_argument("--work", default=None)
    ap.add_argument("--out", default=None)
    ap.add_argument("extra", nargs="*", help="more key=value overrides for harness.batch")
    args = ap.parse_args()
    parts = args.parts.split(",")
    if "kernelbench" in parts and not args.kernelbench:
        ap.error("--kernelbench DIR is needed for the kernelbench part")
    work = Path(args.work or tempfile.mkdtemp(prefix="kh-throughput-"))
    head = [f"# Throughput ({args.device})", "",
            f"Command: `python bench/throughput.py {' '.join(shlex.quote(a) for a in sys.argv[1:])}`", "",
            f"Date {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC; python "
            f"{platform.python_version()}; commit {_commit()}.", ""]
    body: list[str] = []
    for name in parts:
        body += PARTS[name](work, args)
        text = "\n".join(head + body)
        if args.out:
            Path(args.out).write_text(text + "\n")
        print("\n".join(body[-40:]), flush=True)
    return 0


def _commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                              text=True).stdout.strip() or "?"
    except OSError:
        return "?"


if __name__ == "__main__":
    sys.exit(main())
