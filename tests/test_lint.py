"""The problem linter, run for real over small problem folders on CPU."""
import subprocess
import sys

import pytest

from conftest import ROOT


def _lint(folder, *extra):
    return subprocess.run([sys.executable, "-m", "harness.lint", f"problems={folder}", "device=cpu",
                           "timed_calls=5", *extra], cwd=ROOT, capture_output=True, text=True,
                          timeout=600)


@pytest.mark.slow
def test_names_weak_and_broken_problems(tmp_path):
    (tmp_path / "good.py").write_text((ROOT / "tests/problems/small_relu.py").read_text())
    (tmp_path / "weak.py").write_text((ROOT / "tests/problems/weak_mean.py").read_text())
    (tmp_path / "fixed_inputs.py").write_text(
        (ROOT / "tests/problems/small_relu.py").read_text().replace(
            "return [torch.randn(M, N)]", "return [torch.ones(M, N)]"))
    (tmp_path / "random_ref.py").write_text(
        (ROOT / "tests/problems/small_relu.py").read_text().replace(
            "return torch.relu(x)", "return torch.relu(x) + __import__('os').urandom(1)[0]"))
    (tmp_path / "nan.py").write_text(
        (ROOT / "tests/problems/small_relu.py").read_text().replace(
            "return torch.relu(x)", "return torch.log(x)"))
    (tmp_path / "missing.py").write_text("import torch\nclass Model: pass\n")
    r = _lint(tmp_path, "format=github", "jobs=2")   # two workers; timed requests one at a time
    assert r.returncode == 1, r.stderr
    rows = {line.split("|")[1].strip(): line for line in r.stdout.splitlines() if line.startswith("| ")}
    assert "| ok" in rows["good"]
    assert "weak" in rows["weak"] and "FAIL" in rows["weak"]
    assert "does not vary with the seed" in rows["fixed_inputs"]
    assert "not deterministic" in rows["random_ref"]
    assert "NaN/Inf" in rows["nan"]
    assert "get_inputs" in rows["missing"] and "FAIL" in rows["missing"]
    assert "1 of 6 problems lint-clean" in r.stdout


@pytest.mark.slow
def test_clean_folder_exits_zero(tmp_path):
    (tmp_path / "good.py").write_text((ROOT / "tests/problems/small_relu.py").read_text())
    r = _lint(tmp_path, f"out={tmp_path / 'lint.md'}")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "1 of 1 problems lint-clean" in (tmp_path / "lint.md").read_text()


@pytest.mark.slow
def test_missing_folder_is_one_line():
    r = _lint("no/such/dir")
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1


def test_the_gate_lets_computing_requests_share_and_a_timed_one_run_alone():
    import threading

    from harness.lint import Gate
    gate, log, lock = Gate(), [], threading.Lock()
    release = threading.Event()
    s1_in = threading.Event()

    def work(kind, name, wait=None, entered=None):
        with (gate.alone() if kind == "alone" else gate.shared()):
            with lock:
                log.append(f"in:{name}")
            if entered:
                entered.set()
            if wait:
                wait.wait(10)
            with lock:
                log.append(f"out:{name}")

    s1 = threading.Thread(target=work, args=("shared", "s1", release, s1_in))
    s1.start()
    assert s1_in.wait(10)
    t = threading.Thread(target=work, args=("alone", "t"))
    t.start()
    while True:   # the timed one is waiting for s1
        with gate._cv:
            if gate._waiting:
                break
    s2 = threading.Thread(target=work, args=("shared", "s2"))
    s2.start()    # arrives while the timed one waits: it must go after it
    release.set()
    for th in (s1, t, s2):
        th.join(10)
    assert log == ["in:s1", "out:s1", "in:t", "out:t", "in:s2", "out:s2"]
