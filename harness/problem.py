"""Load a problem file (KernelBench format) into a fresh namespace.

Only trusted processes call this on problem files; the parent uses `check_file` alone, which
reads but never runs the file.
"""
from __future__ import annotations

import ast
import hashlib
import importlib.util
import sys
import types
import uuid
from pathlib import Path

from .errors import UserError

REQUIRED = ("Model", "get_inputs", "get_init_inputs")


class ProblemError(UserError):
    """A problem file that cannot serve as a reference; the message names the file."""


def file_hash(path: str | Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def problem_id(path: str | Path) -> str:
    """'level1/relu' for problems/level1/relu.py; the stem elsewhere."""
    p = Path(path)
    return f"{p.parent.name}/{p.stem}" if p.parent.name.startswith("level") else p.stem


def problem_level(path: str | Path) -> int | None:
    name = Path(path).parent.name
    digits = "".join(ch for ch in name if ch.isdigit())
    return int(digits) if name.startswith("level") and digits else None


def check_file(path: str | Path) -> None:
    """Static check the parent can afford: readable, parses, defines the three names."""
    p = Path(path)
    if not p.is_file():
        raise ProblemError(f"{path}: no such problem file")
    try:
        tree = ast.parse(p.read_text(encoding="utf-8"), filename=str(p))
    except (SyntaxError, UnicodeDecodeError, ValueError) as e:
        raise ProblemError(f"{path}: cannot parse problem file: {e}") from None
    defined = {n.name for n in tree.body if isinstance(n, (ast.ClassDef, ast.FunctionDef))}
    defined |= {t.id for n in tree.body if isinstance(n, ast.Assign) for t in n.targets
                if isinstance(t, ast.Name)}
    defined |= {a.asname or a.name for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))
                for a in n.names}
    missing = [name for name in REQUIRED if name not in defined]
    if missing:
        raise ProblemError(f"{path}: problem file does not define {', '.join(missing)}")


def load_module(path: str | Path, kind: str = "problem") -> types.ModuleType:
    """Import a file under a unique module name, so two files never share a namespace."""
    p = Path(path).resolve()
    name = f"kh_{kind}_{uuid.uuid4().hex[:8]}"
    spec = importlib.util.spec_from_file_location(name, p)
    if spec is None or spec.loader is None:
        raise ProblemError(f"{path}: cannot import")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod   # dataclasses and pickling look modules up here
    spec.loader.exec_module(mod)
    return mod


def load_problem(path: str | Path) -> types.ModuleType:
    check_file(path)
    try:
        mod = load_module(path, "problem")
    except ProblemError:
        raise
    except BaseException as e:  # a problem's import error is the user's to fix: one line
        raise ProblemError(f"{path}: problem import failed: {type(e).__name__}: {e}") from None
    missing = [n for n in REQUIRED if not hasattr(mod, n)]
    if missing:
        raise ProblemError(f"{path}: problem file does not define {', '.join(missing)}")
    return mod
