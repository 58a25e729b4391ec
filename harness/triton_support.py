"""Triton solutions: their environment, proof that their own kernels ran, and their compile errors.

A Triton solution has no build step: its `@triton.jit` kernels compile (and autotune) on first
launch, which the candidate's warm-up request does under its own limit. On CPU they run in
Triton's interpreter (`TRITON_INTERPRET=1`, set when the worker is spawned: the device is known
then, the case is not; it changes nothing for solutions without Triton). Triton is imported
lazily and only inside workers: the runner never needs it, and it is optional on a machine
without it.
"""
from __future__ import annotations

import functools
import traceback
from pathlib import Path
from typing import Any, Callable, Optional


def spawn_env(device: str) -> dict[str, str]:
    """What a worker for `device` needs in its environment before anything imports Triton."""
    return {"TRITON_INTERPRET": "1"} if device == "cpu" else {}


def cache_dir(ext_dir: str | Path) -> Path:
    """Triton's compile and autotune cache, per solution hash like its extension folder (inside
    it, so the sandbox's write and read roots already cover it)."""
    return Path(ext_dir) / "triton"


class Launches:
    """Counts launches of the solution's own `@triton.jit` kernels (compiled or interpreted),
    however they are reached (directly, through `@triton.autotune` or `@triton.heuristics`).

    Own: the kernel's Python function was defined in the solution file, so kernels that torch
    or a library launches do not count. A launch counts once it returned: one that raised (a
    broken kernel behind a try/except fallback) did not run.
    """

    def __init__(self) -> None:
        self.count = 0
        self.names: set[str] = set()

    def install(self, solution_file: str | Path) -> None:
        try:
            from triton import knobs
            from triton.runtime import autotuner, interpreter, jit
        except ImportError:
            return
        own = str(Path(solution_file).resolve())   # what problem.load_module compiles it under
        for cls in (jit.JITFunction, interpreter.InterpretedFunction):
            cls.run = self._counting(cls.run, own)
        if knobs.runtime.interpret:
            # The interpreter has no device to time configs on (autotuning raises "0 active
            # drivers"), and its times mean nothing: every config ties, the first one is used.
            autotuner.Autotuner._bench = lambda self, *args, config, **kwargs: [0.0, 0.0, 0.0]
            _interpret_tf32(interpreter)

    def _counting(self, run: Callable, own: str) -> Callable:
        counter = self

        @functools.wraps(run)
        def counted(kernel: Any, *args: Any, **kwargs: Any) -> Any:
            out = run(kernel, *args, **kwargs)
            code = getattr(getattr(kernel, "fn", None), "__code__", None)
            if not kwargs.get("warmup") and code is not None and code.co_filename == own:
                counter.count += 1
                counter.names.add(kernel.fn.__name__)
            return out

        return counted


def _interpret_tf32(interpreter: Any) -> None:
    """The interpreter computes `tl.dot` in full fp32 whatever its input_precision; a GPU rounds
    fp32 inputs to TF32 (10-bit mantissa) by default. Round them here too, so that a default
    `tl.dot` on fp32 fails fp32 tolerance on CPU as it does on the GPU."""
    builder = getattr(interpreter, "InterpreterBuilder", None)
    round_tf32 = getattr(interpreter, "_round_f32_to_tf32", None)
    tf32 = getattr(getattr(getattr(interpreter, "_ir", None), "INPUT_PRECISION", None), "TF32", None)
    if builder is None or round_tf32 is None or tf32 is None or not hasattr(builder, "create_dot"):
        return   # another Triton: dots stay exact on CPU (TF32 is caught on the GPU only)
    create_dot = builder.create_dot

    def dot(self: Any, a: Any, b: Any, d: Any, input_precision: Any, *rest: Any) -> Any:
        if input_precision == tf32 and a.data.dtype == "float32" and b.data.dtype == "float32":
            a = interpreter.TensorHandle(round_tf32(a.data), a.dtype.scalar)
            b = interpreter.TensorHandle(round_tf32(b.data), b.dtype.scalar)
        return create_dot(self, a, b, d, input_precision, *rest)

    builder.create_dot = dot


def compile_error(e: BaseException, solution_file: str | Path) -> Optional[str]:
    """Triton's own message if `e` is a failure to compile a kernel, else None.

    Compiled: Triton's compile errors (with its source excerpt and caret), ptxas errors, and a
    kernel that needs more shared memory or registers than the device has. Interpreted: the
    interpreter raises InterpreterError around whatever the kernel's body raised; that is what
    the compiler would have refused, except a failed `tl.device_assert` (a runtime error).
    """
    try:
        from triton.compiler.errors import CompilationError
        from triton.runtime.errors import InterpreterError, OutOfResources, PTXASError
    except ImportError:
        return None
    if isinstance(e, InterpreterError):
        cause: Optional[BaseException] = e
        while isinstance(cause, InterpreterError):
            cause = cause.__cause__
        if cause is None or isinstance(cause, AssertionError):
            return None
        return f"Triton (interpreter): {type(cause).__name__}: {cause}{_where(cause, solution_file)}"
    if isinstance(e, (CompilationError, PTXASError, OutOfResources)):
        return f"Triton: {e}{_where(e, solution_file)}"   # where: the launch in the solution
    return None


def _where(e: BaseException, solution_file: str | Path) -> str:
    own = str(Path(solution_file).resolve())
    frames = [f for f in traceback.extract_tb(e.__traceback__) if f.filename == own]
    if not frames:
        return ""
    f = frames[-1]
    return f" (at line {f.lineno}, in {f.name}: {(f.line or '').strip()})"
