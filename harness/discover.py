"""Pair solution files with problem files, by a naming rule; list what matches nothing.

Layouts:
- `kernelbench`: `level_<L>_problem_<P>_sample_<S>_kernel.<ext>` (KernelBench run folders). P is
  the number before `_` in the problem's file name (`19_ReLU.py`), or else its 1-based position
  among the level's files sorted by name.
- `stem`: `<problem-stem>__<anything>.<ext>`; the stem must name one problem in the set.
- `pairs`: a JSON list of {"solution", "problem", "label"?, "sample"?, "device"?} entries.
- `auto`: kernelbench for names that look like it, else stem.
"""
from __future__ import annotations

import fnmatch
import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from .config import Layout
from .errors import UserError
from .problem import problem_id, problem_level
from .store import CaseKey

SOLUTION_SUFFIXES = (".py", ".md", ".txt", ".markdown")
_KB = re.compile(r"^level_?(\d+)_problem_?(\d+)_sample_?(\d+)(?:_kernel)?$", re.I)


class DiscoveryError(UserError):
    """A user mistake in what to discover (a path that is not there, a bad pairs file)."""


@dataclass(frozen=True)
class Job:
    case: CaseKey
    problem: Path
    solution: Path


def _problem_files(root: Path) -> list[Path]:
    if root.is_file():
        return [root]
    if not root.is_dir():
        raise DiscoveryError(f"problems={root}: no such file or folder")
    return sorted(p for p in root.rglob("*.py") if not p.name.startswith("_")
                  and "manifest" not in p.name)


def _kb_index(problems: list[Path]) -> dict[tuple[int, int], Path]:
    by_level: dict[int, list[Path]] = {}
    for p in problems:
        lv = problem_level(p)
        if lv is not None:
            by_level.setdefault(lv, []).append(p)
    index = {}
    for lv, files in by_level.items():
        for i, p in enumerate(sorted(files, key=lambda f: f.name), 1):
            m = re.match(r"^(\d+)_", p.name)
            index[(lv, int(m.group(1)) if m else i)] = p
    return index


def shard_of(case: CaseKey, num_shards: int) -> int:
    """A stable shard for a case: the same on every machine and every run."""
    key = f"{case.label}\0{case.problem_id}\0{case.sample}".encode()
    return int.from_bytes(hashlib.sha256(key).digest()[:8], "big") % num_shards


def discover(solutions: Path, problems: Path, layout: Layout, label: Optional[str] = None,
             pairs: Optional[Path] = None, select: str = "*",
             device_kind: Optional[str] = None) -> tuple[list[Job], list[str]]:
    """Jobs found, and one line per solution file that matched no problem."""
    if layout is Layout.pairs or pairs:
        return _from_pairs(Path(pairs or solutions), select, device_kind, label)
    if not solutions.exists():
        raise DiscoveryError(f"solutions={solutions}: no such file or folder")
    files = [solutions] if solutions.is_file() else sorted(
        p for p in solutions.rglob("*") if p.suffix in SOLUTION_SUFFIXES or p.is_dir() and
        p.suffix in SOLUTION_SUFFIXES)
    files = [f for f in files if fnmatch.fnmatch(str(f), select)]
    probs = _problem_files(problems)
    kb = _kb_index(probs)
    by_stem: dict[str, list[Path]] = {}
    for p in probs:
        by_stem.setdefault(p.stem, []).append(p)
    run_label = label or (solutions.name if solutions.is_dir() else solutions.parent.name)
    jobs, unmatched = [], []
    for f in files:
        stem = f.stem if f.is_file() else f.name.rsplit(".", 1)[0]
        m = _KB.match(stem)
        if m and layout in (Layout.auto, Layout.kernelbench):
            lv, pnum, sample = (int(g) for g in m.groups())
            prob = kb.get((lv, pnum))
            if prob is None:
                unmatched.append(f"{f}: no problem {pnum} in level {lv} under {problems}")
                continue
            jobs.append(Job(CaseKey(run_label, problem_id(prob), str(sample), lv), prob, f))
            continue
        if layout is Layout.kernelbench:
            unmatched.append(f"{f}: name is not level_<L>_problem_<P>_sample_<S>")
            continue
        pstem, sep, rest = stem.partition("__")
        found = by_stem.get(pstem, []) if sep else []
        if len(found) != 1:
            why = "name is not <problem-stem>__<anything>" if not sep else \
                f"no problem named {pstem}" if not found else f"{len(found)} problems named {pstem}"
            unmatched.append(f"{f}: {why}")
            continue
        prob = found[0]
        jobs.append(Job(CaseKey(run_label, problem_id(prob), rest or "0", problem_level(prob)), prob, f))
    return jobs, unmatched


def _from_pairs(path: Path, select: str, device_kind: Optional[str],
                label: Optional[str]) -> tuple[list[Job], list[str]]:
    try:
        entries = json.loads(path.read_text())
        assert isinstance(entries, list)
    except (OSError, ValueError, AssertionError) as err:
        raise DiscoveryError(f"pairs={path}: not a JSON list of pairs ({err})") from None
    base = path.parent
    jobs, unmatched, seen = [], [], set()
    for i, e in enumerate(entries):
        if not isinstance(e, dict) or "solution" not in e or "problem" not in e:
            unmatched.append(f"{path} entry {i}: needs 'solution' and 'problem'")
            continue
        if device_kind and e.get("device", device_kind) != device_kind:
            continue
        sol, prob = _resolve(base, e["solution"]), _resolve(base, e["problem"])
        if not fnmatch.fnmatch(e["solution"], select) and not fnmatch.fnmatch(str(sol), select):
            continue
        if not prob.is_file():
            unmatched.append(f"{sol}: problem {prob} does not exist")
            continue
        case = CaseKey(e.get("label") or label or sol.parent.name, problem_id(prob),
                    str(e.get("sample", sol.stem)), problem_level(prob))
        if case not in seen:
            seen.add(case)
            jobs.append(Job(case, prob, sol))
    return jobs, unmatched


def _resolve(base: Path, p: str) -> Path:
    """Paths in a pairs file are relative to the repository root or to the file itself."""
    q = Path(p)
    if q.is_absolute() or q.exists():
        return q
    for parent in [base, *base.parents]:
        if (parent / q).exists():
            return parent / q
    return q
