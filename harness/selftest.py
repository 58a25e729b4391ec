"""What the harness must answer for its own example and adversarial solutions.

`solutions/expected.json` lists, per (solution, device), the outcome ("ok", or alternatives
"ok|incorrect") and the flags that must be raised; unless `flags_any` is true no other flag may
be. `caveats` lists caveats that must be present (others may be: whether a CI contains 1 is
the machine's noise, not the solution's doing). `sandbox: true` marks a native escape, a real
attack on a machine without the OS sandbox (tests/test_sandbox.py runs those). The CPU tests and the GPU integrity table both judge verdicts with `check`.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .verdict import Verdict


@dataclass(frozen=True)
class Expected:
    solution: str
    problem: str
    device: str
    outcomes: tuple[str, ...]
    flags: tuple[str, ...]
    flags_any: bool
    note: str
    caveats: tuple[str, ...] = ()
    sandbox: bool = False   # a native escape: judged only with the OS sandbox in force

    @property
    def id(self) -> str:
        return f"{Path(self.solution).parent.name}/{Path(self.solution).name}@{self.device}"


def load(path: str | Path, device: str | None = None) -> list[Expected]:
    out = []
    for e in json.loads(Path(path).read_text()):
        if device and e["device"] != device:
            continue
        out.append(Expected(e["solution"], e["problem"], e["device"], tuple(e["outcome"].split("|")),
                            tuple(e.get("flags", [])), bool(e.get("flags_any", False)),
                            e.get("note", ""), tuple(e.get("caveats", [])), bool(e.get("sandbox", False))))
    return out


def check(v: Verdict, e: Expected) -> tuple[bool, str]:
    """(as expected?, what differs)."""
    problems = []
    if v.outcome.value not in e.outcomes:
        problems.append(f"outcome {v.outcome.value}, expected {'|'.join(e.outcomes)}")
    missing = [f for f in e.flags if f not in v.flags]
    extra = [f for f in v.flags if f not in e.flags]
    if missing:
        problems.append(f"missing flags {', '.join(missing)}")
    if extra and not e.flags_any:
        problems.append(f"unexpected flags {', '.join(extra)}")
    lacking = [c for c in e.caveats if c not in v.caveats]
    if lacking:
        problems.append(f"missing caveats {', '.join(lacking)}")
    return not problems, "; ".join(problems)


def describe(v: Verdict) -> dict[str, Any]:
    return {"outcome": v.outcome.value, "flags": ",".join(v.flags) or "-",
            "caveats": ",".join(v.caveats) or "-",
            "speedup": f"{v.speedup:.2f}" if v.speedup else "-",
            "message": (v.message.splitlines() or [""])[0][:100]}
