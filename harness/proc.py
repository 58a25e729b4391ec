"""Worker processes as the runner holds them (WorkerProcess): spawn one in its own process
group and scratch folder, talk to it, kill it, and say what happened to it. Nothing here imports
solution code or touches CUDA; what runs inside a worker is harness/worker.py.
"""
from __future__ import annotations

import fcntl
import os
import resource
import signal
import socket
import subprocess
import sys
import time
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from . import channel, protocol, triton_support
from .isolate import Jail

HARNESS_ROOT = str(Path(__file__).resolve().parent.parent)

# What a worker may inherit; everything else (tokens, keys, the runner's paths) is dropped.
KEEP_ENV = ("PATH", "LANG", "LC_ALL", "LD_LIBRARY_PATH", "CUDA_HOME", "CUDA_PATH",
            "CUDA_VISIBLE_DEVICES", "TORCH_CUDA_ARCH_LIST", "CC", "CXX", "MAX_JOBS",
            "OMP_NUM_THREADS", "MKL_NUM_THREADS", "NCCL_NVLS_ENABLE",
            "TORCH_SYMM_MEM_DISABLE_MULTICAST", "NVSHMEM_DISABLE_NVLS", "PYTORCH_CUDA_ALLOC_CONF")


def scrubbed_env(home: Path, extra: Optional[dict[str, str]] = None) -> dict[str, str]:
    env = {k: os.environ[k] for k in KEEP_ENV if k in os.environ}
    env.update(HOME=str(home), TMPDIR=str(home / "tmp"), PYTHONDONTWRITEBYTECODE="1",
               PYTHONUNBUFFERED="1", PYTHONHASHSEED="0", PYTHONPATH=HARNESS_ROOT,
               # Two workers take turns on the same cores: idle OpenMP pools must sleep, not spin.
               OMP_WAIT_POLICY="PASSIVE", KMP_BLOCKTIME="0",
               # torch.compile in-process: no pool of compile workers outliving a call.
               TORCHINDUCTOR_COMPILE_THREADS="1",
               # A sandboxed worker's uid has no passwd entry; torch asks getpass.getuser() at
               # import (its inductor cache folder), which reads these first.
               USER="kh-worker", LOGNAME="kh-worker")
    (home / "tmp").mkdir(parents=True, exist_ok=True)
    env.update(extra or {})
    return env


# torch's host allocator backs tensors of 2 MiB and more with huge pages: a fresh 256 MiB copy
# then takes 65K fewer page faults (0.23 -> 0.07 s here). Both sides alike, so a forward's own
# first touches of the tensors it makes cost the same in either (a C++ extension's own malloc
# gets huge pages only where the system's THP setting is `always`).
_HOST_MEMORY = {"THP_MEM_ALLOC_ENABLE": "1"}


def device_env(device: str, cpu_threads: int) -> tuple[dict[str, str], str]:
    """A worker's environment for `device` (cpu | cuda:N), and the device's name inside it."""
    if device == "cpu":
        n = str(cpu_threads)
        return {"CUDA_VISIBLE_DEVICES": "", "OMP_NUM_THREADS": n, "MKL_NUM_THREADS": n, **_HOST_MEMORY,
                **triton_support.spawn_env(device)}, "cpu"
    return {"CUDA_VISIBLE_DEVICES": device.split(":")[1], **_HOST_MEMORY}, "cuda:0"


LIVE: "weakref.WeakSet[WorkerProcess]" = weakref.WeakSet()   # so an interrupted runner can end them all


def kill_all() -> None:
    for w in list(LIVE):
        w.kill()


@dataclass
class Failure:
    """How a worker failed to answer: the runner turns this into an outcome."""
    kind: str       # timeout | crashed | garbage
    message: str
    signal: Optional[int] = None   # the signal that ended it, when one did


class WorkerFailed(Exception):
    def __init__(self, failure: Failure):
        super().__init__(failure.message)
        self.failure = failure


def describe_exit(returncode: Optional[int]) -> str:
    if returncode is None:
        return "still running"
    if returncode < 0:
        sig = -returncode
        name = signal.Signals(sig).name if sig in signal.Signals._value2member_map_ else str(sig)
        extra = {int(signal.SIGXFSZ): " (wrote past its output limit)",
                 int(signal.SIGKILL): " (killed, possibly out of memory)",
                 int(signal.SIGSYS): " (made a system call the sandbox forbids)"}.get(sig, "")
        return f"killed by signal {name}{extra}"
    return f"exited with status {returncode} without sending a result"


def _capped_log(limit: int) -> int:
    """stdout/stderr in memory, sized once and sealed against growing: a write past the cap
    fails, whatever writes it, and a noisy worker fills no disk."""
    fd = os.memfd_create("kh-log", os.MFD_CLOEXEC | os.MFD_ALLOW_SEALING)
    os.ftruncate(fd, limit)
    fcntl.fcntl(fd, fcntl.F_ADD_SEALS, fcntl.F_SEAL_GROW | fcntl.F_SEAL_SHRINK | fcntl.F_SEAL_SEAL)
    return fd


class WorkerProcess:
    """One worker subprocess: `python -m harness.worker ROLE RFD WFD SOCKFD`, under `jail` if
    given. Messages go through the pipes; the socket passes memfds of shared tensors."""

    def __init__(self, role: str, scratch: Path, env_extra: Optional[dict[str, str]] = None,
                 output_mb: int = 64, max_message_mb: int = 4096, jail: Optional[Jail] = None,
                 nice: int = 0):
        """`output_mb` caps stdout and stderr together; `max_message_mb` caps a reply and any
        one file the worker writes (a memfd of shared outputs is one); `nice` lowers its CPU
        priority, and its children's."""
        self.role = role
        self.jail = jail
        self.scratch = scratch
        scratch.mkdir(parents=True, exist_ok=True)
        self.max_bytes = max_message_mb << 20
        self._log = _capped_log(output_mb << 20)
        to_child_r, to_child_w = os.pipe()
        from_child_r, from_child_w = os.pipe()
        for fd in (to_child_w, from_child_r):
            channel.widen(fd)
        self.sock, child_sock = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        argv = [sys.executable, "-m", "harness.worker", role, str(to_child_r), str(from_child_w),
                str(child_sock.fileno())]
        env = scrubbed_env(scratch, env_extra)
        fds: tuple[int, ...] = (to_child_r, from_child_w, child_sock.fileno())
        limits = [(resource.RLIMIT_CORE, 0), (resource.RLIMIT_FSIZE, self.max_bytes)]
        if jail is not None:
            argv, jail_fds = jail.argv(argv, scratch.resolve())
            env.update(jail.env(scratch.resolve()))
            fds += jail_fds
            limits += jail.rlimits()

        def _limits() -> None:
            for which, value in limits:
                resource.setrlimit(which, (value, value))
            if nice:
                os.nice(nice)

        try:
            self.proc = subprocess.Popen(
                argv, pass_fds=fds, stdin=subprocess.DEVNULL, stdout=self._log,
                stderr=subprocess.STDOUT, cwd=str(scratch), env=env,
                start_new_session=True, preexec_fn=_limits)
        finally:
            child_sock.detach()
            for fd in fds:
                os.close(fd)
        self._w, self._r = to_child_w, from_child_r
        LIVE.add(self)

    def request(self, msg: protocol.Request, timeout: float) -> protocol.Message:
        """Send one request and wait for its reply (msg.reply, or protocol.Error); on any failure
        the worker is dead after. Tensors in the reply that came shared stay channel.Shared
        handles, to pass on."""
        if self._w < 0:   # killed already (an interrupted batch ends every worker at once)
            raise WorkerFailed(Failure("crashed", "the worker was stopped by the runner"))
        try:
            channel.send(self._w, protocol.encode(msg), self.sock)
            reply = channel.read_message(self._r, time.monotonic() + timeout, self.max_bytes,
                                         self.sock, share=True)
        except channel.ChannelTimeout:
            self.kill()
            raise WorkerFailed(Failure("timeout", f"no answer within {timeout:g} s"))
        except (channel.ChannelClosed, OSError) as e:   # a broken pipe, or fds closed by kill()
            alive = self.proc.poll() is None
            code = self._reap()
            if self.jail is not None and code is not None and code > 128:
                code = 128 - code   # bwrap exits 128+N for a command that signal N ended
            # A worker still running when its channel failed was ended by the runner: say why.
            why = f" (the runner ended it: its channel failed with {e!r})" if alive and \
                isinstance(e, OSError) else ""
            raise WorkerFailed(Failure("crashed", describe_exit(code) + why + self._log_tail(),
                                       -code if code is not None and code < 0 else None))
        except channel.ChannelGarbage as e:
            self.kill()
            raise WorkerFailed(Failure("garbage", str(e)))
        try:
            return protocol.decode_reply(msg, reply)
        except protocol.ProtocolError as e:
            self.kill()
            raise WorkerFailed(Failure("garbage", f"malformed reply to {msg.tag}: {e}")) from None

    def alive(self) -> bool:
        return self._w >= 0 and self.proc.poll() is None

    def _reap(self, grace: float = 3.0) -> Optional[int]:
        try:
            return self.proc.wait(grace)
        except subprocess.TimeoutExpired:
            self.kill()
            return self.proc.returncode

    def _log_tail(self, n: int = 1500) -> str:
        try:   # the worker's stdout shares this file description: its offset is the end
            end = os.lseek(self._log, 0, os.SEEK_CUR)
            tail = os.pread(self._log, min(n, end), max(0, end - n)).decode("utf-8", "replace").strip()
        except OSError:
            return ""
        return f"; last output: {tail[-n:]}" if tail else ""

    def log_tail(self, n: int = 4000) -> str:
        return self._log_tail(n)

    def kill(self) -> None:
        """End the worker and everything it started in its process group."""
        for fd in (self._w, self._r):
            try:
                os.close(fd)
            except OSError:
                pass
        self._w = self._r = -1
        self.sock.close()
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            pass

    def __del__(self) -> None:
        if getattr(self, "_log", -1) >= 0:
            os.close(self._log)
            self._log = -1

    def close(self, timeout: float = 10.0) -> None:
        """Ask politely, then kill: leftovers (threads, children) must not outlive the case."""
        if self.proc.poll() is None and self._w >= 0:
            try:
                channel.send(self._w, protocol.encode(protocol.Exit()), self.sock)
                self.proc.wait(timeout)
            except (OSError, subprocess.TimeoutExpired):
                pass
        self.kill()
