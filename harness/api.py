"""In-process API: `harness.evaluate(problem, solution, device=..., **overrides) -> Verdict`.

The same case as the CLI runs (the caller's process never imports the solution: workers do).
Problems and solutions given as text are written under the cache folder by content hash, so the
store's keys (which hash file contents) are the same as for the same text in a file.
"""
from __future__ import annotations

import hashlib
import re
import uuid
from pathlib import Path
from typing import Any, Optional, Union

from omegaconf import OmegaConf
from omegaconf.errors import OmegaConfBaseException

from .config import EvalCfg, config_hash
from .verdict import Verdict

TextOrPath = Union[str, Path]
_FENCE = re.compile(r"^(`{3,}|~{3,})", re.M)
_MODELNEW = re.compile(r"^\s*class\s+ModelNew\b", re.M)
_SUFFIXES = (".py", ".md", ".txt", ".markdown")


class OverrideError(ValueError):
    """An override that names no knob, or has the wrong type: the user's to fix, one line."""


def apply_overrides(cfg: Any, overrides: dict[str, Any]) -> Any:
    """Dotted keys (`"timing.enabled": False`) or nested dicts (`timing={"enabled": False}`)."""
    for key, value in overrides.items():
        try:
            OmegaConf.update(cfg, key, value, merge=True)
        except (OmegaConfBaseException, ValueError, TypeError) as e:
            first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            raise OverrideError(f"override {key}={value!r}: {first}") from None
    return cfg


def make_cfg(device: str = "auto", **overrides: Any) -> EvalCfg:
    cfg = OmegaConf.structured(EvalCfg(device=device))
    return apply_overrides(cfg, overrides)


def solution_suffix(text: str) -> str:
    """Plain Python defining ModelNew (no fences) is a .py file, so that a syntax error in it is
    a load error, as for a file; anything else is a reply to extract code from."""
    return ".py" if _MODELNEW.search(text) and not _FENCE.search(text) else ".md"


def stash(text: str, folder: Path, suffix: str) -> Path:
    """Write text once under its content hash; concurrent writers of the same text agree."""
    data = text.encode("utf-8")
    path = folder / f"{hashlib.sha256(data).hexdigest()}{suffix}"
    if not path.exists():
        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / f".{path.name}.{uuid.uuid4().hex[:6]}.tmp"
        tmp.write_bytes(data)
        tmp.replace(path)
    return path


def stash_problem(text: str, cache_dir: Path) -> Path:
    return stash(text, Path(cache_dir).resolve() / "inputs" / "problems", ".py")


def stash_solution(text: str, cache_dir: Path) -> Path:
    return stash(text, Path(cache_dir).resolve() / "inputs" / "solutions", solution_suffix(text))


def _as_file(value: TextOrPath, what: str) -> Optional[Path]:
    """A path to an existing file, or None for text. A one-line string naming a missing .py/.md
    file is a mistake, not a solution text."""
    if isinstance(value, Path):
        if not value.is_file():
            raise FileNotFoundError(f"{value}: no such {what} file")
        return value
    if "\n" in value or len(value) > 4096:
        return None
    p = Path(value)
    if p.is_file():
        return p
    if p.suffix in _SUFFIXES:
        raise FileNotFoundError(f"{value}: no such {what} file")
    return None


def evaluate(problem: TextOrPath, solution: TextOrPath, device: str = "auto",
             store: Optional[str] = None, **overrides: Any) -> Verdict:
    """Score one (problem, solution); problem: path or source; solution: path, source or raw
    reply. With `store`, an identical (problem, solution, config) is answered from it, and a new
    verdict is recorded there. Raises ProblemError for a broken problem, DeviceError for a
    device that is not there, OverrideError for a bad override."""
    from .case import evaluate as run_case
    from .solution import read_solution
    from .device import resolve
    from .problem import check_file, file_hash
    from .store import Store

    cfg = make_cfg(device, **overrides)
    dev = resolve(cfg.device)
    cache = Path(cfg.cache_dir)
    prob = _as_file(problem, "problem") or stash_problem(str(problem), cache)
    sol = _as_file(solution, "solution") or stash_solution(str(solution), cache)
    check_file(prob)
    if store:
        with Store(store) as s:
            known = s.lookup(file_hash(prob), read_solution(sol).hash, dev.hardware, config_hash(cfg))
        if known is not None:
            return known
    v = run_case(prob, sol, cfg, dev, store_path=store)
    if store:
        with Store(store) as s:
            s.record(v)
    return v
