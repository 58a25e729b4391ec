"""python -m harness.eval problem=... solution=... [device=cpu] [format=json]

With no problem/solution, evaluates a bundled example pair (CUDA when present, else CPU).
"""
from __future__ import annotations

import json
from pathlib import Path

import hydra

from .config import EvalCfg, EvalFormat, register
from .errors import UserError, entry
from .report import render_text

register()
ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PROBLEM = ROOT / "problems" / "level1" / "relu.py"
DEFAULT_SOLUTIONS = {"cpu": ROOT / "solutions" / "examples" / "relu_cpp.py",
                     "cuda": ROOT / "solutions" / "examples" / "relu_cuda.py"}


def run(cfg: EvalCfg) -> int:
    """Evaluate one pair and print its verdict; a user mistake raises UserError."""
    from . import isolate
    from .case import evaluate
    from .device import resolve
    from .problem import check_file
    from .store import Store

    dev = resolve(cfg.device)
    isolate.plan_for(cfg)
    kind = "cpu" if dev.device == "cpu" else "cuda"
    problem = Path(cfg.problem) if cfg.problem else DEFAULT_PROBLEM
    solution = Path(cfg.solution) if cfg.solution else DEFAULT_SOLUTIONS[kind]
    if not solution.exists():
        raise UserError(f"{solution}: no such solution file")
    check_file(problem)
    verdict = evaluate(problem, solution, cfg, dev, store_path=cfg.store)
    if cfg.store:
        with Store(cfg.store) as store:
            store.record(verdict)
    if cfg.format is EvalFormat.json:
        print(json.dumps(verdict.to_dict(), sort_keys=True, default=str))
    else:
        print(render_text(verdict))
    return 0


@hydra.main(version_base=None, config_path="../conf", config_name="eval")
@entry
def main(cfg: EvalCfg) -> int:
    return run(cfg)


if __name__ == "__main__":
    entry(main)()
