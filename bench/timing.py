"""How good are the harness's timings? Noise floor, repeatability, cost and truth, measured.

    python bench/timing.py [--device auto|cpu|cuda|cuda:N] [--out FILE] [--cache-dir DIR]
                           [--quick] [--trials N] [--time-limit S] [--keep-tmp]

1. Noise floor: each of five problems' reference submitted as its own solution (the problem's
   source with `ModelNew = Model` appended; flagged `no_custom_kernel`, as expected). The
   speedup should be 1.00 +- 0.02.
2. Repeatability: one honest kernel (solutions/examples/relu_cuda.py, relu_cpp.py on the CPU)
   scored in 5 separate `python -m harness.eval ... format=json` processes: max/min speedup
   should be <= 1.03.
3. Cost: the timing stage's own time (`Verdict.timing.seconds`) for a ~20 us and a ~5 ms
   reference (a relu and a matmul, sized from what step 1 measured on this device).
4. Truth: the honest relu over 64M float32 (256 MiB in, 256 MiB out): candidate time,
   achieved bandwidth and speed of light.

Everything runs through the real pipeline (`harness.case.evaluate`, real workers, real builds)
with the default timing settings (`--quick`: short budgets and small problems, for a CPU smoke
run). Generated problems and solutions go to a temporary folder; builds are cached in
--cache-dir. The markdown report goes to stdout and, rewritten after every step, to --out.
On CUDA, the relu kernel is compiled in the background while step 1 runs.
"""
from __future__ import annotations

import argparse
import copy
import datetime as _dt
import json
import math
import os
import platform
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from omegaconf import OmegaConf  # noqa: E402
import yaml  # noqa: E402

from harness import __version__  # noqa: E402
from harness.case import evaluate  # noqa: E402
from harness.config import EvalCfg  # noqa: E402
from harness.device import DeviceInfo, resolve  # noqa: E402
from harness.verdict import Outcome, Verdict  # noqa: E402

PROBLEMS = ROOT / "problems"
EXAMPLES = ROOT / "solutions" / "examples"
RELU = PROBLEMS / "level1" / "relu.py"

NOISE_TARGET = 0.02        # |speedup - 1| for the reference against itself
REPEAT_TARGET = 1.03       # max / min speedup over separate processes
REPEAT_RUNS = 5
SMALL_TARGET_MS = 0.020    # cost: the "~20 us" kernel
LARGE_TARGET_MS = 5.0      # cost: the "~5 ms" kernel

# Noise-floor problems: (label, file, constant-line substitutions for --quick).
NOISE_PROBLEMS = [
    ("level1/relu", PROBLEMS / "level1" / "relu.py", {"M, N = 16384, 4096": "M, N = 256, 256"}),
    ("level1/softmax", PROBLEMS / "level1" / "softmax.py", {"M, N = 8192, 8192": "M, N = 256, 256"}),
    ("level1/matmul_square", PROBLEMS / "level1" / "matmul_square.py", {"N = 3072": "N = 192"}),
    ("level1/conv2d", PROBLEMS / "level1" / "conv2d.py",
     {"BATCH, C_IN, C_OUT, H, W, KSIZE = 32, 128, 256, 56, 56, 3":
      "BATCH, C_IN, C_OUT, H, W, KSIZE = 2, 8, 16, 16, 16, 3"}),
    ("level3/resnet_basic_block", PROBLEMS / "level3" / "resnet_basic_block.py",
     {"BATCH, CHANNELS, H, W = 32, 128, 56, 56": "BATCH, CHANNELS, H, W = 2, 8, 16, 16"}),
]
MATMUL_LINE = "N = 3072"


def relu_shape() -> tuple[int, int]:
    """problems/level1/relu.py's own `M, N = ...` line: steps 3 and 4 resize it, so read it."""
    m = re.search(r"^M, N = (\d+), (\d+)\s*$", RELU.read_text(), re.M)
    if not m:
        raise RuntimeError(f"{RELU}: expected a line 'M, N = <rows>, <cols>' to resize")
    return int(m.group(1)), int(m.group(2))


RELU_LINE = "M, N = {}, {}".format(*relu_shape())


# ------------------------------------------------------------------------------------------------
# Small helpers
# ------------------------------------------------------------------------------------------------
def fmt_ms(ms: Optional[float]) -> str:
    if ms is None or not math.isfinite(ms):
        return "-"
    if ms < 1:
        return f"{ms * 1e3:.1f} us"
    return f"{ms:.3f} ms"


def fmt_ci(ci: Any) -> str:
    try:
        return f"{ci[0]:.3f}-{ci[1]:.3f}"
    except (TypeError, IndexError):
        return "-"


def mark(ok: Optional[bool]) -> str:
    return "n/a" if ok is None else ("met" if ok else "MISSED")


def substitute(src: str, subs: dict[str, str], where: str) -> str:
    for old, new in subs.items():
        pattern = re.compile(rf"^{re.escape(old)}\s*$", re.M)
        if not pattern.search(src):
            raise RuntimeError(f"{where}: expected a line '{old}' to resize")
        src = pattern.sub(new, src, count=1)
    return src


@dataclass
class Row:
    """One evaluated case, as the report shows it."""
    label: str
    problem: str
    solution: str
    verdict: Optional[Verdict] = None
    error: str = ""
    note: str = ""

    @property
    def t(self):
        return self.verdict.timing if self.verdict else None

    def status(self) -> str:
        if self.error:
            return f"error: {self.error.splitlines()[0][:160]}"
        v = self.verdict
        assert v is not None
        if v.outcome is not Outcome.OK:
            return f"{v.outcome.value}: {v.message.splitlines()[0][:160] if v.message else ''}"
        if v.timing is None:
            return "ok, no timing"
        return "ok"


@dataclass
class Ctx:
    args: argparse.Namespace
    dev: DeviceInfo
    cache_dir: Path
    tmp: Path
    t0: float = field(default_factory=time.monotonic)
    sections: list[str] = field(default_factory=list)
    summary: list[tuple[str, str, str, str]] = field(default_factory=list)  # figure, target, measured, status
    header: str = ""
    notes: list[str] = field(default_factory=list)

    @property
    def cuda(self) -> bool:
        return self.dev.device != "cpu"

    @property
    def quick(self) -> bool:
        return bool(self.args.quick)

    def elapsed(self) -> float:
        return time.monotonic() - self.t0

    def remaining(self) -> float:
        return self.args.time_limit - self.elapsed()

    # -- configs -------------------------------------------------------------------------------
    def cfg(self, **overrides: Any) -> Any:
        cfg = OmegaConf.structured(EvalCfg(device=self.dev.device, cache_dir=str(self.cache_dir)))
        cfg.check.trials = self.args.trials
        cfg.limits.step_s = 90.0
        cfg.limits.load_s = 120.0
        if self.quick:
            cfg.timing.budget_s = 2.0
            cfg.timing.min_calls = 5
            cfg.timing.warmup_s = 0.0
        for key, value in [*overrides.items(), *self.sets()]:
            OmegaConf.update(cfg, key, value, merge=False)
        return cfg

    def sets(self) -> list[tuple[str, Any]]:
        """--set KEY=VALUE pairs (e.g. timing.lead_us=200): over every config of the run, a
        step's own settings included."""
        out = []
        for item in self.args.set:
            key, eq, text = item.partition("=")
            if not eq or not key:
                raise SystemExit(f"error: --set {item}: expected KEY=VALUE")
            value = yaml.safe_load(text)
            if isinstance(value, str):   # YAML reads 1e3 as a string; Hydra, as a number
                try:
                    value = float(value)
                except ValueError:
                    pass
            out.append((key, value))
        return out

    def cli_overrides(self) -> list[str]:
        """The same settings, as Hydra overrides for `python -m harness.eval`."""
        out = [f"device={self.dev.device}", f"cache_dir={self.cache_dir}", "format=json",
               f"check.trials={self.args.trials}", "limits.step_s=90.0"]
        if self.quick:
            out += ["timing.budget_s=2.0", "timing.min_calls=5", "timing.warmup_s=0.0"]
        return out + list(self.args.set)

    # -- files ---------------------------------------------------------------------------------
    def write_problem(self, name: str, base: Path, subs: dict[str, str]) -> Path:
        src = substitute(base.read_text(), subs, str(base)) if subs else base.read_text()
        p = self.tmp / "problems" / f"{name}.py"
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(src)
        return p

    def reference_solution(self, problem: Path) -> Path:
        """The problem's own source with ModelNew = Model: the reference as a solution."""
        src = problem.read_text().rstrip() + \
            "\n\n\n# bench/timing.py: the reference submitted as its own solution.\nModelNew = Model\n"
        p = self.tmp / "solutions" / f"ref_{problem.stem}.py"
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(src)
        return p

    def relu_solution(self) -> Path:
        return EXAMPLES / ("relu_cuda.py" if self.cuda else "relu_cpp.py")

    # -- running -------------------------------------------------------------------------------
    def enough_time(self, need_s: float) -> bool:
        return self.remaining() >= need_s

    def case_need_s(self) -> float:
        return 25.0 if self.quick else 40.0

    def run_case(self, label: str, problem: Path, solution: Path, cfg: Any,
                 retry_loose: bool = False) -> Row:
        row = Row(label, rel(problem), rel(solution))
        if not self.enough_time(self.case_need_s()):
            row.error = f"skipped: {self.remaining():.0f} s left of --time-limit {self.args.time_limit:g}"
            log(f"  {label}: {row.error}")
            return row
        t = time.monotonic()
        try:
            row.verdict = evaluate(problem, solution, cfg, self.dev)
        except Exception as e:   # a ProblemError or a harness bug: report it, go on
            row.error = f"{type(e).__name__}: {e}"
            log(traceback.format_exc())
        v = row.verdict
        if retry_loose and v is not None and v.outcome is Outcome.INCORRECT and \
                self.enough_time(self.case_need_s()):
            # The reference against itself can differ by the rounding of a different algorithm
            # choice (cuDNN, TF32); the timing is what is measured here, so loosen and go again.
            log(f"  {label}: INCORRECT against itself ({v.message.splitlines()[0][:200]}); "
                "retrying with loose float tolerances")
            loose = copy.deepcopy(cfg)
            for dt in loose.check.tolerances:
                loose.check.tolerances[dt].atol = 1e-1
                loose.check.tolerances[dt].rtol = 1e-1
                loose.check.tolerances[dt].max_rel_norm = 1e-2
            row.note = (f"first attempt incorrect against itself ({v.message.splitlines()[0][:200]}); "
                        "retried with atol=rtol=0.1, max_rel_norm=0.01")
            try:
                row.verdict = evaluate(problem, solution, loose, self.dev)
            except Exception as e:
                row.error = f"{type(e).__name__}: {e}"
        log(f"  {label}: {row.status()} in {time.monotonic() - t:.1f} s"
            + (f"; speedup {row.t.speedup:.4f} (CI {fmt_ci(row.t.speedup_ci)}), ref "
               f"{fmt_ms(row.t.ref_median_ms)}, cand {fmt_ms(row.t.cand_median_ms)}, "
               f"timing {row.t.seconds:.1f} s" if row.t else ""))
        return row

    # -- report --------------------------------------------------------------------------------
    def report(self, final: bool = False) -> str:
        parts = [self.header]
        parts += self.sections
        if self.summary:
            lines = ["## Summary", "", "| figure | target | measured | status |", "| --- | --- | --- | --- |"]
            lines += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in self.summary]
            parts.append("\n".join(lines))
        if self.notes:
            parts.append("## Notes\n\n" + "\n".join(f"- {n}" for n in self.notes))
        tail = f"Total time: {self.elapsed():.0f} s." if final else \
            f"(incomplete: written after {self.elapsed():.0f} s)"
        parts.append(tail)
        return "\n\n".join(parts) + "\n"

    def save(self, final: bool = False) -> None:
        if self.args.out:
            out = Path(self.args.out)
            out.parent.mkdir(parents=True, exist_ok=True)
            tmp = out.with_name(out.name + ".tmp")
            tmp.write_text(self.report(final))
            tmp.replace(out)


def rel(p: Path) -> str:
    try:
        return str(Path(p).resolve().relative_to(ROOT))
    except ValueError:
        return f"<tmp>/{Path(p).parent.name}/{Path(p).name}"


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def flags_of(v: Optional[Verdict]) -> str:
    return ", ".join(v.flags) if v and v.flags else "-"


# ------------------------------------------------------------------------------------------------
# Background build (CUDA): compile the relu kernel while the noise floor is measured
# ------------------------------------------------------------------------------------------------
_BUILD = r"""
import json, sys
sys.path.insert(0, sys.argv[1])
from pathlib import Path
from omegaconf import OmegaConf
from harness.solution import prepare
from harness.config import EvalCfg
cfg = OmegaConf.structured(EvalCfg(device=sys.argv[3], cache_dir=sys.argv[4]))
src, code_file, b = prepare(Path(sys.argv[2]), cfg, sys.argv[3])
print(json.dumps({"ok": bool(b and b.ok), "cached": bool(b and b.cached),
                  "seconds": round(b.seconds, 1) if b else 0.0,
                  "message": (b.message if b else src.reason)[:500]}))
"""


class BackgroundBuild:
    def __init__(self, ctx: Ctx, solution: Path):
        self.t0 = time.monotonic()
        self.solution = solution
        self.proc = subprocess.Popen(
            [sys.executable, "-c", _BUILD, str(ROOT), str(solution), ctx.dev.device, str(ctx.cache_dir)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=str(ROOT))
        self.result: Optional[dict] = None

    def wait(self, timeout: float) -> dict:
        if self.result is None:
            try:
                out, err = self.proc.communicate(timeout=max(1.0, timeout))
                try:
                    self.result = json.loads(out.strip().splitlines()[-1])
                except (ValueError, IndexError):
                    self.result = {"ok": False, "message": (err or out)[-500:]}
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.communicate()
                self.result = {"ok": False, "message": f"not built within {timeout:.0f} s"}
            self.result["wall_s"] = round(time.monotonic() - self.t0, 1)
        return self.result


# ------------------------------------------------------------------------------------------------
# The four measurements
# ------------------------------------------------------------------------------------------------
def noise_floor(ctx: Ctx) -> dict[str, Row]:
    log("== 1. noise floor: the reference against itself")
    rows: dict[str, Row] = {}
    for label, path, quick_subs in NOISE_PROBLEMS:
        if ctx.quick:
            problem = ROOT / "tests" / "problems" / "small_relu.py" if label == "level1/relu" \
                else ctx.write_problem(f"quick_{path.stem}", path, quick_subs)
        else:
            problem = path
        rows[label] = ctx.run_case(label, problem, ctx.reference_solution(problem), ctx.cfg(),
                                   retry_loose=True)
    lines = ["## 1. Noise floor: the reference submitted as its own solution", "",
             f"Target: speedup 1.00 +- {NOISE_TARGET:.2f} on every problem. The solution file is the "
             "problem's source with `ModelNew = Model` appended, so `no_custom_kernel` is expected.", "",
             "| problem | ref median | cand median | speedup | 95% CI | CI has 1.0 | calls ref/cand | rounds | "
             "converged | timing s | flags | target |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    worst = 0.0
    all_ok = True
    for label, r in rows.items():
        t = r.t
        if t is None:
            all_ok = False
            lines.append(f"| {label} | {r.status()} | | | | | | | | | {flags_of(r.verdict)} | MISSED |")
            continue
        dev = abs(t.speedup - 1.0)
        worst = max(worst, dev)
        ok = dev <= NOISE_TARGET
        all_ok &= ok
        has1 = t.speedup_ci[0] <= 1.0 <= t.speedup_ci[1]
        lines.append(f"| {label} | {fmt_ms(t.ref_median_ms)} | {fmt_ms(t.cand_median_ms)} | {t.speedup:.4f} | "
                     f"{fmt_ci(t.speedup_ci)} | {'yes' if has1 else 'no'} | {t.ref_calls}/{t.cand_calls} | "
                     f"{t.rounds} | {'yes' if t.converged else 'no'} | {t.seconds:.1f} | {flags_of(r.verdict)} | "
                     f"{mark(ok)} |")
        ctx.summary.append((f"noise floor: {label}", f"1.00 +- {NOISE_TARGET:.2f}",
                            f"{t.speedup:.4f} (CI {fmt_ci(t.speedup_ci)})", mark(ok)))
    for label, r in rows.items():
        if r.t is None:
            ctx.summary.append((f"noise floor: {label}", f"1.00 +- {NOISE_TARGET:.2f}", r.status()[:80], "MISSED"))
        if r.note:
            lines.append(f"\n{label}: {r.note}")
    lines.append(f"\nWorst |speedup - 1|: {worst:.4f}; all within target: {'yes' if all_ok else 'no'}.")
    ctx.sections.append("\n".join(lines))
    return rows


def repeatability(ctx: Ctx, build: Optional[BackgroundBuild]) -> None:
    log("== 2. repeatability: one honest kernel, separate processes")
    problem = ROOT / "tests" / "problems" / "small_relu.py" if ctx.quick else RELU
    solution = ctx.relu_solution()
    if build is not None:
        res = build.wait(max(5.0, ctx.remaining() - 60))
        log(f"  background build of {rel(solution)}: {res}")
        ctx.notes.append(f"{rel(solution)} was compiled in the background during step 1: "
                         f"{'ok' if res.get('ok') else 'FAILED'}, {res.get('seconds', '?')} s build "
                         f"({res.get('wall_s', '?')} s wall)"
                         + (f": {res.get('message')}" if not res.get("ok") else ""))
    cmd_base = [sys.executable, "-m", "harness.eval", f"problem={problem}", f"solution={solution}"] \
        + ctx.cli_overrides()
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    results: list[dict[str, Any]] = []
    for i in range(REPEAT_RUNS):
        need = ctx.case_need_s()
        if not ctx.enough_time(need):
            results.append({"error": f"skipped: {ctx.remaining():.0f} s left"})
            continue
        t = time.monotonic()
        try:
            out = subprocess.run(cmd_base, capture_output=True, text=True, cwd=str(ROOT), env=env,
                                 timeout=max(30.0, ctx.remaining() - 20))
            lines = [l for l in out.stdout.splitlines() if l.strip()]
            try:
                d = json.loads(lines[-1])
            except (ValueError, IndexError):
                d = {"error": f"exit {out.returncode}, no JSON: {(out.stderr or out.stdout).strip()[-300:]}"}
        except subprocess.TimeoutExpired:
            d = {"error": "timed out"}
        d["_wall_s"] = round(time.monotonic() - t, 1)
        results.append(d)
        tm = d.get("timing") or {}
        log(f"  run {i + 1}: {d.get('outcome', d.get('error'))}, speedup {tm.get('speedup')}, "
            f"{d['_wall_s']} s")
    speedups = [d["timing"]["speedup"] for d in results
                if d.get("outcome") == "ok" and d.get("timing")]
    lines = ["## 2. Repeatability: one honest kernel in separate processes", "",
             f"`{rel(solution)}` on `{rel(problem)}`, {REPEAT_RUNS} runs of",
             "", "```", shlex.join(["python"] + cmd_base[1:]), "```", "",
             f"Target: max/min speedup <= {REPEAT_TARGET:.2f}.", "",
             "| run | outcome | ref median | cand median | speedup | 95% CI | calls ref/cand | converged | "
             "timing s | process s | flags |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for i, d in enumerate(results, 1):
        tm = d.get("timing")
        if not tm:
            msg = d.get("error") or f"{d.get('outcome')}: {str(d.get('message', '')).splitlines()[:1]}"
            lines.append(f"| {i} | {msg[:200]} | | | | | | | | {d.get('_wall_s', '')} | |")
            continue
        lines.append(f"| {i} | {d.get('outcome')} | {fmt_ms(tm['ref_median_ms'])} | {fmt_ms(tm['cand_median_ms'])} | "
                     f"{tm['speedup']:.4f} | {fmt_ci(tm['speedup_ci'])} | {tm['ref_calls']}/{tm['cand_calls']} | "
                     f"{'yes' if tm.get('converged') else 'no'} | {tm.get('seconds', 0):.1f} | {d['_wall_s']} | "
                     f"{', '.join(d.get('flags') or []) or '-'} |")
    if len(speedups) >= 2:
        spread = max(speedups) / min(speedups)
        ok = spread <= REPEAT_TARGET and len(speedups) == REPEAT_RUNS
        measured = f"{spread:.4f} (min {min(speedups):.4f}, max {max(speedups):.4f}, {len(speedups)}/{REPEAT_RUNS} runs)"
    else:
        ok, measured = False, f"{len(speedups)}/{REPEAT_RUNS} runs gave a speedup"
    lines.append(f"\nmax/min speedup: {measured}: {mark(ok)}.")
    ctx.sections.append("\n".join(lines))
    ctx.summary.append(("repeatability: max/min speedup", f"<= {REPEAT_TARGET:.2f}", measured, mark(ok)))


def _relu_rows_for(ctx: Ctx, noise: dict[str, Row], target_ms: float) -> tuple[int, int]:
    """Rows (of relu.py's columns; small_relu's 1024 in --quick) for a relu whose reference takes ~target_ms,
    from the step-1 relu: time ~ overhead + rows * per-row cost."""
    base_rows, cols = (1024, 1024) if ctx.quick else relu_shape()
    r = noise.get("level1/relu")
    t = r.t if r else None
    if t is None:
        return (2048 if not ctx.quick else 256), cols
    ovh = min(t.overhead_ms or 0.0, 0.5 * t.ref_median_ms, 0.5 * target_ms)
    rows = base_rows * (target_ms - ovh) / max(t.ref_median_ms - ovh, 1e-6)
    rows = int(max(8, min(8 * base_rows, round(rows / 8) * 8)))
    return rows, cols


def _matmul_n_for(ctx: Ctx, noise: dict[str, Row], target_ms: float) -> int:
    base_n = 192 if ctx.quick else 3072
    r = noise.get("level1/matmul_square")
    t = r.t if r else None
    if t is None:
        return 384 if ctx.quick else 5120
    n = base_n * (target_ms / t.ref_median_ms) ** (1 / 3)
    return int(max(64, min(16384, round(n / 64) * 64)))


def cost(ctx: Ctx, noise: dict[str, Row]) -> None:
    log("== 3. cost: time of the timing stage")
    rows_n, cols = _relu_rows_for(ctx, noise, SMALL_TARGET_MS)
    small = ctx.write_problem(f"relu_{rows_n}x{cols}", RELU, {RELU_LINE: f"M, N = {rows_n}, {cols}"})
    n = _matmul_n_for(ctx, noise, LARGE_TARGET_MS)
    large = ctx.write_problem(f"matmul_{n}", PROBLEMS / "level1" / "matmul_square.py", {MATMUL_LINE: f"N = {n}"})
    # The real settings (the quick run only shortens the budget).
    cfg = ctx.cfg(**({"timing.budget_s": 5.0} if ctx.quick else {}))
    cases = [(f"~{SMALL_TARGET_MS * 1e3:.0f} us: relu {rows_n}x{cols} fp32", small, ctx.relu_solution()),
             (f"~{LARGE_TARGET_MS:g} ms: matmul {n}x{n} fp32", large, ctx.reference_solution(large))]
    rows = [ctx.run_case(label, p, s, cfg, retry_loose=s.name.startswith("ref_")) for label, p, s in cases]
    t = cfg.timing
    lines = ["## 3. Cost: time the harness spends in the timing stage", "",
             f"Settings: cache={t.cache}, rel_ci={t.rel_ci}, budget_s={t.budget_s}, round_calls={t.round_calls}, "
             f"min/max calls {t.min_calls}/{t.max_calls}, warmup {t.warmup_calls} calls / {t.warmup_s} s. "
             "Sizes were picked from step 1's measurements so that the reference lands near the target time.",
             "", "| kernel | solution | ref median | cand median | speedup | calls ref/cand | rounds | converged | "
             "timing stage s | whole case s | flags |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in rows:
        tm = r.t
        if tm is None:
            lines.append(f"| {r.label} | `{r.solution}` | {r.status()} | | | | | | | | {flags_of(r.verdict)} |")
            ctx.summary.append((f"cost: {r.label}", "(report)", r.status()[:80], "MISSED"))
            continue
        total = r.verdict.durations.get("total", 0.0) if r.verdict else 0.0
        lines.append(f"| {r.label} | `{r.solution}` | {fmt_ms(tm.ref_median_ms)} | {fmt_ms(tm.cand_median_ms)} | "
                     f"{tm.speedup:.3f} | {tm.ref_calls}/{tm.cand_calls} | {tm.rounds} | "
                     f"{'yes' if tm.converged else 'no'} | {tm.seconds:.1f} | {total:.1f} | {flags_of(r.verdict)} |")
        ctx.summary.append((f"cost: {r.label}", "(report)",
                            f"timing stage {tm.seconds:.1f} s; ref {fmt_ms(tm.ref_median_ms)}, "
                            f"{tm.ref_calls}+{tm.cand_calls} calls, {'converged' if tm.converged else 'budget spent'}",
                            "info"))
        if r.note:
            lines.append(f"\n{r.label}: {r.note}")
    ctx.sections.append("\n".join(lines))


def truth(ctx: Ctx) -> None:
    log("== 4. truth: a memory-bound kernel against the roofline")
    m, n = (2048, 2048) if ctx.quick else (16384, 4096)
    problem = ctx.write_problem(f"relu_{m}x{n}", RELU, {RELU_LINE: f"M, N = {m}, {n}"})
    r = ctx.run_case(f"relu {m}x{n} fp32", problem, ctx.relu_solution(), ctx.cfg())
    nbytes = 2 * m * n * 4
    lines = ["## 4. Truth: memory-bound elementwise kernel against the roofline", "",
             f"`{rel(ctx.relu_solution())}` on relu over {m}x{n} float32 "
             f"({m * n * 4 / 2**20:.0f} MiB in + {m * n * 4 / 2**20:.0f} MiB out). Bandwidth = (in + out bytes) / "
             "candidate median. Speed of light = roofline floor / candidate median, the floor being "
             "bytes / the copy bandwidth the harness measured on this device (`peaks.json`).", ""]
    tm = r.t
    if tm is None:
        lines.append(f"Failed: {r.status()}")
        ctx.summary.append(("truth: relu bandwidth", "(report)", r.status()[:80], "MISSED"))
    else:
        bw = nbytes / (tm.cand_median_ms / 1e3)
        ref_bw = nbytes / (tm.ref_median_ms / 1e3)
        work = (r.verdict.details.get("work") or {}) if r.verdict else {}
        peak_bw = (work.get("peaks") or {}).get("bandwidth")
        sol = tm.speed_of_light
        plausible = sol is not None and 0.7 <= sol <= 1.05 and "beyond_roofline" not in r.verdict.flags
        lines += ["| | value |", "| --- | --- |",
                  f"| candidate median | {fmt_ms(tm.cand_median_ms)} (IQR {fmt_ms(tm.cand_iqr_ms)}, CI "
                  f"{fmt_ms(tm.cand_ci_ms[0])}-{fmt_ms(tm.cand_ci_ms[1])}, {tm.cand_calls} calls) |",
                  f"| reference (torch.relu) median | {fmt_ms(tm.ref_median_ms)} |",
                  f"| speedup | {tm.speedup:.4f} (CI {fmt_ci(tm.speedup_ci)}) |",
                  f"| candidate bandwidth | {bw / 1e9:.1f} GB/s |",
                  f"| reference bandwidth | {ref_bw / 1e9:.1f} GB/s |",
                  f"| measured copy peak | {peak_bw / 1e9:.1f} GB/s |" if peak_bw else "| measured copy peak | - |",
                  f"| bytes counted by the harness | {work.get('bytes', '-')} (expected {nbytes}) |",
                  f"| roofline floor | {fmt_ms(tm.floor_ms)} |",
                  f"| speed of light | {100 * sol:.1f}% |" if sol is not None else "| speed of light | - |",
                  f"| flags | {flags_of(r.verdict)} |", f"| timing stage | {tm.seconds:.1f} s |"]
        lines.append(f"\nSanity band (not a brief target): 70% <= speed of light <= 105% and no "
                     f"`beyond_roofline`: {mark(plausible)}.")
        ctx.summary.append(("truth: relu 256 MiB" if not ctx.quick else f"truth: relu {m}x{n}", "(report)",
                            f"cand {fmt_ms(tm.cand_median_ms)}, {bw / 1e9:.0f} GB/s, "
                            f"SOL {100 * sol:.1f}%" if sol is not None else f"cand {fmt_ms(tm.cand_median_ms)}",
                            "info" + ("" if plausible else " (outside sanity band)")))
    ctx.sections.append("\n".join(lines))


# ------------------------------------------------------------------------------------------------
def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--device", default="auto", help="auto | cpu | cuda | cuda:N (default auto)")
    ap.add_argument("--out", default=None, help="also write the markdown report here")
    ap.add_argument("--cache-dir", default=str(ROOT / ".harness-cache"), help="build and peaks cache")
    ap.add_argument("--quick", action="store_true", help="CPU smoke mode: small problems, short budgets")
    ap.add_argument("--trials", type=int, default=2, help="correctness trials per case (default 2; "
                    "they do not enter the timings)")
    ap.add_argument("--time-limit", type=float, default=510.0,
                    help="start no case that might end after this many seconds (default 510)")
    ap.add_argument("--no-background-build", action="store_true",
                    help="CUDA: do not compile the relu kernel while step 1 runs")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                    help="a config override for every case of the run (repeatable), e.g. timing.lead_us=200")
    ap.add_argument("--keep-tmp", action="store_true", help="keep the generated problems and solutions")
    args = ap.parse_args()

    dev = resolve(args.device)
    cache_dir = Path(args.cache_dir).resolve()
    cache_dir.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="kh-timing-"))
    ctx = Ctx(args, dev, cache_dir, tmp)
    import torch   # only for its version string; the runner never touches CUDA itself
    ctx.header = "\n".join([
        "# kernel-harness timing figures", "",
        "```", "python " + shlex.join(sys.argv), "```", "",
        f"- device: {dev.name} (`{dev.device}`){'' if ctx.cuda else ', host clock'}",
        f"- torch {dev.torch} (runner: {torch.__version__}), CUDA {dev.cuda or '-'}, "
        f"Python {platform.python_version()}, harness {__version__}",
        f"- date: {_dt.datetime.now(_dt.timezone.utc).isoformat(timespec='seconds')}",
        f"- mode: {'quick (small problems, short budgets)' if ctx.quick else 'full (default timing settings)'}; "
        f"check.trials={args.trials}; cache_dir `{cache_dir}`",
    ])
    if not ctx.cuda and not ctx.quick:
        ctx.notes.append("full-size problems on the CPU: this takes long; --quick is the CPU mode")
    log(f"device {dev.name} ({dev.device}); temp folder {tmp}")
    build = BackgroundBuild(ctx, ctx.relu_solution()) if ctx.cuda and not args.no_background_build else None
    try:
        noise = noise_floor(ctx)
        ctx.save()
        repeatability(ctx, build)
        ctx.save()
        cost(ctx, noise)
        ctx.save()
        truth(ctx)
    finally:
        if build is not None and build.proc.poll() is None:
            build.proc.kill()
        ctx.save(final=True)
        if not args.keep_tmp:
            shutil.rmtree(tmp, ignore_errors=True)
    print(ctx.report(final=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
