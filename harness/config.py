"""Every knob in one place, as Hydra structured configs: a type and a default for each.

The YAML files under conf/ only pick these schemas and set Hydra's own options.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any, Dict, Optional

from hydra.core.config_store import ConfigStore
from omegaconf import OmegaConf


@dataclass
class Tol:
    """Pass iff |out-ref| <= atol + rtol*|ref| everywhere AND ||out-ref||/||ref|| <= max_rel_norm.

    The elementwise test catches wrong indices; the norm test catches lowered precision, which
    an elementwise tolerance loose enough for honest reordering would let through.
    """
    atol: float = 1e-3
    rtol: float = 1e-3
    max_rel_norm: float = 1e-4


def _default_tolerances() -> Dict[str, Tol]:
    return {
        "float64": Tol(1e-7, 1e-7, 1e-10),
        "float32": Tol(1e-3, 1e-3, 1e-4),
        "float16": Tol(1e-2, 1e-2, 2e-3),
        "bfloat16": Tol(5e-2, 5e-2, 1.6e-2),
    }


@dataclass
class CheckCfg:
    trials: int = 5                  # correctness trials, each with fresh inputs from a fresh seed
    reuse_check: bool = True         # one more trial that refills old input storage with new values
    timed_checks: int = 2            # 0: off; else a timed call on fresh inputs is checked in the
                                     # first round and in the last (after the stopping rule fired)
    tolerances: Dict[str, Tol] = field(default_factory=_default_tolerances)
    weak_margin: float = 10.0        # a problem is weak if draws differ by < margin x tolerance
    unsynced_delay_s: float = 0.05   # look at the output again this long after forward returned
    roofline_slack: float = 0.8      # flag beyond_roofline below slack x floor (GPU)...
    roofline_slack_cpu: float = 0.4  # ...and on CPU, whose bandwidth reads low on a busy machine


@dataclass
class TimingCfg:
    enabled: bool = True
    warmup_calls: int = 3
    warmup_s: float = 0.05           # ...and at least this long
    round_calls: int = 5             # calls per side per round (sides alternate by round)
    min_calls: int = 10
    max_calls: int = 500
    rel_ci: float = 0.01             # stop when each median's 95% CI half-width <= rel_ci x median
    budget_s: float = 30.0           # per case, for the timing stage
    cache: str = "cold"              # cold (flush before each call) | rotate | warm
    rotate_sets: int = 4
    flush_bytes: int = 0             # 0: twice the device's L2 (GPU) or last-level cache (CPU)
    lead_us: float = 50.0            # GPU: spin this long before each timed call, so the host's
                                     # launch path (instrumented in the candidate) is not timed
    bootstrap: int = 2000
    launch_bound_factor: float = 3.0
    cuda_graph: bool = False         # time graph replays of forward (launch-bound problems)
    compile_baseline: bool = False   # also time torch.compile(reference)
    cached_baseline: bool = False    # reuse the store's reference timings for this problem,
                                     # hardware, torch and timing config (batch of many samples)
    compile_mode: str = "default"
    cpu_threads: int = 1             # device=cpu: threads per worker (both sides alike; 1 is steadiest)
    unsynced_gap_ms: float = 0.005   # timer vs synced wall time (less sync overhead): absolute gap
    unsynced_ratio: float = 0.5      # ...and the timer must see at least this share of it
    tamper_slack: float = 0.25       # runner's wall clock vs reported times: relative slack...
    tamper_jitter_ms: float = 5.0    # ...plus this much scheduling jitter per round


@dataclass
class LimitsCfg:
    build_s: float = 600.0
    load_s: float = 120.0            # import + construct ModelNew
    step_s: float = 120.0            # any one request to a worker (a trial, a timing round)
    max_message_mb: int = 4096       # largest reply accepted from a worker
    output_mb: int = 64              # a worker's stdout/stderr beyond this ends it


@dataclass
class BuildCfg:
    jobs: int = 1                    # ninja jobs per build (MAX_JOBS); with build_workers=0 a
                                     # batch runs (cores - 1) // jobs builds at once
    cuda_arch: str = ""              # TORCH_CUDA_ARCH_LIST; empty: the device's own
    cache_failures: bool = True      # a source that failed to compile fails again: reuse that
    pch: bool = True                 # precompiled torch/extension.h for C++ compiles (same object
                                     # code, about half the compile; harness/pch.py)


@dataclass
class EvalCfg:
    problem: Optional[str] = None
    solution: Optional[str] = None
    device: str = "auto"             # auto | cpu | cuda | cuda:N
    format: str = "text"             # text | json
    seed: Optional[int] = None       # only to reproduce a recorded verdict; fresh seeds otherwise
    cache_dir: str = ".harness-cache"
    store: Optional[str] = None      # SQLite file to record the verdict in (optional here)
    build: BuildCfg = field(default_factory=BuildCfg)
    check: CheckCfg = field(default_factory=CheckCfg)
    timing: TimingCfg = field(default_factory=TimingCfg)
    limits: LimitsCfg = field(default_factory=LimitsCfg)


@dataclass
class BoardCfg:
    store: str = "results.db"
    format: str = "terminal"         # terminal | github | latex | html | csv
    out: Optional[str] = None        # write the table here instead of stdout
    html: Optional[str] = None       # also write a static page with tables and plots
    p_values: list = field(default_factory=lambda: [0.0, 1.0, 1.5, 2.0])
    bootstrap: int = 2000
    hardware: Optional[str] = None   # only rows measured on this hardware
    label: Optional[str] = None      # only this run label


@dataclass
class BatchCfg(EvalCfg):
    """A batch: every eval knob, plus what to score, where, and how wide."""
    solutions: str = "solutions"
    problems: str = "problems"
    layout: str = "pairs"            # auto | kernelbench | stem | pairs
    pairs: Optional[str] = "solutions/expected.json"
    select: str = "solutions/examples/*"   # glob over solution paths (pairs layout)
    label: Optional[str] = None      # run label on the board; default: the solutions folder
    store: Optional[str] = "results.db"
    build_workers: int = 0           # 0: (cores - 1) // build.jobs (at least 1): no oversubscription
    gpus: str = "all"                # all | 0,1,... (device=cuda); one evaluation worker each
    eval_workers: int = 1            # device=cpu: evaluations at once
    prestart: str = "auto"           # start the next case's workers while a case runs (they
                                     # import torch for seconds): auto (GPU only) | always | never
    force: bool = False              # score again what the store already has
    shard: int = 0
    num_shards: int = 1
    progress: bool = True
    board: bool = True               # print the leaderboard at the end


@dataclass
class LintCfg:
    problems: str = "problems"
    device: str = "auto"
    format: str = "terminal"         # terminal | github | csv
    out: Optional[str] = None
    cache_dir: str = ".harness-cache"
    seeds: int = 3                   # draws compared for variation and constancy
    timed_calls: int = 20
    cache: str = "cold"
    lead_us: float = 50.0            # as timing.lead_us: reference times comparable to a case's
    launch_bound_factor: float = 3.0
    weak_margin: float = 10.0
    tolerances: Dict[str, Tol] = field(default_factory=_default_tolerances)
    limits: LimitsCfg = field(default_factory=LimitsCfg)


# Keys that change what a verdict says; paths, formats and worker counts do not.
VERDICT_KEYS = ("device", "check", "timing", "limits")


def config_hash(cfg: Any) -> str:
    c = OmegaConf.to_container(cfg, resolve=True) if OmegaConf.is_config(cfg) else cfg
    if not isinstance(c, dict):
        import dataclasses
        c = dataclasses.asdict(c)
    payload = {k: c.get(k) for k in VERDICT_KEYS}
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()[:16]


def register() -> None:
    cs = ConfigStore.instance()
    cs.store(name="eval_schema", node=EvalCfg)
    cs.store(name="board_schema", node=BoardCfg)
    cs.store(name="batch_schema", node=BatchCfg)
    cs.store(name="lint_schema", node=LintCfg)
