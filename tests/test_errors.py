"""Every entry point, run for real, answers a user mistake with one line and exit status 2."""
from __future__ import annotations

import subprocess
import sys

import pytest
from hydra.errors import ConfigCompositionException
from omegaconf import OmegaConf
from omegaconf.errors import ValidationError

from conftest import ROOT
from harness.config import EvalCfg
from harness.errors import UserError, entry
from harness.problem import ProblemError
from harness.store import StoreError

SLOW = pytest.mark.slow               # these import torch before they fail: seconds each

# (entry point and arguments, words the one line must hold); {bad}: a file that is not a store
CASES = [
    pytest.param(["harness.eval", "device=tpu"], "device='tpu'", marks=SLOW),
    pytest.param(["harness.eval", "device=cpu", "problem={missing}"], "no such problem file",
                 marks=SLOW),
    (["harness.eval", "format=xml"], "format='xml'"),          # Hydra's check: before any import
    pytest.param(["harness.batch", "device=cpu", "store={bad}"], "not a results store", marks=SLOW),
    pytest.param(["harness.batch", "device=cpu", "solutions={missing}", "layout=stem",
                  "pairs=null"], "no such file or folder", marks=SLOW),
    pytest.param(["harness.batch", "layout=flat"], "layout='flat'", marks=SLOW),
    (["harness.board", "store={bad}"], "not a results store"),
    (["harness.board", "store={missing}"], "no such results store"),
    pytest.param(["harness.lint", "problems={missing}"], "no such file or folder", marks=SLOW),
    pytest.param(["harness.lint", "device=tpu"], "device='tpu'", marks=SLOW),
    pytest.param(["harness.lint", "timing.cache=lukewarm"], "timing.cache='lukewarm'", marks=SLOW),
    (["harness.export", "{bad}"], "not a results store"),
    (["harness.merge", "{bad}", "{missing}"], "no such store file"),
    (["harness.merge", "{bad}", "{bad}"], "not a results store"),
]


def _id(case) -> str:
    return " ".join(case.values[0] if hasattr(case, "values") else case[0])


@pytest.mark.parametrize("args, words", CASES, ids=[_id(c) for c in CASES])
def test_user_mistake_is_one_line_and_exit_2(tmp_path, args, words):
    bad = tmp_path / "bad.db"
    bad.write_text("not sqlite")
    argv = [a.format(bad=bad, missing=tmp_path / "missing") for a in args]
    r = subprocess.run([sys.executable, "-m", *argv], cwd=ROOT, capture_output=True, text=True,
                       timeout=120)
    lines = r.stderr.strip().splitlines()
    assert r.returncode == 2, r.stderr
    assert len(lines) == 1 and lines[0].startswith("error: ") and words in lines[0], r.stderr
    assert not (tmp_path / "missing").exists()       # looking created nothing


# -- the wrapper itself, in process -----------------------------------------------------------
def _run(fn, capsys) -> tuple[int, list[str]]:
    with pytest.raises(SystemExit) as ex:
        entry(fn)()
    return ex.value.code, capsys.readouterr().err.strip().splitlines()


@pytest.mark.parametrize("error", [UserError("x.py: no such thing"), ProblemError("x.py: no such thing"),
                                   StoreError("x.py: no such thing")])
def test_every_user_error_kind_reads_as_one_line(capsys, error):
    def fn() -> int:
        raise error
    assert _run(fn, capsys) == (2, ["error: x.py: no such thing"])


def test_a_bad_override_reads_key_value_and_choices(capsys):
    def fn() -> int:
        cfg = OmegaConf.structured(EvalCfg)
        try:
            cfg.timing.cache = "lukewarm"
        except ValidationError as e:   # what Hydra raises when it merges the override
            raise ConfigCompositionException("Error merging override timing.cache=lukewarm") from e
        return 0
    code, lines = _run(fn, capsys)
    assert code == 2 and len(lines) == 1
    assert lines[0] == ("error: timing.cache='lukewarm': invalid value 'lukewarm', expected one "
                        "of [cold, rotate, warm]")


def test_exit_codes_pass_through_and_bugs_keep_their_traceback(capsys):
    assert _run(lambda: 1, capsys) == (1, [])
    entry(lambda: 0)()                                 # 0: returns, no exit
    with pytest.raises(KeyError):
        entry(lambda: {}["bug"])()
