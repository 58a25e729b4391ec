"""The precompiled torch/extension.h: same verdicts through the real pipeline, and a broken one
never fails an honest build."""
from __future__ import annotations

import shutil
import uuid
from pathlib import Path

import pytest

from harness import pch
from harness.batch import build_slots
from harness.build import pch_root
from harness.case import evaluate, prepare
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


def test_reads_the_cpp_compile_of_a_build_ninja_without_the_extension_name(tmp_path):
    comp = pch.parse_ninja(NINJA.format(src=tmp_path / "main.cpp"))
    assert comp is not None and comp.cxx == ["c++"]
    assert comp.flags == ["-DTORCH_API_INCLUDE_EXTENSION_H", "-isystem", "/site/torch/include",
                          "-isystem", "/a b/py", "-fPIC", "-std=c++20", "-O3", "-DKEEP"]
    assert pch.parse_ninja("cxx = c++\nbuild cuda.o: cuda_compile x.cu\n") is None


def test_only_a_file_that_starts_with_the_header_asks_for_the_pch(tmp_path):
    (tmp_path / "main.cpp").write_text("\n// a comment\n#include <torch/extension.h>\nint f();\n")
    (tmp_path / "other.cpp").write_text("#define X 1\n#include <torch/extension.h>\n")
    assert pch.starts_with_header(tmp_path / "main.cpp")
    assert not pch.starts_with_header(tmp_path / "other.cpp")
    assert not pch.starts_with_header(tmp_path / "missing.cpp")
    assert pch.uses_header(NINJA.format(src=tmp_path / "main.cpp"), tmp_path)
    assert not pch.uses_header(NINJA.format(src=tmp_path / "other.cpp"), tmp_path)


def test_key_follows_compiler_headers_and_options():
    base = pch.pch_key("gcc 12", "torch 2.13", ["-O3"])
    assert base == pch.pch_key("gcc 12", "torch 2.13", ["-O3"])
    assert len({base, pch.pch_key("gcc 13", "torch 2.13", ["-O3"]),
                pch.pch_key("gcc 12", "torch 2.14", ["-O3"]),
                pch.pch_key("gcc 12", "torch 2.13", ["-O2"])}) == 4


def test_only_an_unreadable_pch_makes_a_build_go_again_without_it():
    assert pch.about_pch("main.cpp:1:29: error: while reading precompiled header: No such file")
    # an ordinary error's notes name the PCH folder as where torch's headers came from
    assert not pch.about_pch("In file included from /c/pch/ab12/torch/extension.h:6:\n"
                             "main.cpp:11:12: error: 'output' was not declared in this scope")


def test_builds_at_once_fill_the_cores_without_oversubscribing_them():
    assert build_slots(0, 1, 16) == 15
    assert build_slots(0, 2, 16) == 7
    assert build_slots(0, 2, 2) == 1 and build_slots(0, 1, 1) == 1
    assert build_slots(5, 2, 16) == 5


def _variant(tmp_path: Path, tag: str) -> Path:
    """relu_cpp.py under a new hash: a fresh build of the same C++."""
    path = tmp_path / f"relu_cpp_{tag}.py"
    path.write_text((EXAMPLES / "relu_cpp.py").read_text() + f"\n# {tag}\n")
    return path


@pytest.fixture(scope="module")
def built_with_pch(cache_dir, tmp_path_factory):
    # a new hash every session: a build cache kept between runs (KH_TEST_CACHE) must not hit
    sol = _variant(tmp_path_factory.mktemp("pch"), f"pch-ok-{uuid.uuid4().hex[:8]}")
    cfg = make_cfg(cache_dir)
    _, _, b = prepare(sol, cfg, "cpu")
    return sol, cfg, b


def test_honest_example_builds_with_the_pch_and_scores_ok(built_with_pch, cpu):
    sol, cfg, b = built_with_pch
    assert b is not None and b.ok, b and b.message
    assert not b.cached and len(b.pch) == 1
    folder = pch_root(Path(cfg.cache_dir)) / b.pch[0]
    assert pch.ready(folder) and (folder / "torch" / "extension.h.gch").exists()
    obj = next(b.ext_dir.glob("*/main.o"))
    built_at = obj.stat().st_mtime_ns
    v = evaluate(SMALL, sol, cfg, cpu)
    assert v.outcome is Outcome.OK, v.message
    assert v.flags == [] and v.details["kernels"]["extension_calls"] >= 6
    assert obj.stat().st_mtime_ns == built_at    # the candidate's ninja found nothing to do


def test_broken_pch_falls_back_to_the_plain_build(built_with_pch, cpu, tmp_path):
    _, cfg, b = built_with_pch
    assert b is not None and b.pch, "needs the PCH of the test above"
    good = pch_root(Path(cfg.cache_dir)) / b.pch[0]
    cache = tmp_path / "cache"
    broken = pch_root(cache) / good.name          # same key: same compiler, headers, options
    (broken / "torch").mkdir(parents=True)
    shutil.copy(good / "READY.json", broken / "READY.json")
    shutil.copy(good / "torch" / "extension.h", broken / "torch" / "extension.h")
    with open(good / "torch" / "extension.h.gch", "rb") as f:   # a truncated PCH: GCC fails hard
        (broken / "torch" / "extension.h.gch").write_bytes(f.read(1 << 20))
    sol = _variant(tmp_path, "pch-broken")
    cfg2 = make_cfg(cache)
    _, _, b2 = prepare(sol, cfg2, "cpu")
    assert b2 is not None and b2.ok, b2 and b2.message
    assert b2.pch == [] and not pch.ready(broken) and (broken / "BAD").exists()
    v = evaluate(SMALL, sol, cfg2, cpu)
    assert v.outcome is Outcome.OK, v.message
    assert v.flags == []
