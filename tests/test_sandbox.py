"""The OS sandbox (harness/isolate.py), with real processes: what a sandboxed worker can see and
do, and every native escape in solutions/adversarial run as one real batch with a store, then
the runner, the store and the honest case after them checked.
"""
from __future__ import annotations

import io
import json
import os
import signal
import socket
import subprocess
import sys
import tarfile
import threading
from pathlib import Path

import pytest
import torch

from harness import isolate, selftest
from harness.store import Store

from conftest import ROOT, SMALL

PLAN = isolate.resolve("auto")
needs_sandbox = pytest.mark.skipif(PLAN.mode == "off", reason=f"no sandbox here: {PLAN.reason}")
JAIL_UIDS = range(1_000_000, 1_000_000 + (1 << 24))


def _jail(**kw) -> isolate.Jail:
    args = dict(tmpfs_mb=32, nproc=64, nofile=256, address_space_mb=0, gpu=False, share_ipc=False)
    args.update(kw)
    return isolate.Jail(PLAN, **args)


def _run_jailed(code: str, jail: isolate.Jail, home: Path) -> subprocess.CompletedProcess:
    """`code` in a jailed Python, as a worker starts: its uid dropped by isolate.enter first."""
    import resource
    home.mkdir(parents=True, exist_ok=True)
    argv, fds = jail.argv([sys.executable, "-c", "from harness import isolate; isolate.enter()\n" + code], home)
    env = {"PYTHONPATH": str(ROOT), **jail.env(home)}

    def limits() -> None:
        for which, value in jail.rlimits():
            resource.setrlimit(which, (value, value))

    try:
        return subprocess.run(argv, pass_fds=fds, env=env, capture_output=True, text=True,
                              timeout=120, preexec_fn=limits)
    finally:
        for fd in fds:
            os.close(fd)


# -- pure parts ---------------------------------------------------------------------------------
def test_unknown_mode_is_refused():
    with pytest.raises(isolate.SandboxUnavailable, match="expected auto, namespaces or off"):
        isolate.resolve("strict")
    assert isolate.resolve("off").describe() == {"mode": "off", "reason": "sandbox.mode=off"}


def _tar(name: str) -> torch.Tensor:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        info = tarfile.TarInfo(name)
        info.size = 3
        tar.addfile(info, io.BytesIO(b"bad"))
    return torch.frombuffer(bytearray(buf.getvalue()), dtype=torch.uint8)


def test_guard_names_the_solutions_own_reads_of_frames_and_objects_only(tmp_path):
    """Real audit hooks in a fresh interpreter: the solution's frame reads are noted with their
    line, through inspect and ctypes too, and with the guard's own module names rebound;
    logging's, traceback's, torch's and the problem file's own frame reads are not."""
    (tmp_path / "sol.py").write_text(
        "import ctypes, gc, inspect, logging, sys, traceback\n"
        "def frames():\n"
        "    sys._getframe(1)\n"                                  # line 3
        "    inspect.currentframe()\n"                            # line 4
        "    gc.get_referrers(frames)\n"                          # line 5
        "    ctypes.pythonapi.PyEval_GetFrame\n"                  # line 6
        "def honest():\n"
        "    logging.getLogger('x').warning('fine')\n"
        "    try:\n"
        "        1 / 0\n"
        "    except ZeroDivisionError:\n"
        "        traceback.format_exc()\n"
        "    import torch; torch.compiler.is_compiling()\n")
    (tmp_path / "problem.py").write_text("import sys\ndef get_inputs():\n    return [sys._getframe(0)]\n")
    sol, prob = tmp_path / "sol.py", tmp_path / "problem.py"
    code = (f"import json, sys; from harness import sandbox; from harness.problem import load_module\n"
            f"g = sandbox.Guard(); g.arm([{str(tmp_path)!r}], [], solution={str(sol)!r}, problem={str(prob)!r})\n"
            f"m = load_module({str(sol)!r}, 'solution'); load_module({str(prob)!r}, 'problem').get_inputs()\n"
            f"m.honest(); print(json.dumps(g.inspected))\n"
            f"sandbox._INSPECT_EVENTS = frozenset(); sandbox._FRAME_HELPERS = frozenset()\n"
            f"m.frames(); print(json.dumps(g.inspected))")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                         env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert run.returncode == 0, run.stderr
    honest, cheat = (json.loads(line) for line in run.stdout.splitlines()[-2:])
    assert honest == []
    assert cheat == ["sys._getframe at sol.py:3", "sys._getframe at sol.py:4", "gc.get_referrers at sol.py:5",
                     "ctypes for PyEval_GetFrame at sol.py:6"]


def test_unpack_keeps_a_hostile_tar_inside_its_folder(tmp_path):
    """A builder ran solution code: what it sends back is unpacked by tarfile's data filter."""
    (tmp_path / "in").mkdir()
    with pytest.raises(tarfile.TarError):
        isolate.unpack(_tar("../outside.txt"), tmp_path / "in")
    assert not (tmp_path / "outside.txt").exists()
    isolate.unpack(_tar(f"{tmp_path}/abs.txt"), tmp_path / "in")   # made relative, not absolute
    assert not (tmp_path / "abs.txt").exists() and list((tmp_path / "in").rglob("abs.txt"))


def test_pack_round_trip_keeps_nanosecond_times_and_leaves_locks_behind(tmp_path):
    src = tmp_path / "src" / "ext"
    src.mkdir(parents=True)
    (src / "main.o").write_bytes(b"obj")
    (src / "lock").write_text("")
    os.utime(src / "main.o", ns=(1_796_117_117_421_829_902,) * 2)   # a float would round it
    isolate.unpack(isolate.pack(isolate.folder(tmp_path / "src", "x")), tmp_path / "dst",
                   skip=("y",))
    out = tmp_path / "dst" / "x" / "ext"
    assert (out / "main.o").read_bytes() == b"obj" and not (out / "lock").exists()
    assert (out / "main.o").stat().st_mtime_ns == 1_796_117_117_421_829_902   # ninja compares ns


@pytest.mark.slow
# -- one jailed process ---------------------------------------------------------------------------
@needs_sandbox
def test_jailed_process_sees_and_reaches_nothing_of_the_runner(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "results.db").write_text("store")
    probe = f"""
import json, os, socket
out = {{"uid": os.getuid(), "pids": len([p for p in os.listdir("/proc") if p.isdigit()]),
       "runner_files": os.listdir({str(tmp_path)!r}), "ppid": os.getppid(),
       "ifaces": sorted(l.split(":")[0].strip() for l in open("/proc/net/dev").readlines()[2:])}}
for path in ("/usr/kh_probe", "/kh_probe", {str(tmp_path / "x")!r}):
    try:
        open(path, "w")
        out[path] = "written"
    except OSError as e:
        out[path] = e.errno
try:
    os.kill(1, 9)
    out["kill1"] = "sent"
except OSError as e:
    out["kill1"] = e.errno
open("ok", "w").write("scratch is writable")
open("/kh/ext/ok", "w").write("so is /kh")
out["home"] = os.listdir(".")
print(json.dumps(out))
"""
    r = _run_jailed(probe, _jail(), tmp_path / "scratch" / "w")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout.strip().splitlines()[-1])
    assert out["uid"] in JAIL_UIDS
    assert out["pids"] <= 3 and out["ppid"] == 1          # its own PID namespace
    assert out["runner_files"] == ["scratch"]               # no view of the runner's folder
    assert out["ifaces"] == ["lo"]                          # loopback only
    assert all(out[p] != "written" for p in ("/usr/kh_probe", "/kh_probe", str(tmp_path / "x")))
    assert "ok" in out["home"]
    assert sorted(os.listdir(tmp_path)) == ["results.db", "scratch"]
    assert os.listdir(tmp_path / "scratch" / "w") == []   # its writes stayed in its tmpfs


@pytest.mark.slow
@needs_sandbox
@pytest.mark.skipif(PLAN.seccomp is None, reason="no seccomp filter here")
def test_seccomp_kills_a_ptrace_call(tmp_path):
    r = _run_jailed("import ctypes; ctypes.CDLL(None).ptrace(16, 1, 0, 0)\nprint('survived')", _jail(),
                    tmp_path)
    assert r.returncode == 128 + signal.SIGSYS and "survived" not in r.stdout


@pytest.mark.slow
@needs_sandbox
def test_process_cap_binds_in_the_jail(tmp_path):
    code = """
import os, time
n = 0
try:
    while n < 1000:
        if os.fork() == 0:
            time.sleep(30)
            os._exit(0)
        n += 1
except OSError:
    pass
print(n)
"""
    r = _run_jailed(code, _jail(nproc=40), tmp_path)
    assert r.returncode == 0, r.stderr
    assert int(r.stdout.split()[-1]) < 40


# -- every native escape, as one batch ------------------------------------------------------------
def _listener() -> tuple[socket.socket, list[bytes]]:
    """A TCP listener on this machine, at a port the network escape tries (47000-47009)."""
    got: list[bytes] = []
    for port in range(47000, 47010):
        s = socket.socket()
        try:
            s.bind(("127.0.0.1", port))
            break
        except OSError:
            s.close()
    else:
        pytest.skip("ports 47000-47009 all taken")
    s.listen(16)
    s.settimeout(0.5)

    def serve() -> None:
        while True:
            try:
                conn, _ = s.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            got.append(conn.recv(100) or b"(connected)")
            conn.close()

    threading.Thread(target=serve, daemon=True).start()
    return s, got


def _jail_processes() -> int:
    n = 0
    for p in os.listdir("/proc"):
        try:
            if p.isdigit() and os.stat(f"/proc/{p}").st_uid in JAIL_UIDS:
                n += 1
        except OSError:
            pass
    return n


def _bytes_under(folder: Path) -> int:
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file() and not f.is_symlink())


@pytest.mark.slow
@needs_sandbox
def test_native_escapes_leave_runner_store_and_next_case_untouched(tmp_path, cache_dir):
    entries = [e for e in selftest.load(ROOT / "solutions/expected.json", "cpu") if e.sandbox]
    assert len(entries) >= 8
    honest = ROOT / "solutions/examples/relu_cpp.py"
    pairs = [{"solution": str(ROOT / e.solution), "problem": str(SMALL)} for e in entries]
    pairs.append({"solution": str(honest), "problem": str(SMALL)})   # the case after them all
    (tmp_path / "pairs.json").write_text(json.dumps(pairs))
    # The runner's folder holds its cache (as by default), whose builds and precompiled headers
    # are the session's own.
    (tmp_path / ".harness-cache").mkdir()
    for part in ("ext", "pch"):
        (Path(cache_dir) / part).mkdir(parents=True, exist_ok=True)
        (tmp_path / ".harness-cache" / part).symlink_to(Path(cache_dir) / part)
    pch0 = _bytes_under(Path(cache_dir) / "pch")
    listener, got = _listener()
    free0 = os.statvfs(tmp_path)
    cmd = [sys.executable, "-m", "harness.batch", "layout=pairs", f"pairs={tmp_path / 'pairs.json'}",
           "select='*'", "device=cpu", "store=results.db", "cache_dir=.harness-cache", "board=false",
           "label=escapes", "build_workers=1", "timing.budget_s=1", "timing.min_calls=5",
           "timing.warmup_s=0", "limits.step_s=30", "limits.load_s=60", "sandbox.mode=namespaces",
           "sandbox.tmpfs_mb=128", "sandbox.nproc=128", "progress=false"]
    try:
        r = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=1800,
                           env={**os.environ, "PYTHONPATH": str(ROOT)})
    finally:
        listener.close()
    assert r.returncode == 0, f"the runner did not survive: {r.returncode}\n{r.stderr[-3000:]}"
    with Store(tmp_path / "results.db") as store:
        rows = {c.sample: v for c, v in store.case_rows()}
    for e in entries:
        v = rows[Path(e.solution).stem]
        ok, why = selftest.check(v, e)
        assert ok, f"{e.solution}: {why} | {v.message[:300]} | {v.details.get('sandbox')}"
        assert v.details["sandbox"]["mode"] == "namespaces"
    last = rows[honest.stem]
    assert last.outcome.value == "ok" and not last.flags, (last.message, last.flags)
    # Nothing landed in the runner's folder or above it, the store holds no forged bytes, the
    # listener heard nothing, no forked process outlived its case, the disk did not fill.
    strays = [p for d in (tmp_path, tmp_path.parent) for p in d.glob("kh_*")]
    strays += list(tmp_path.rglob("kh_fill_*")) + list(tmp_path.rglob("kh_native_escape*"))
    assert not strays, strays
    for f in tmp_path.glob("results.db*"):
        assert b"kh-forged-verdict" not in f.read_bytes(), f
    assert not got, got
    assert _jail_processes() < 50
    lost = (free0.f_bavail - os.statvfs(tmp_path).f_bavail) * free0.f_frsize
    lost -= _bytes_under(Path(cache_dir) / "pch") - pch0   # a PCH made meanwhile (0.8 GB) is ours
    assert lost < 1.5 * 2**30, f"{lost / 2**30:.1f} GiB of disk gone"
