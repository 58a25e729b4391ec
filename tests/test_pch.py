"""The precompiled torch/extension.h: made by the runner, taken by the jailed builder, the same
verdicts; a broken one never fails an honest build, and an ordinary compile error is built once."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest
import torch.utils.cpp_extension as cpp_extension

from harness import isolate, pch
from harness.case import evaluate
from harness.solution import prepare
from harness.engine import build_slots
from harness.isolate import Jail, Plan
from harness.verdict import Outcome

from conftest import EXAMPLES, SMALL, make_cfg

NINJA = """ninja_required_version = 1.3
cxx = c++

cflags = -DTORCH_EXTENSION_NAME=kh_ex_relu_cpp -DTORCH_API_INCLUDE_EXTENSION_H -isystem /site/torch/include -isystem '/a b/py' -fPIC -std=c++20 -O3
post_cflags = -DKEEP
ldflags = -shared -ltorch

rule compile
  command = $cxx -MMD -MF $out.d $cflags -c $in -o $out $post_cflags
  depfile = $out.d
  deps = gcc

build main.o: compile {src}
build kh_ex_relu_cpp.so: link main.o
"""
FLAGS = ("-DTORCH_API_INCLUDE_EXTENSION_H", "-isystem", "/site/torch/include", "-isystem", "/a b/py",
         "-fPIC", "-std=c++20", "-O3", "-DKEEP")


def test_reads_the_cpp_compile_of_a_build_ninja_without_the_extension_name(tmp_path):
    comp = pch.parse_ninja(NINJA.format(src=tmp_path / "main.cpp"))
    assert comp == pch.Compile(("c++",), FLAGS)
    assert pch.parse_ninja("cxx = c++\nbuild cuda.o: cuda_compile x.cu\n") is None


def test_only_a_file_that_starts_with_the_header_asks_for_the_pch(tmp_path):
    (tmp_path / "main.cpp").write_text("\n// a comment\n#include <torch/extension.h>\nint f();\n")
    (tmp_path / "other.cpp").write_text("#define X 1\n#include <torch/extension.h>\n")
    assert pch.starts_with_header(tmp_path / "main.cpp")
    assert not pch.starts_with_header(tmp_path / "other.cpp")
    assert not pch.starts_with_header(tmp_path / "missing.cpp")
    offer = {"dir": "/c/pch/k1", "cxx": ["c++"], "flags": list(FLAGS), "ready": True}
    for src, objects in (("main.cpp", ["main.o"]), ("other.cpp", [])):
        (tmp_path / "build.ninja").write_text(NINJA.format(src=tmp_path / src))
        assert pch._match([offer], tmp_path) == ((offer, objects) if objects else (None, []))
    (tmp_path / "build.ninja").write_text(NINJA.format(src=tmp_path / "main.cpp"))
    assert pch._match([{**offer, "flags": list(FLAGS[:-1])}], tmp_path) == (None, ["main.o"])   # -O3 only


def test_key_follows_compiler_headers_and_options():
    base = pch.pch_key("gcc 12", "torch 2.13", ["-O3"])
    assert base == pch.pch_key("gcc 12", "torch 2.13", ["-O3"])
    assert len({base, pch.pch_key("gcc 13", "torch 2.13", ["-O3"]),
                pch.pch_key("gcc 12", "torch 2.14", ["-O3"]),
                pch.pch_key("gcc 12", "torch 2.13", ["-O2"])}) == 4


def test_the_runner_takes_its_options_from_torchs_own_writer():
    plain, fast = pch.torch_compile([], False), pch.torch_compile(["-O3"], False)
    assert plain is not None and fast is not None and plain.cxx == fast.cxx
    assert fast.flags == plain.flags + ("-O3",)
    assert "-DTORCH_API_INCLUDE_EXTENSION_H" in plain.flags
    assert not any(f.startswith("-DTORCH_EXTENSION_NAME") for f in plain.flags)


def test_only_an_unreadable_pch_makes_a_build_go_again_without_it():
    assert pch.about_pch("main.cpp:1:29: error: while reading precompiled header: No such file")
    assert not pch.about_pch("In file included from /c/pch/ab12/torch/extension.h:6:\n"
                             "main.cpp:11:12: error: 'output' was not declared in this scope")


def test_builds_at_once_fill_the_cores_without_oversubscribing_them():
    assert build_slots(0, 1, 16) == 15
    assert build_slots(0, 2, 16) == 7
    assert build_slots(0, 2, 2) == 1 and build_slots(0, 1, 1) == 1
    assert build_slots(5, 2, 16) == 5


FAKE_NINJA = """#!/bin/sh
[ "$1" = "-t" ] && { [ "$2" = "deps" ] && cat "$KH_FAKE_DEPS"; exit 0; }
echo "CPATH=$CPATH $*" >> "$KH_FAKE_LOG"
cat "$KH_FAKE_OUT"
exit "$KH_FAKE_RC"
"""


def _hooked(monkeypatch, tmp_path, ready: bool, rc: int = 0, out: str = "", deps: str = "main.o: #deps 1\n"):
    """The builder's hook with a fake ninja (exit status `rc`, output `out`, deps log `deps`)
    and a fake torch ninja run after it; returns its report, the fake's runs and torch's."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "ninja").write_text(FAKE_NINJA)
    (bin_dir / "ninja").chmod(0o755)
    for name, text in (("out", out), ("deps", deps), ("log", "")):
        (tmp_path / name).write_text(text)
        monkeypatch.setenv(f"KH_FAKE_{name.upper()}", str(tmp_path / name))
    monkeypatch.setenv("KH_FAKE_RC", str(rc))
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    monkeypatch.delenv("CPATH", raising=False)
    monkeypatch.setenv("MAX_JOBS", "1")
    (tmp_path / "main.cpp").write_text("#include <torch/extension.h>\n")
    (tmp_path / "main.o").write_text("")
    (tmp_path / "build.ninja").write_text(NINJA.format(src=tmp_path / "main.cpp"))
    torch_runs: list[str] = []

    def torchs(build_directory: str, verbose: bool, error_prefix: str) -> None:
        torch_runs.append(os.environ.get("CPATH", ""))

    monkeypatch.setattr(cpp_extension, "_run_ninja_build", torchs)
    offer = {"dir": str(tmp_path / "pch" / "k1"), "cxx": ["c++"], "flags": list(FLAGS), "ready": ready}
    other = {**offer, "dir": str(tmp_path / "pch" / "k2"), "flags": list(FLAGS[:-1])}
    report = pch.install([other, offer])
    cpp_extension._run_ninja_build(str(tmp_path), True, "Error building extension 'x'")
    return report, (tmp_path / "log").read_text().splitlines(), torch_runs


def test_the_pch_is_taken_by_the_cpp_objects_alone_then_torch_builds_the_rest(monkeypatch, tmp_path):
    report, runs, torch_runs = _hooked(monkeypatch, tmp_path, True)
    assert runs == [f"CPATH={tmp_path / 'pch' / 'k1'} -v -j 1 main.o"] and torch_runs == [""]
    assert report == {"used": ["k1"], "wanted": [], "broken": []}


def test_an_ordinary_compile_error_is_built_once(monkeypatch, tmp_path):
    with pytest.raises(RuntimeError, match="Error building extension 'x': main.cpp:3:12: error: 'output'"):
        _hooked(monkeypatch, tmp_path, True, 1, "main.cpp:3:12: error: 'output' was not declared\n")
    assert len((tmp_path / "log").read_text().splitlines()) == 1


def test_a_pch_error_builds_again_without_it(monkeypatch, tmp_path):
    report, runs, torch_runs = _hooked(monkeypatch, tmp_path, True, 1, "error: while reading precompiled header\n")
    assert len(runs) == 1 and torch_runs == [""]
    assert report == {"used": [], "wanted": [], "broken": ["k1"]}


def test_a_compile_that_read_the_header_copy_is_built_again_without_it(monkeypatch, tmp_path):
    report, _, torch_runs = _hooked(monkeypatch, tmp_path, True, deps=f"main.o:\n    {tmp_path}/pch/k1/torch/extension.h\n")
    assert report["broken"] == ["k1"] and torch_runs == [""] and not (tmp_path / "main.o").exists()


def test_a_compile_that_an_unmade_pch_would_serve_asks_for_it(monkeypatch, tmp_path):
    report, runs, torch_runs = _hooked(monkeypatch, tmp_path, False)
    assert runs == [] and torch_runs == [""]
    assert report == {"used": [], "wanted": ["k1"], "broken": []}


def test_the_runner_believes_the_jailed_report_only_about_its_own_offers(tmp_path):
    offer = pch.Offer(tmp_path / "k1", pch.Compile(("c++",), FLAGS))
    offer.gch.parent.mkdir(parents=True)
    offer.gch.write_text("")
    (offer.dir / "READY.json").write_text("{}")
    bogus = {"used": ["k1", "../etc"], "wanted": ["k1", 7], "broken": ["k1", "k9"]}
    assert pch.settle([offer], bogus, ok=False) == [] and offer.ready   # a failed build retires nothing
    assert (offer.dir / "WANTED").exists() and not (tmp_path / "k9").exists()
    assert pch.settle([offer], bogus, ok=True) == ["k1"]
    assert not offer.ready and (offer.dir / "BAD").exists() and not offer.gch.exists()
    assert pch.settle([offer], "nonsense", ok=True) == []


def test_only_the_jail_given_the_pch_folder_sees_it(tmp_path):
    plan = Plan("namespaces", bwrap="bwrap")
    folder = str(tmp_path / "cache" / "pch")
    with_pch, _ = Jail(plan, 16, 64, 256, 0, False, False, (folder,)).argv(["true"], tmp_path / "h")
    without, _ = Jail(plan, 16, 64, 256, 0, False, False).argv(["true"], tmp_path / "h")
    assert any(with_pch[i:i + 3] == ["--ro-bind", folder, folder] for i in range(len(with_pch)))
    assert folder not in without


# -- real compiles ------------------------------------------------------------------------------
def _variant(where: Path, example: str, tag: str) -> Path:
    """An example under a new hash (fresh per session, so a kept build cache cannot hit)."""
    path = where / f"{Path(example).stem}_{tag}.py"
    path.write_text((EXAMPLES / example).read_text() + f"\n# {tag} {uuid.uuid4().hex[:8]}\n")
    return path


def _deps(build_dir: Path) -> str:
    return subprocess.run(["ninja", "-t", "deps"], cwd=build_dir, capture_output=True, text=True,
                          check=True).stdout


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    """A fresh cache: a first build (a compile error) asks for the -O3 PCH, the runner makes it
    before the next build, which takes it in the jail."""
    where = tmp_path_factory.mktemp("pch")
    cfg = make_cfg(where / "cache")
    if isolate.plan_for(cfg).mode != "namespaces":
        pytest.skip("needs the sandbox")
    _, _, first = prepare(_variant(where, "compile_error_cpp.py", "first"), cfg, "cpu")
    sol = _variant(where, "relu_cpp.py", "second")
    _, _, second = prepare(sol, cfg, "cpu")
    return where, cfg, first, sol, second


@pytest.mark.slow
def test_the_runner_makes_the_pch_a_build_asked_for_and_the_jailed_build_takes_it(made, cpu):
    _, cfg, first, sol, b = made
    assert first is not None and first.outcome is Outcome.COMPILE_ERROR and first.pch == []
    assert b is not None and b.ok, b and b.message
    root = pch.root(Path(cfg.cache_dir).resolve())
    offer = next(o for o in pch.offers(root, tuple(cfg.build.pch), False) if b.pch == [o.dir.name])
    assert (offer.dir / "WANTED").exists() and offer.ready and offer.gch.stat().st_size > 1 << 20
    build_dir = next(b.ext_dir.glob("*/build.ninja")).parent
    # the PCH was made and probed for exactly the compile torch wrote for the solution...
    assert pch.parse_ninja((build_dir / "build.ninja").read_text()) == offer.compile
    # ...and taken: a compile that read the header copy instead would name the folder here
    deps = _deps(build_dir)
    assert "main.cpp" in deps and str(root) not in deps
    v = evaluate(SMALL, sol, cfg, cpu)
    assert v.outcome is Outcome.OK, v.message
    assert v.flags == [] and v.details["build"]["cached"]   # a hit: nothing compiled, no PCH
    assert v.details["sandbox"]["mode"] == "namespaces"


@pytest.mark.slow
def test_an_ordinary_compile_error_with_the_pch_is_reported_with_the_compilers_message(made, cpu):
    where, cfg, _, _, b = made
    assert b is not None and b.pch, "needs the PCH of the test above"
    v = evaluate(SMALL, _variant(where, "compile_error_cpp.py", "again"), cfg, cpu)
    assert v.outcome is Outcome.COMPILE_ERROR
    assert re.search(r"main\.cpp:\d+:\d+: error: .output. was not declared in this scope", v.message)
    assert "precompiled" not in v.message
    assert not (pch.root(Path(cfg.cache_dir).resolve()) / b.pch[0] / "BAD").exists()   # kept


@pytest.mark.slow
def test_without_the_sandbox_the_same_folder_is_used_directly(made):
    where, cfg, _, _, b = made
    assert b is not None and b.pch, "needs the PCH of the test above"
    off = make_cfg(Path(cfg.cache_dir), **{"sandbox.mode": "off"})
    _, _, b2 = prepare(_variant(where, "relu_cpp.py", "unjailed"), off, "cpu")
    assert b2 is not None and b2.ok, b2 and b2.message
    assert b2.pch == b.pch and "-jail" not in str(b2.ext_dir)


@pytest.mark.slow
def test_a_broken_pch_falls_back_to_the_plain_build(made, cpu, tmp_path):
    _, cfg, _, _, b = made
    assert b is not None and b.pch, "needs the PCH of the test above"
    good = pch.root(Path(cfg.cache_dir).resolve()) / b.pch[0]
    cache = tmp_path / "cache"
    broken = pch.root(cache.resolve()) / good.name        # same key: same compiler, headers, options
    (broken / "torch").mkdir(parents=True)
    shutil.copy(good / "READY.json", broken / "READY.json")
    shutil.copy(good / "torch" / "extension.h", broken / "torch" / "extension.h")
    with open(good / "torch" / "extension.h.gch", "rb") as f:   # a truncated PCH: GCC fails hard
        (broken / "torch" / "extension.h.gch").write_bytes(f.read(1 << 20))
    sol = _variant(tmp_path, "relu_cpp.py", "broken")
    cfg2 = make_cfg(cache)
    _, _, b2 = prepare(sol, cfg2, "cpu")
    assert b2 is not None and b2.ok, b2 and b2.message
    assert b2.pch == [] and (broken / "BAD").exists() and not (broken / "torch" / "extension.h.gch").exists()
    v = evaluate(SMALL, sol, cfg2, cpu)
    assert v.outcome is Outcome.OK, v.message
    assert v.flags == [] and v.details["build"]["pch"] == []
