"""The problem set: manifest current, every problem file well-formed, enough problems per level.

Fast by design: problem files are imported, never run (no forward passes, no input tensors).
"""
from __future__ import annotations

import importlib.util
import inspect
import json
import re
from pathlib import Path

import pytest

from harness import manifest

REPO = Path(__file__).resolve().parent.parent
PROBLEMS = REPO / "problems"
MIN_PER_LEVEL = {1: 30, 2: 15, 3: 5}
ID_RE = re.compile(r"^level(\d+)/([a-z][a-z0-9]*(?:_[a-z0-9]+)*)$")

ENTRIES = manifest.build_manifest(PROBLEMS)


def _load(entry):
    path = PROBLEMS / entry["file"]
    spec = importlib.util.spec_from_file_location("problem_" + entry["id"].replace("/", "__"), path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_manifest_is_current():
    assert manifest.check_manifest(PROBLEMS) is None, "run: python -m harness.manifest problems"
    on_disk = json.loads((PROBLEMS / manifest.MANIFEST_NAME).read_text())
    assert on_disk == ENTRIES
    assert manifest.main(["--check", str(PROBLEMS)]) == 0


def test_check_detects_staleness(tmp_path):
    (tmp_path / "level1").mkdir()
    (tmp_path / "level1" / "foo.py").write_text('"""x"""\n')
    assert manifest.main(["--check", str(tmp_path)]) == 1        # missing
    assert manifest.main([str(tmp_path)]) == 0
    assert manifest.main(["--check", str(tmp_path)]) == 0
    text = (tmp_path / "manifest.json").read_text()
    assert text.endswith("\n")
    [entry] = json.loads(text)
    assert entry == {"id": "level1/foo", "level": 1, "name": "foo", "file": "level1/foo.py",
                     "sha256": entry["sha256"]}
    (tmp_path / "level1" / "foo.py").write_text('"""y"""\n')
    assert manifest.main(["--check", str(tmp_path)]) == 1        # edited


def test_ids_unique_and_well_formed():
    ids = [e["id"] for e in ENTRIES]
    assert len(ids) == len(set(ids))
    for e in ENTRIES:
        m = ID_RE.match(e["id"])
        assert m, f"bad problem id {e['id']!r} (want level<L>/<lowercase_snake_case>)"
        assert int(m.group(1)) == e["level"] and m.group(2) == e["name"]
        assert e["file"] == e["id"] + ".py"


def test_enough_problems_per_level():
    counts = {}
    for e in ENTRIES:
        counts[e["level"]] = counts.get(e["level"], 0) + 1
    for level, least in MIN_PER_LEVEL.items():
        assert counts.get(level, 0) >= least, f"level{level}: {counts.get(level, 0)} < {least}"


@pytest.mark.parametrize("entry", ENTRIES, ids=[e["id"] for e in ENTRIES])
def test_problem_file_well_formed(entry):
    import torch.nn as nn

    module = _load(entry)
    doc = inspect.getdoc(module)
    assert doc and doc.strip(), "module docstring missing"
    assert inspect.isclass(getattr(module, "Model", None)), "no class Model"
    assert issubclass(module.Model, nn.Module)
    assert callable(getattr(module, "get_inputs", None)), "no get_inputs()"
    assert callable(getattr(module, "get_init_inputs", None)), "no get_init_inputs()"
    init_inputs = module.get_init_inputs()              # cheap: constructor arguments only
    assert isinstance(init_inputs, list)
