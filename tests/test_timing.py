"""Timing statistics, the side-by-side schedule, and the timing options on CPU."""
from __future__ import annotations

import random

import numpy as np
import pytest

from harness.case import evaluate
from harness.protocol import Timed
import torch

from harness.timing import Poison, Schedule, interleave, median, median_ci, ratio_ci, rel_ci_width

from conftest import EXAMPLES, SMALL, make_cfg


def test_median_ci_covers_the_true_median_about_95_percent():
    rng = np.random.default_rng(0)
    hits = 0
    for _ in range(400):
        xs = rng.lognormal(0.0, 0.5, size=41)
        lo, hi = median_ci(xs)
        hits += lo <= 1.0 <= hi          # the lognormal's median is exp(0) = 1
    assert 0.90 <= hits / 400 <= 0.995


def test_ratio_ci_brackets_the_ratio_and_narrows_with_samples():
    rng = np.random.default_rng(1)
    a, b = rng.normal(2.0, 0.1, 200), rng.normal(1.0, 0.05, 200)
    lo, hi = ratio_ci(a.reshape(40, 5), b.reshape(40, 5))
    assert lo < median(a) / median(b) < hi and 1.9 < lo and hi < 2.1
    lo2, hi2 = ratio_ci(a[:20].reshape(4, 5), b[:20].reshape(4, 5))
    assert hi2 - lo2 > hi - lo


def test_ratio_ci_drawn_by_rounds_covers_what_rounds_share():
    """Calls within a round share its moment (clocks, host load): with a 2% effect per round
    and 0.5% per call, a CI over single calls misses a true 1.00 most of the time; one drawn a
    round at a time keeps its 95%."""
    rng = np.random.default_rng(2)
    by_round = by_call = 0
    n = 150
    for _ in range(n):
        sides = [(1 + rng.normal(0, 0.02, (10, 1))) * (1 + rng.normal(0, 0.005, (10, 5)))
                 for _ in range(2)]
        lo, hi = ratio_ci(sides[0], sides[1], n_boot=400)
        by_round += lo <= 1.0 <= hi
        lo, hi = ratio_ci(sides[0].reshape(-1, 1), sides[1].reshape(-1, 1), n_boot=400)
        by_call += lo <= 1.0 <= hi
    assert by_round / n >= 0.85 and by_call / n <= 0.75, (by_round, by_call)


def test_ratio_ci_keeps_its_coverage_over_three_rounds():
    """A steady kernel stops after three rounds of five calls: too few rounds to draw from
    alone, so the interval is never narrower than one drawn call by call."""
    rng = np.random.default_rng(3)
    n = 200
    hits = sum(lo <= 1.0 <= hi for lo, hi in (
        ratio_ci(1 + rng.normal(0, 0.01, (3, 5)), 1 + rng.normal(0, 0.01, (3, 5)), n_boot=400)
        for _ in range(n)))
    assert hits / n >= 0.9, hits


def test_ratio_ci_takes_rounds_of_different_lengths():
    lo, hi = ratio_ci([[1.0, 1.1, 0.9], [1.0]], [[0.5, 0.55], [0.5, 0.45, 0.5]])
    assert 1.5 <= lo <= hi <= 2.5


def test_poison_hides_fresh_places_of_floating_inputs_and_shows_them_back_exactly():
    x, y = torch.randn(64, 64), torch.randn(1000).to(torch.bfloat16)
    strided, w, z = torch.randn(40, 30).t(), torch.randn(20, 20), torch.randn(50, dtype=torch.complex64)
    idx, expanded = torch.arange(10), torch.randn(1, 8).expand(8, 8)   # integers, one element at many places
    inputs = [x, y, strided, w, z, idx, expanded, torch.empty(0)]   # every tensor, as the worker's _tensors gives them
    floating = [x, y, strided, w, z]
    before = [t.clone() for t in floating + [idx, expanded]]
    p = Poison(inputs, 100)
    hidden = []
    for _ in range(3):
        p.hide()
        for t in floating:
            assert 1 <= int(t.isnan().sum()) <= 100, t.shape
        hidden.append(x.isnan().nonzero().flatten().tolist())
        assert torch.equal(idx, before[5]) and torch.equal(expanded, before[6])
        p.show()
        for t, b in zip(floating + [idx, expanded], before):
            assert torch.equal(t, b)   # bit for bit, NaN nowhere
    assert hidden[0] != hidden[1] != hidden[2]   # fresh places on every call
    assert Poison(inputs, 0).tensors == []


def test_poison_follows_an_input_whose_storage_was_swapped():
    x = torch.randn(100)
    p = Poison([x], 30)
    x.set_(torch.randn(100))   # what a forward could do to keep the poison out of what it reads
    kept = x.clone()
    p.hide()
    assert x.isnan().any()
    p.show()
    assert torch.equal(x, kept)


def test_poison_gives_back_inputs_that_share_storage():
    x = torch.randn(50)
    before = x.clone()
    p = Poison([x, x, x[:10]], 40)   # the same storage three times, hidden one after another
    p.hide()
    assert x.isnan().any()
    p.show()
    assert torch.equal(x, before)


def _fake_round(times: dict[str, float], noise: float, log: list):
    rng = random.Random(0)

    def round_(who, n, checks, warmup):
        log.append((who, len(checks)))
        ms = [times[who] * (1 + rng.uniform(-noise, noise)) for _ in range(n)]
        return Timed(tuple(ms), tuple(ms), False, (None,) * len(checks)), sum(ms)
    return round_


def test_interleave_alternates_and_stops_when_tight():
    log: list = []
    sched = Schedule(round_calls=5, min_calls=10, max_calls=10_000, rel_ci=0.01, budget_s=30,
                     timed_checks=2)
    sides, rounds, converged = interleave(_fake_round({"ref": 2.0, "cand": 1.0}, 0.01, log),
                                          sched, lambda: 1)
    assert converged and rounds <= 6
    assert [w for w, _ in log[:4]] == ["ref", "cand", "cand", "ref"]   # order reverses each round
    assert log[0][1] == 1 and log[-1][1] == 1 and sum(c for _, c in log) == 4  # first + final rounds
    assert rel_ci_width(sides["cand"].device_ms) <= 0.01


def test_interleave_stops_at_the_budget_when_noisy():
    log: list = []
    sched = Schedule(5, 10, 60, 0.0001, 30, 2)
    sides, rounds, converged = interleave(_fake_round({"ref": 1.0, "cand": 1.0}, 0.5, log), sched,
                                          lambda: 1)
    assert not converged and len(sides["cand"].device_ms) <= 65


@pytest.mark.slow
def test_compile_baseline_is_a_third_side(cache_dir, cpu):
    cfg = make_cfg(cache_dir, **{"timing.compile_baseline": True, "check.trials": 2})
    v = evaluate(SMALL, EXAMPLES / "relu_cpp.py", cfg, cpu)
    assert v.outcome.value == "ok", v.message
    t = v.timing
    assert t.compile_median_ms and t.speedup_vs_compile == pytest.approx(
        t.compile_median_ms / t.cand_median_ms)


@pytest.mark.slow
@pytest.mark.parametrize("cache", ["warm", "rotate"])
def test_cache_modes_are_reported(cache, cache_dir, cpu):
    v = evaluate(SMALL, EXAMPLES / "relu_cpp.py", make_cfg(cache_dir, **{"timing.cache": cache}), cpu)
    assert v.timing.cache == cache and v.outcome.value == "ok"


@pytest.mark.slow
def test_cached_baseline_times_the_reference_once(cache_dir, cpu, tmp_path):
    db = str(tmp_path / "r.db")
    cfg = make_cfg(cache_dir, **{"timing.cached_baseline": True, "check.trials": 2})
    first = evaluate(SMALL, EXAMPLES / "relu_cpp.py", cfg, cpu, store_path=db)
    second = evaluate(SMALL, EXAMPLES / "relu_reply.md", cfg, cpu, store_path=db)
    assert first.details["baseline"] == "side by side"
    assert second.details["baseline"] == "cached", second.message
    assert second.timing.ref_median_ms == first.timing.ref_median_ms
    assert second.outcome.value == "ok"
    wrong = evaluate(SMALL, EXAMPLES / "wrong_cpp.py", cfg, cpu, store_path=db)
    assert wrong.outcome.value == "incorrect"
