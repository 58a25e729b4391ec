"""A solution, before any worker runs it: read from disk (never trusting it is text), its code
extracted from a raw reply, the kernels it defines, and its build."""
from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from . import isolate
from .build import Build, build, ext_dir_for
from .config import EvalCfg
from .extract import code_hash, extract

MAX_SOLUTION_BYTES = 4 << 20
_KERNEL_DEF = re.compile(r"__global__\s+(?:__launch_bounds__\s*\([^)]*\)\s*)?(?:static\s+)?"
                         r"(?:[\w:<>,\s\*]+?\s+)?(\w+)\s*(?:<[^>]*>)?\s*\(")
_TRITON_DEF = re.compile(r"@triton\.(?:jit|autotune)[^\n]*\n(?:\s*@[^\n]*\n)*\s*def\s+(\w+)")


@dataclass
class Source:
    """A solution as read from disk: the code to build, or why there is none."""
    code: Optional[str]
    block: Optional[int]
    reason: str
    hash: str
    unreadable: bool = False   # load_error (not even text), as opposed to no_code (no ModelNew)


def read_solution(path: Path) -> Source:
    """Never raises for a bad solution file: that is the solution's outcome, not the runner's."""
    def bad(reason: str) -> Source:
        return Source(None, None, reason, code_hash(f"unreadable:{path}:{reason}"), True)

    if path.is_dir():
        return bad(f"{path} is a directory, not a solution file")
    try:
        size = path.stat().st_size
        if size > MAX_SOLUTION_BYTES:
            return bad(f"{path} is {size / 2**20:.0f} MiB, over the {MAX_SOLUTION_BYTES >> 20} MiB limit")
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as e:
        return bad(f"{path} is not UTF-8 text ({e.reason} at byte {e.start})")
    except OSError as e:
        return bad(f"cannot read {path}: {e.strerror}")
    ex = extract(text, is_python_file=path.suffix == ".py")
    return Source(ex.code, ex.block, ex.reason, code_hash(ex.code) if ex.code else code_hash(text))


def kernel_names(code: str) -> set[str]:
    """__global__ functions and Triton kernels the solution defines itself."""
    return set(_KERNEL_DEF.findall(code)) | set(_TRITON_DEF.findall(code))


def compiles_on_first_call(code: str) -> bool:
    """A JIT (Triton) compiles its kernels at their first launch, not at import."""
    return bool(_TRITON_DEF.search(code))


Prepared = tuple[Source, Optional[Path], Optional[Build]]


def prepare(solution: Path, cfg: EvalCfg, device: str) -> Prepared:
    """Read, extract and build a solution: everything before a worker runs it (no GPU needed)."""
    src = read_solution(solution)
    if src.code is None:
        return src, None, None
    cache_dir = Path(cfg.cache_dir).resolve()
    jail = isolate.jail_for(cfg, "build", device != "cpu")
    ext_dir = ext_dir_for(cache_dir, src.hash, device, jail is not None)
    ext_dir.mkdir(parents=True, exist_ok=True)
    code_file = ext_dir / "solution.py"
    if not code_file.exists():
        tmp = ext_dir / f"solution.{uuid.uuid4().hex[:6]}.tmp"
        tmp.write_text(src.code, encoding="utf-8")
        tmp.replace(code_file)
    b = build(code_file, src.hash, cache_dir, device, timeout=cfg.limits.build_s,
              jobs=cfg.build.jobs, cuda_arch=cfg.build.cuda_arch,
              cache_failures=cfg.build.cache_failures, jail=jail, pch_sets=cfg.build.pch,
              output_mb=cfg.limits.trusted_output_mb, nice=cfg.build.nice)
    return src, code_file, b
