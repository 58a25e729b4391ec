"""Shared fixtures: real pipeline, real subprocesses, one build cache per test session."""
from __future__ import annotations

import os
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from harness.config import EvalCfg
from harness.device import resolve

ROOT = Path(__file__).resolve().parent.parent
SMALL = ROOT / "tests" / "problems" / "small_relu.py"
EXAMPLES = ROOT / "solutions" / "examples"
ADVERSARIAL = ROOT / "solutions" / "adversarial"


def pytest_collection_modifyitems(config, items):
    try:
        import torch
        has_cuda = torch.cuda.is_available()
    except Exception:
        has_cuda = False
    if not has_cuda:
        skip = pytest.mark.skip(reason="needs CUDA")
        for item in items:
            if "gpu" in item.keywords:
                item.add_marker(skip)


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory) -> Path:
    """Builds are the slow part (~20 s per C++ extension here): compile each solution once.
    KH_TEST_CACHE lets pytest-xdist workers share one folder (builds are locked per source)."""
    shared = os.environ.get("KH_TEST_CACHE")
    if not shared and os.environ.get("PYTEST_XDIST_WORKER"):
        shared = str(tmp_path_factory.getbasetemp().parent / "kh-cache")   # common to all workers
    if shared:
        Path(shared).mkdir(parents=True, exist_ok=True)
        return Path(shared)
    return tmp_path_factory.mktemp("cache")


def make_cfg(cache_dir: Path, device: str = "cpu", **overrides) -> EvalCfg:
    """Fast settings for small problems; every knob is the real one."""
    cfg = OmegaConf.structured(EvalCfg(device=device, cache_dir=str(cache_dir)))
    cfg.timing.budget_s = 1.5
    cfg.timing.min_calls = 5
    cfg.timing.warmup_s = 0.0
    cfg.limits.step_s = 60
    for key, value in overrides.items():
        OmegaConf.update(cfg, key, value, merge=False)
    return cfg


@pytest.fixture(scope="session")
def cpu():
    return resolve("cpu")
