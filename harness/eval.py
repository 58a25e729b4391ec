"""python -m harness.eval problem=... solution=... [device=cpu] [format=json]

With no problem/solution, evaluates a bundled example pair (CUDA when present, else CPU).
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import hydra
from omegaconf import OmegaConf

from .config import EvalCfg, register
from .report import fail, render_text

register()
ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PROBLEM = ROOT / "problems" / "level1" / "relu.py"
DEFAULT_SOLUTIONS = {"cpu": ROOT / "solutions" / "examples" / "relu_cpp.py",
                     "cuda": ROOT / "solutions" / "examples" / "relu_cuda.py"}


def run(cfg: EvalCfg) -> int:
    from . import isolate
    from .case import evaluate
    from .device import DeviceError, resolve
    from .problem import ProblemError, check_file
    from .store import Store

    try:
        dev = resolve(cfg.device)
        isolate.plan_for(cfg)
    except (DeviceError, isolate.SandboxUnavailable) as e:
        return fail(str(e))
    kind = "cpu" if dev.device == "cpu" else "cuda"
    problem = Path(cfg.problem) if cfg.problem else DEFAULT_PROBLEM
    solution = Path(cfg.solution) if cfg.solution else DEFAULT_SOLUTIONS[kind]
    if cfg.format not in ("text", "json"):
        return fail(f"format={cfg.format!r}: expected text or json")
    if not solution.exists():
        return fail(f"{solution}: no such solution file")
    try:
        check_file(problem)
        verdict = evaluate(problem, solution, cfg, dev, store_path=cfg.store)
    except ProblemError as e:
        return fail(str(e))
    if cfg.store:
        with Store(cfg.store) as store:
            store.record(verdict)
    if cfg.format == "json":
        print(json.dumps(verdict.to_dict(), sort_keys=True, default=str))
    else:
        print(render_text(verdict))
    return 0


@hydra.main(version_base=None, config_path="../conf", config_name="eval")
def main(cfg: EvalCfg) -> None:
    code = run(cfg)   # type: ignore[arg-type]
    if code:
        sys.exit(code)


if __name__ == "__main__":
    main()
