"""A worker process: `python -m harness.worker ROLE RFD WFD`.

Roles: `build` imports a solution once so that its extensions compile; `reference` runs the
problem's Model (trusted); `candidate` runs the solution's ModelNew (untrusted). Reference and
candidate answer the same requests, so the runner treats them alike and timing takes turns.
The harness's own references (timers, sync, seeds) are taken at import, before solution code.
"""
from __future__ import annotations

import itertools
import os
import random
import socket
import sys
import threading
import time
import traceback
from pathlib import Path
from typing import Any, Callable, Optional

from . import isolate

isolate.enter()   # in a sandbox: become its unprivileged uid before anything else runs

import torch  # noqa: E402

if sys.argv[1:2] != ["build"]:   # a builder checks nothing for tampering: 2 s less per build
    import torch._dynamo  # noqa: F401  (wraps torch.manual_seed on import: before the snapshot, not after)
    import torch.profiler  # noqa: F401

from . import channel, pch, protocol as P, sandbox, timing, triton_support  # noqa: E402
from .compare import all_finite, compare, identity_passes, weak_problem  # noqa: E402
from .problem import load_module, load_problem  # noqa: E402
from .tolerance import from_table  # noqa: E402

_seed_torch = torch.manual_seed
_seed_python = random.seed
_sleep = time.sleep
_clone = torch.Tensor.clone
_equal = torch.equal


def _seed_all(seed: int) -> None:
    _seed_torch(seed)
    _seed_python(seed)
    try:
        import numpy
        numpy.random.seed(seed % 2**32)
    except ImportError:
        pass


def _map(x: Any, fn: Callable[[torch.Tensor], Any]) -> Any:
    if isinstance(x, torch.Tensor):
        return fn(x)
    if isinstance(x, (list, tuple)):
        return type(x)(_map(v, fn) for v in x) if type(x) in (list, tuple) else [_map(v, fn) for v in x]
    return x


def _tensors(x: Any) -> list[torch.Tensor]:
    out: list[torch.Tensor] = []
    _map(x, out.append)
    return out


def _plain(t: torch.Tensor) -> torch.Tensor:
    return t if type(t) is torch.Tensor else t.as_subclass(torch.Tensor)


def _same(a: Any, b: Any) -> bool:
    """Bitwise equality of two structures (NaN equals NaN)."""
    ta, tb = _tensors(a), _tensors(b)
    if len(ta) != len(tb):
        return False
    for x, y in zip(ta, tb):
        x, y = _plain(x), _plain(y)
        if x.shape != y.shape or x.dtype != y.dtype:
            return False
        if _equal(x, y):
            continue
        if not x.is_floating_point():
            return False
        nx, ny = torch.isnan(x), torch.isnan(y)
        if not _equal(nx, ny) or not _equal(x.masked_fill(nx, 0), y.masked_fill(ny, 0)):
            return False
    return True


class _Slot(int):
    """Where a gathered tensor goes back into its structure."""


def _gather(x: Any, tensors: list[torch.Tensor]) -> Any:
    """x's structure with each plain tensor moved into `tensors` (a slot in its place), lists
    and scalars as they are: what is kept or crosses the channel can hide no behaviour."""
    if isinstance(x, torch.Tensor):
        t = _plain(x).detach()
        if t.layout != torch.strided or t.is_quantized:
            return _clone(t)
        tensors.append(t)
        return _Slot(len(tensors) - 1)
    if isinstance(x, (list, tuple)):
        return [_gather(v, tensors) for v in x]
    if x is None or isinstance(x, (bool, int, float, str)):
        return x
    return f"<unsupported output of type {type(x).__name__}>"


def _fill(x: Any, tensors: list[Any]) -> Any:
    if isinstance(x, _Slot):
        return tensors[x]
    if isinstance(x, list):
        return [_fill(v, tensors) for v in x]
    return x


def _frozen(x: Any, owned: bool = False) -> Any:
    """Copied now (a graph replay or a later call may reuse the memory), on the device;
    `owned`: x's tensors are already copies no one else holds."""
    tensors: list[torch.Tensor] = []
    skeleton = _gather(x, tensors)
    return _fill(skeleton, tensors if owned else [_clone(t) for t in tensors])


def _shared(x: Any) -> Any:
    """Copied now, off the device, into sealed memfds (channel.share): the device's memory is
    free again for the next trial, and what the reference maps can no longer change."""
    tensors: list[torch.Tensor] = []
    skeleton = _gather(x, tensors)
    return _fill(skeleton, channel.share(tensors))


def _nonfinite(x: Any) -> bool:
    return any(t.is_floating_point() and t.numel() and not all_finite(t) for t in _tensors(x))


def _storages(x: Any) -> set[int]:
    ptrs = set()
    for t in _tensors(x):
        try:
            if t.numel():
                ptrs.add(_plain(t).untyped_storage().data_ptr())
        except Exception:
            pass
    return ptrs


def _checksum(inputs: list[Any]) -> list[int]:
    """Each input's bytes summed as 64-bit words, wrapping: exact and independent of the
    reduction's order, so two workers agree bit for bit whatever their thread counts (a float
    sum differs in its last bits between orders), and no cast: 15x cheaper than a float64 sum
    on a CPU (a non-contiguous or conjugate view is copied first)."""
    out = []
    for t in _tensors(inputs):
        plain = _plain(t).detach().resolve_conj().resolve_neg()
        raw = plain.reshape(-1).contiguous().view(torch.uint8)
        whole = raw.numel() // 8 * 8
        try:
            words = raw[:whole].view(torch.int64)
        except RuntimeError:   # a view whose bytes start off an 8-byte boundary
            words = raw[:whole].clone().view(torch.int64)
        out.append(int(words.sum()) + int(raw[whole:].sum()) if raw.numel() else 0)
    return out


class WorkerState:
    """State of one reference or candidate worker across requests."""

    def __init__(self, role: str, guard: sandbox.Guard):
        self.role = role
        self.guard = guard
        self.model: Optional[torch.nn.Module] = None
        self.problem: Any = None
        self.device = torch.device("cpu")
        self.sets: list[list[Any]] = []
        self.poisons: list[timing.Poison] = []   # one per set: hidden during each timed call's lead
        self.clock: Optional[timing.Clock] = None
        self.calls: dict[tuple, Callable[[], Any]] = {}
        self.compiled: Optional[Callable] = None
        self.last_inputs: Optional[list[Any]] = None
        self.solution = ""
        self.launches = triton_support.Launches()
        self.kept: dict[int, Any] = {}   # reference: outputs by key, until compared
        self.remake: dict[int, int] = {}   # reference: a kept output's seed, where an input of
                                           # that trial has its shape and dtype (identity test)
        self._keys = itertools.count(1)
        self.pending: list[Any] = []     # candidate: the last round's check outputs

    def _out(self, out: Any, owned: bool = False) -> Any:
        """What a call's output becomes in a reply: the reference keeps it on its device and
        answers with a key; the candidate's leaves its device at once, shared."""
        if self.role != "reference":
            return _shared(out)
        key = next(self._keys)
        self.kept[key] = _frozen(out, owned)
        return key

    # -- requests ----------------------------------------------------------------------------
    def load(self, msg: P.Load) -> P.Message:
        self.device = torch.device(msg.device)
        # fp32 problems are judged in fp32: TF32 on would put the reference itself ~5e-4 off.
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
        torch.set_float32_matmul_precision("highest")
        if self.device.type == "cuda":
            torch.cuda.set_device(self.device)
        elif os.environ.get("OMP_NUM_THREADS", "").isdigit():
            torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))
        self.problem = load_problem(msg.problem)
        if self.role == "candidate":
            # Set here, not at spawn: a worker may be started before its case is known.
            os.environ["TORCH_EXTENSIONS_DIR"] = msg.ext_dir
            os.environ["TRITON_CACHE_DIR"] = str(triton_support.cache_dir(msg.ext_dir))
            self.solution = msg.solution
            self.guard.count_extension_calls()
            self.launches.install(msg.solution)
            self.guard.arm(msg.write_roots, msg.forbidden, msg.allowed_reads, msg.solution, msg.problem)
            try:
                mod = load_module(msg.solution, "solution")
            except BaseException as e:
                return _import_error(e, msg.solution)
            cls = getattr(mod, "ModelNew", None)
            if not isinstance(cls, type):
                return P.Error(f"{msg.solution}: defines no class ModelNew", "load")
        else:
            cls = self.problem.Model
        _seed_all(msg.init_seed)
        init_inputs = self.problem.get_init_inputs()
        try:
            self.model = cls(*init_inputs).to(self.device)
        except BaseException as e:
            return P.Error(f"constructing {cls.__name__}: {_exc_line(e)}", "runtime", _trace(e))
        return P.Loaded(tuple(self.guard.extensions), torch.cuda.get_device_name(self.device)
                        if self.device.type == "cuda" else "")

    def warm(self, msg: P.Warm) -> P.Message:
        """One untracked call, under its own limit: Triton compiles and autotunes here; lazy
        thread pools, CUDA handles and (for the candidate on a GPU) the profiler's own threads
        start here, not inside a trial that counts threads or a call that is timed."""
        assert self.model is not None
        try:
            with torch.no_grad():
                if self.role == "candidate" and self.device.type == "cuda":
                    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CUDA]):
                        self.model(*self._inputs(msg.seed))
                else:
                    self.model(*self._inputs(msg.seed))
            timing.Clock(self.device, "warm").sync()
        except Exception as e:
            why = triton_support.compile_error(e, self.solution)
            if why is None:
                raise
            return P.Error(why, "compile")
        return P.Done()

    def run(self, msg: P.Run) -> P.Trials:
        last = len(msg.seeds) - 1
        return P.Trials(tuple(self._trial(seed, msg.reuse and i == last, msg.profile and i == 0,
                                          msg.delay_s) for i, seed in enumerate(msg.seeds)))

    def ordered(self, msg: P.Ordered) -> P.Output:
        """CUDA: inputs become ready on the caller's stream only after a ~1 ms sleep there. A
        forward that respects stream order reads them after; one that runs on a stream of its
        own without waiting reads them early (they hold NaN until then)."""
        assert self.model is not None
        real = self._inputs(msg.seed)
        held = [torch.full_like(t, float("nan")) if isinstance(t, torch.Tensor) and t.is_floating_point()
                else t.clone() if isinstance(t, torch.Tensor) else t for t in real]
        sync = timing.Clock(self.device, "warm").sync
        sync()
        if self.device.type == "cuda":
            torch.cuda._sleep(msg.cycles)
        for h, r in zip(held, real):
            if isinstance(h, torch.Tensor):
                h.copy_(r)
        with torch.no_grad():
            out = self.model(*held)
        sync()
        return P.Output(self._out(out))

    def time(self, msg: P.Time) -> P.Timed:
        if self.clock is None:
            self.clock = timing.Clock(self.device, msg.cache, msg.flush_bytes, msg.lead_us)
            nsets = msg.rotate_sets if msg.cache == "rotate" else 1
            self.sets = [self._inputs(s) for s in msg.set_seeds[:nsets]]
            self.poisons = [timing.Poison(_tensors(s), msg.poison) for s in self.sets]
        clock, poisons = self.clock, self.poisons
        n = msg.n
        check_at = dict(zip(random.Random(msg.check_seeds[0] if msg.check_seeds else 0)
                            .sample(range(n), min(len(msg.check_seeds), n)), msg.check_seeds))
        dev_ms, wall_ms, checks = [], [], []
        threads0 = sandbox.thread_count()
        with torch.no_grad():
            calls = [self._callable(msg.variant, msg.graph, i, msg.compile_mode)
                     for i in range(len(self.sets))]
            if msg.warmup:
                t_end = time.monotonic() + msg.warmup_s
                for i in range(msg.warmup_calls):
                    clock.time_call(calls[i % len(calls)], poisons[i % len(calls)])
                while time.monotonic() < t_end:
                    clock.time_call(calls[0], poisons[0])
            for i in range(n):
                if i in check_at:   # new values into the same storage: caches keyed on it go stale
                    self._refill(self.sets[i % len(self.sets)], check_at[i])
                d, w, out = clock.time_call(calls[i % len(calls)], poisons[i % len(calls)])
                dev_ms.append(d)
                wall_ms.append(w)
                if i in check_at:   # a candidate's are shared later, outside the round (P.Timed)
                    checks.append(self._out(out) if self.role == "reference" else _frozen(out))
                del out
        grew = sandbox.thread_count() > threads0
        if self.role != "reference":   # fetched by a Checks request of their own (see P.Timed)
            self.pending = checks
            return P.Timed(tuple(dev_ms), tuple(wall_ms), grew, pending=len(checks))
        return P.Timed(tuple(dev_ms), tuple(wall_ms), grew, tuple(checks))

    def checks(self, msg: P.Checks) -> P.CheckOutputs:
        out, self.pending = self.pending, []
        return P.CheckOutputs(tuple(_shared(c) for c in out))

    def _callable(self, variant: str, graph: bool, index: int, mode: str) -> Callable[[], Any]:
        """forward on input set `index`: eager, torch.compile'd (reference), or a CUDA graph replay."""
        key = (variant, graph, index)
        if key in self.calls:
            return self.calls[key]
        model = self.model
        assert model is not None
        if variant == "compiled":
            if self.compiled is None:
                self.compiled = torch.compile(model, mode=None if mode == "default" else mode)
            model = self.compiled  # type: ignore[assignment]
        inputs = self.sets[index]
        fn: Callable[[], Any] = lambda: model(*inputs)
        if graph and self.device.type == "cuda":
            side = torch.cuda.Stream()
            side.wait_stream(torch.cuda.current_stream())
            with torch.cuda.stream(side):
                for _ in range(3):
                    fn()
            torch.cuda.current_stream().wait_stream(side)
            g = torch.cuda.CUDAGraph()
            with torch.cuda.graph(g):
                static_out = fn()
            fn = lambda: (g.replay(), static_out)[1]  # type: ignore[func-returns-value]
        self.calls[key] = fn
        return fn

    def probe(self, msg: P.Probe) -> P.Probed:
        """Reference only: work counts for the roofline and the empty-forward overhead."""
        from . import roofline
        assert self.model is not None
        inputs = self._inputs(msg.seed)
        work = roofline.count_work(self.model, inputs, msg.probes, msg.seed)
        clock = timing.Clock(self.device, msg.cache, msg.flush_bytes)
        one = torch.zeros(1, device=self.device)
        empty = _Empty()
        with torch.no_grad():   # the floor: a module call that launches one one-element kernel
            times = [clock.time_call(lambda: empty(one))[0] for _ in range(30)]
        if self.device.type == "cuda":
            peak = int(torch.cuda.max_memory_allocated(self.device))
        else:
            import resource
            peak = int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024
        return P.Probed(work, timing.median(times[5:]), peak,
                        roofline.measure_peaks(self.device) if msg.peaks else None)

    def compare(self, msg: P.Compare) -> P.Matches:
        """Reference only: each pair's kept output against a candidate's output (or another
        kept one); the compared keys are dropped unless `keep`."""
        tols = from_table(msg.tolerances)
        matches = []
        for pair in msg.pairs:
            other = self.kept[pair.other] if pair.other is not None else pair.out
            matches.append(compare(self.kept[pair.ref], other, tols).to_dict())
        if not msg.keep:
            for pair in msg.pairs:
                self.kept.pop(pair.ref, None)
                self.remake.pop(pair.ref, None)
        return P.Matches(tuple(matches))

    def weak(self, msg: P.Weak) -> P.WeakAnswer:
        """Reference only: why a trivial output would pass these kept outputs, or None. The
        identity test makes each trial's inputs again from its seed, one trial at a time."""
        outs, tols = [self.kept[k] for k in msg.keys], from_table(msg.tolerances)
        why = weak_problem(outs, tols, msg.margin)
        if why is None and all(k in self.remake for k in msg.keys):   # else no input could pass
            why = identity_passes(outs, lambda n: self._inputs(self.remake[msg.keys[n]]), tols, msg.margin)
        return P.WeakAnswer(why)

    def reset(self, msg: P.Reset) -> P.Done:
        self.kept.clear()
        self.remake.clear()
        self.sets, self.poisons, self.calls, self.clock, self.last_inputs, self.pending = \
            [], [], {}, None, None, []
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
            torch.cuda.empty_cache()
        return P.Done()

    def finish(self, msg: P.Finish) -> P.Finished:
        return P.Finished(tuple(self.guard.tampered()), tuple(self.guard.violations),
                          self.guard.ext_calls, tuple(self.guard.inspected))

    # -- helpers -------------------------------------------------------------------------------
    def _inputs(self, seed: int) -> list[Any]:
        """Made on the device where torch can (gigabytes of random inputs take seconds on the
        host, milliseconds on a GPU); both workers take the same path, so they agree."""
        _seed_all(seed)
        if self.device.type == "cuda":
            try:
                with self.device:
                    made = self.problem.get_inputs()
            except Exception:
                _seed_all(seed)
                made = self.problem.get_inputs()
        else:
            made = self.problem.get_inputs()
        return [x.to(self.device) if isinstance(x, torch.Tensor) else x for x in made]

    def _refill(self, inputs: list[Any], seed: int) -> None:
        fresh = self._inputs(seed)
        for old, new in zip(inputs, fresh):
            if isinstance(old, torch.Tensor):
                old.copy_(new)

    def _trial(self, seed: int, reuse: bool, profile: bool, delay_s: float) -> P.Trial:
        assert self.model is not None
        if reuse and self.last_inputs is not None:
            inputs = self.last_inputs
            self._refill(inputs, seed)
        else:
            inputs = self._inputs(seed)
        self.last_inputs = inputs
        snapshot = _map(inputs, lambda t: _clone(t))
        obs: dict[str, Any] = {"checksum": _checksum(inputs)}
        threads0, calls0, launches0 = sandbox.thread_count(), self.guard.ext_calls, self.launches.count
        clock = timing.Clock(self.device, "warm")
        prof = None
        with torch.no_grad():
            if profile and self.device.type == "cuda":
                prof = torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CUDA])
                prof.__enter__()
            try:
                out = self.model(*inputs)
                at_return = _map(out, lambda t: _clone(_plain(t)))  # stream-ordered copy
                clock.sync()
            finally:
                if prof is not None:
                    prof.__exit__(None, None, None)
        obs["ext_calls"] = self.guard.ext_calls - calls0
        obs["triton_launches"] = self.launches.count - launches0
        obs["triton_kernels"] = sorted(self.launches.names)
        if prof is not None:
            obs["kernels"] = _kernel_times(prof)
        obs["threads_after"] = sandbox.thread_count() - threads0
        obs["children_after"] = sandbox.child_count()   # alive now, whenever they were started
        if delay_s:
            _sleep(delay_s)
        clock.sync()
        obs["changed_after_return"] = not _same(at_return, out)
        obs["not_plain"] = sorted({type(t).__name__ for t in _tensors(out) if type(t) is not torch.Tensor})
        obs["input_mutated"] = not _same(snapshot, inputs)
        obs["aliases_input"] = bool(_storages(out) & _storages(inputs))
        obs["out_type"] = type(out).__name__
        if self.role == "reference":
            obs["nonfinite"] = _nonfinite(out)
            obs["out_bytes"] = sum(t.numel() * t.element_size() for t in _tensors(out))
            unchanged = not obs["changed_after_return"]   # then its copy at return is the output
            key = self._out(at_return, owned=True) if unchanged else self._out(out)
            if isinstance(out, torch.Tensor) and any(isinstance(x, torch.Tensor) and x.shape == out.shape
                                                     and x.dtype == out.dtype for x in inputs):
                self.remake[key] = seed
            return P.Trial(obs, key=key)
        return P.Trial(obs, output=self._out(out))


class _Empty(torch.nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + 1


def _kernel_times(prof: Any) -> list[tuple[str, float]]:
    totals: dict[str, float] = {}
    for e in prof.events():
        if getattr(e, "device_type", None) == torch.autograd.DeviceType.CUDA:
            totals[e.name] = totals.get(e.name, 0.0) + float(getattr(e, "device_time", 0.0) or 0.0)
    return sorted(totals.items(), key=lambda kv: -kv[1])


def _exc_line(e: BaseException) -> str:
    text = f"{type(e).__name__}: {e}".strip()
    return text if len(text) < 20000 else text[:20000] + " ..."


def _trace(e: BaseException) -> str:
    return "".join(traceback.format_exception(type(e), e, e.__traceback__))[-6000:]


def _import_error(e: BaseException, path: str, pch_report: Optional[dict] = None) -> P.Error:
    text = _exc_line(e)
    compile_failed = "Error building extension" in text or "error:" in text and "ninja" in text
    if isinstance(e, SystemExit):
        text = f"the solution called exit({e.code}) at import"
    return P.Error(text, "compile" if compile_failed else "load", _trace(e), pch_report)


def build(msg: P.Build, guard: sandbox.Guard) -> P.Message:
    """Import the solution once: load_inline compiles into this process's TORCH_EXTENSIONS_DIR."""
    guard.count_extension_calls()
    used = pch.install(list(msg.pch))   # the precompiled headers the runner offers
    try:
        mod = load_module(msg.solution, "solution")
    except BaseException as e:
        return _import_error(e, msg.solution, used)
    if not isinstance(getattr(mod, "ModelNew", None), type):
        return P.Error(f"{msg.solution}: defines no class ModelNew", "load")
    # Sandboxed, the build lives in this worker's tmpfs: it goes back packed.
    files = isolate.pack(isolate.folder(Path(msg.send_back))) if msg.send_back else None
    return P.Built(tuple(guard.extensions), used, files)


def stage(msg: P.Stage) -> P.Done:
    """Sandboxed: the case's files (its build, its problem) arrive packed; unpack them here."""
    isolate.unpack(msg.files, isolate.ROOT)
    return P.Done()


def _watch_parent() -> None:
    """If the runner dies (even by SIGKILL), end this worker's whole process group: compilers,
    threads and children included, so nothing orphaned races the next run over a build folder."""
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            _sleep(0.5)
        os.killpg(0, 9)

    threading.Thread(target=watch, name="kh-parent-watch", daemon=True).start()


def main() -> None:
    _watch_parent()
    role, rfd, wfd = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    sock = socket.socket(fileno=int(sys.argv[4]))
    if role != "build" and os.environ.get("CUDA_VISIBLE_DEVICES") and torch.cuda.is_available():
        torch.empty(1, device="cuda")   # the context costs ~1 s: a spare pays it before its case
    guard = sandbox.Guard([sys.modules[__name__], sandbox, timing, channel, triton_support, P])
    state = WorkerState(role, guard)
    handlers: dict[type, Callable[[Any], P.Message]] = {
        P.Load: state.load, P.Warm: state.warm, P.Run: state.run, P.Time: state.time,
        P.Ordered: state.ordered, P.Probe: state.probe, P.Finish: state.finish,
        P.Compare: state.compare, P.Weak: state.weak, P.Checks: state.checks, P.Reset: state.reset,
        P.Build: lambda m: build(m, guard), P.Stage: stage}
    while True:
        try:
            data = channel.read_message(rfd, sock=sock)
        except channel.ChannelClosed:
            break
        reply: P.Message
        try:
            msg = P.decode_request(data)
            if isinstance(msg, P.Exit):
                break
            reply = handlers[type(msg)](msg)
        except P.ProtocolError as e:
            reply = P.Error(f"bad request: {e}", "protocol")
        except BaseException as e:   # a solution's exception is a result, not our crash
            if isinstance(e, KeyboardInterrupt):
                raise
            reply = P.Error(_exc_line(e), "runtime", _trace(e))
        channel.send(wfd, P.encode(reply), sock)
    sys.stdout.flush()
    os._exit(0)   # skip interpreter teardown: a solution's __del__ or atexit cannot change anything


if __name__ == "__main__":
    main()
