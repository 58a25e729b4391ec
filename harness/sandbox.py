"""Guards that live inside a worker process, set up before any solution code is imported.

They cannot stop a determined native-code adversary; they make every Python-level trick
visible: replaced functions (`tampered`), reads of the interpreter's frames or of every object
(`inspected`: the harness's own state, such as its list of timed calls, lives there), file and
network access (`violations`), calls into the solution's own extension (`ext_calls`), threads
and children left running (`threads`, `children`).
"""
from __future__ import annotations

import os
import random
import sys
import threading
import time
import types
from typing import Any, Callable, Iterable, Optional

import torch
import torch.utils.cpp_extension as cpp_extension

_TIME_FUNCS = ("perf_counter", "perf_counter_ns", "monotonic", "monotonic_ns", "time", "time_ns",
               "sleep", "process_time")
_TORCH_FUNCS = ("allclose", "equal", "isclose", "manual_seed", "randn", "rand", "randint",
                "randn_like", "rand_like", "empty_like", "zeros_like", "save", "load")
_TENSOR_METHODS = ("clone", "copy_", "to", "cpu", "contiguous", "detach", "sum", "abs", "double",
                   "float", "equal", "__eq__", "data_ptr", "untyped_storage", "item", "numel",
                   "zero_", "view", "reshape")
_EVENT_METHODS = ("record", "elapsed_time", "synchronize", "query")
_NETWORK_EVENTS = ("socket.connect", "socket.bind", "socket.sendto", "socket.sendmsg")
_PATH_EVENTS = ("os.remove", "os.rename", "os.rmdir", "os.mkdir", "shutil.rmtree", "os.chmod",
                "os.truncate", "os.symlink", "os.link")
# How Python code reaches frames or every object (PEP 578 events): a first frame comes only
# through these (a frame's f_back and f_locals raise none), or through the C API by ctypes.
_INSPECT_EVENTS = frozenset(("sys._getframe", "sys._current_frames", "gc.get_objects",
                             "gc.get_referrers", "gc.get_referents", "sys.settrace", "sys.setprofile",
                             "sys._settraceallthreads", "sys._setprofileallthreads"))
_FRAME_ATTRS = frozenset(("f_code", "tb_frame", "gi_frame", "cr_frame", "ag_frame"))   # object.__getattr__
# Standard-library helpers that only hand frames (ctypes: C functions) on: their caller is the reader.
_FRAME_HELPERS = frozenset((("inspect", "currentframe"), ("inspect", "stack"), ("inspect", "trace"),
                            ("inspect", "getouterframes"), ("inspect", "getinnerframes"),
                            ("traceback", "walk_stack"), ("traceback", "walk_tb"),
                            ("logging", "<lambda>"), ("ctypes", "__getattr__"),
                            ("ctypes", "__getitem__")))
# Taken at import, before any solution code runs: what the guard itself calls.
_getframe, _abspath, _realpath, _basename = sys._getframe, os.path.abspath, os.path.realpath, os.path.basename
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND


def _references(extra_modules: Iterable[types.ModuleType]) -> dict[str, Any]:
    """Everything the harness relies on inside a worker, by name."""
    refs: dict[str, Any] = {}
    for name in _TIME_FUNCS:
        refs[f"time.{name}"] = getattr(time, name)
    for name in _TORCH_FUNCS:
        refs[f"torch.{name}"] = getattr(torch, name)
    refs["torch.testing.assert_close"] = torch.testing.assert_close
    refs["torch.nn.Module.__call__"] = torch.nn.Module.__call__
    refs["torch.nn.Module._call_impl"] = torch.nn.Module._call_impl
    refs["torch.profiler.profile"] = torch.profiler.profile
    refs["random.seed"] = random.seed
    for name in _TENSOR_METHODS:
        refs[f"torch.Tensor.{name}"] = torch.Tensor.__dict__.get(name, getattr(torch.Tensor, name))
    refs["torch.cuda.synchronize"] = torch.cuda.synchronize
    refs["torch.cuda.Event"] = torch.cuda.Event
    refs["torch.cuda.current_stream"] = torch.cuda.current_stream
    refs["torch.cuda.manual_seed_all"] = torch.cuda.manual_seed_all
    for name in _EVENT_METHODS:
        refs[f"torch.cuda.Event.{name}"] = torch.cuda.Event.__dict__.get(name)
    try:
        import numpy
        refs["numpy.random.seed"] = numpy.random.seed
    except ImportError:
        pass
    for mod in extra_modules:
        for key, val in vars(mod).items():
            if callable(val) and not key.startswith("__"):
                refs[f"{mod.__name__}.{key}"] = val
            if isinstance(val, type) and val.__module__ == mod.__name__:   # and its methods
                for mkey, meth in vars(val).items():
                    if callable(meth) and not mkey.startswith("__"):
                        refs[f"{mod.__name__}.{key}.{mkey}"] = meth
    return refs


def _current(name: str) -> Any:
    """Look a reference name up again, the way a patched attribute would be found."""
    if name.startswith("torch.Tensor."):
        attr = name.rsplit(".", 1)[1]
        return torch.Tensor.__dict__.get(attr, getattr(torch.Tensor, attr, None))
    if name.startswith("torch.cuda.Event."):
        return torch.cuda.Event.__dict__.get(name.rsplit(".", 1)[1])
    head, _, attr = name.rpartition(".")
    obj: Any = sys.modules.get(head)
    if obj is None:
        obj = sys.modules.get(head.rpartition(".")[0])
        obj = getattr(obj, head.rpartition(".")[2], None) if obj is not None else None
    if isinstance(obj, type):   # a class's own attribute, as it was recorded
        return obj.__dict__.get(attr, getattr(obj, attr, None))
    return getattr(obj, attr, None) if obj is not None else None


def thread_count() -> int:
    """Native threads too (torch's pools, std::thread): Python's own count misses those."""
    try:
        return len(os.listdir("/proc/self/task"))
    except OSError:
        return threading.active_count()


def child_count() -> int:
    kids = 0
    try:
        for task in os.listdir("/proc/self/task"):
            with open(f"/proc/self/task/{task}/children") as f:
                kids += len(f.read().split())
    except OSError:
        pass
    return kids


class Guard:
    def __init__(self, harness_modules: Iterable[types.ModuleType] = ()):
        self._refs = _references(harness_modules)
        self.violations: list[str] = []
        self.inspected: list[str] = []
        self.ext_calls = 0
        self.extensions: list[str] = []
        self._armed = False
        self._write_roots: tuple[str, ...] = ()
        self._forbidden: tuple[str, ...] = ()
        self._allowed_reads: tuple[str, ...] = ()
        self._own_code: tuple[str, ...] = ()
        self._not_own: tuple[str, ...] = ()
        self._own_cache: dict[types.CodeType, bool] = {}
        # Held here: the module's names can be rebound by the code being watched.
        self._events, self._frame_attrs, self._helpers = _INSPECT_EVENTS, _FRAME_ATTRS, _FRAME_HELPERS
        self._in_hook: set[int] = set()
        sys.addaudithook(self._audit)  # cannot be removed, by us or by the solution

    # -- tampering ------------------------------------------------------------------------------
    def tampered(self) -> list[str]:
        return sorted(name for name, obj in self._refs.items() if _current(name) is not obj)

    # -- sandbox -----------------------------------------------------------------------------------
    def arm(self, write_roots: Iterable[str], forbidden: Iterable[str],
            allowed_reads: Iterable[str] = (), solution: str = "", problem: str = "") -> None:
        """From here on, record network use, writes outside write_roots, reads under forbidden,
        and frames or objects read by the solution's own code: its file, or Python it wrote
        under write_roots (not the problem's file, nor the code Triton and inductor generate)."""
        self._write_roots = tuple(_abspath(p) for p in write_roots) + ("/dev/null", "/dev/shm")
        self._own_code = tuple(_abspath(p) for p in write_roots) + \
            ((_realpath(solution),) if solution else ())
        self._not_own = tuple(_realpath(p) for p in (problem, os.environ.get("TRITON_CACHE_DIR", ""),
                                                     os.environ.get("TORCHINDUCTOR_CACHE_DIR", "")) if p)
        self._forbidden = tuple(_abspath(p) for p in forbidden if p)
        self._allowed_reads = tuple(_abspath(p) for p in allowed_reads)
        self._armed = True

    @staticmethod
    def _under(path: str, roots: tuple[str, ...]) -> bool:
        return any(path == r or path.startswith(r + os.sep) for r in roots)

    def _note(self, what: str) -> None:
        if len(self.violations) < 50 and what not in self.violations:
            self.violations.append(what)

    def _audit(self, event: str, args: tuple) -> None:
        if not self._armed:
            return
        if event in self._events or (event == "object.__getattr__" and args[1] in self._frame_attrs) or \
                (event == "ctypes.dlsym" and str(args[1]).lstrip("_").startswith("Py")):
            me = threading.get_ident()
            if me not in self._in_hook:   # the walk below raises these events itself
                self._in_hook.add(me)
                try:
                    self._inspection(f"the {args[1]} attribute" if event == "object.__getattr__" else
                                     f"ctypes for {args[1]}" if event == "ctypes.dlsym" else event)
                except Exception:   # a hook that raises would break the caller, honest or not
                    pass
                finally:
                    self._in_hook.discard(me)
        elif event == "open":
            path, mode, flags = args
            if not isinstance(path, (str, bytes)):
                return
            path = _abspath(os.fsdecode(path))
            writing = bool(mode and any(c in mode for c in "wax+")) or bool((flags or 0) & _WRITE_FLAGS)
            if writing and not self._under(path, self._write_roots):
                self._note(f"write {path}")
            elif self._under(path, self._forbidden) and not self._under(path, self._allowed_reads):
                self._note(f"read {path}")
        elif event in _NETWORK_EVENTS:
            sock = args[0]
            family = getattr(sock, "family", None)
            if family is not None and int(family) == 1:   # AF_UNIX: local, not network
                return
            self._note(f"{event} {args[1] if len(args) > 1 else ''}".strip())
        elif event in _PATH_EVENTS:
            for p in args:
                if isinstance(p, (str, bytes)):
                    path = _abspath(os.fsdecode(p))
                    if not self._under(path, self._write_roots):
                        self._note(f"{event} {path}")
                    break

    def _inspection(self, what: str) -> None:
        """Noted when the code that asked (past the helpers that only pass frames on) is the
        solution's own; torch, triton and logging read frames for their own reasons. Only the
        asker counts, so a solution that routes the read through a library escapes it: this
        catches the plain reads, the runner's own checks bound the rest."""
        f: Optional[types.FrameType] = _getframe(2)   # 0: here, 1: _audit, 2: the asker
        while f is not None and (f.f_globals.get("__name__"), f.f_code.co_name) in self._helpers:
            f = f.f_back
        if f is not None and self._own(f.f_code):
            where = f"{what} at {_basename(f.f_code.co_filename)}:{f.f_lineno}"
            if len(self.inspected) < 10 and where not in self.inspected:
                self.inspected.append(where)

    def _own(self, code: types.CodeType) -> bool:
        known = self._own_cache.get(code)
        if known is None:
            path = _abspath(code.co_filename)
            known = self._own_cache[code] = self._under(path, self._own_code) and \
                not self._under(path, self._not_own) and \
                not any(part.startswith("torchinductor_") for part in path.split(os.sep))
        return known

    # -- calls into the solution's own extensions ------------------------------------------------
    def count_extension_calls(self) -> None:
        """Wrap modules that load_inline/load return, however the solution binds them."""
        for name in ("load_inline", "load"):
            original = getattr(cpp_extension, name)
            setattr(cpp_extension, name, self._wrap_loader(original))

    def _wrap_loader(self, loader: Callable) -> Callable:
        guard = self

        def load(*args: Any, **kwargs: Any) -> Any:
            mod = loader(*args, **kwargs)
            if not isinstance(mod, types.ModuleType):
                return mod
            guard.extensions.append(mod.__name__)
            proxy = types.ModuleType(mod.__name__, mod.__doc__)
            for key, val in vars(mod).items():
                setattr(proxy, key, guard._counting(val) if callable(val) and not
                        key.startswith("__") else val)
            return proxy

        load.__wrapped__ = loader  # type: ignore[attr-defined]
        return load

    def _counting(self, fn: Callable) -> Callable:
        guard = self

        def call(*args: Any, **kwargs: Any) -> Any:
            guard.ext_calls += 1
            return fn(*args, **kwargs)

        call.__name__ = getattr(fn, "__name__", "extension_function")
        call.__doc__ = getattr(fn, "__doc__", None)
        return call
