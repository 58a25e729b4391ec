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
    (tmp_path / "relu_of_rand.py").write_text(   # rand is non-negative: ReLU is the identity on it
        (ROOT / "tests/problems/small_relu.py").read_text().replace("torch.randn(M, N)", "torch.rand(M, N)"))
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
    assert "returning input 0 unchanged would pass" in rows["relu_of_rand"]
    assert "1 of 7 problems lint-clean" in r.stdout


@pytest.mark.slow
def test_a_problem_out_of_memory_beside_others_is_linted_again_alone_after_them(tmp_path):
    """Sorted first, it runs first; its out-of-memory failure may be the others' doing, so it
    is linted again once they are done (its one line comes last), and still out of memory
    alone, that is its row."""
    (tmp_path / "a_oom.py").write_text((ROOT / "tests/problems/small_relu.py").read_text().replace(
        "return torch.relu(x)", "raise RuntimeError('CUDA out of memory. Tried to allocate 80.00 GiB')"))
    for name in ("b_good", "c_good"):
        (tmp_path / f"{name}.py").write_text((ROOT / "tests/problems/small_relu.py").read_text())
    r = _lint(tmp_path, "format=github", "jobs=2")
    assert r.returncode == 1, r.stderr
    done = [line.split(":")[0] for line in r.stderr.splitlines() if line.startswith(("a_oom", "b_good", "c_good"))]
    assert sorted(done) == ["a_oom", "b_good", "c_good"] and done[-1] == "a_oom", r.stderr
    rows = {line.split("|")[1].strip(): line for line in r.stdout.splitlines() if line.startswith("| ")}
    assert "out of memory" in rows["a_oom"] and "| ok" in rows["b_good"]


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
