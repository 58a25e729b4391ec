"""Every rule of the judge on canned observations: no processes, milliseconds each."""
from __future__ import annotations

import pytest

from harness import judge
from harness.protocol import Finished
from harness.verdict import (ALL_CAVEATS, ALL_FLAGS, Outcome, Timing, Verdict)

CLEAN = {"checksum": [1.5], "changed_after_return": False, "threads_after": 0, "children_after": 0,
         "input_mutated": False, "aliases_input": False, "not_plain": []}


def names(findings):
    return sorted({f.name for f in findings})


def test_clean_trial_finds_nothing():
    assert judge.trial(0, CLEAN, CLEAN) == []


@pytest.mark.parametrize("change, flag", [
    ({"checksum": [2.0]}, "tampering"),
    ({"changed_after_return": True}, "unsynced_work"),
    ({"threads_after": 1}, "unsynced_work"),
    ({"children_after": 1}, "unsynced_work"),
    ({"input_mutated": True}, "input_mutated"),
    ({"aliases_input": True}, "input_mutated"),
    ({"not_plain": ["LazyTensor"]}, "not_a_tensor"),
])
def test_each_trial_rule(change, flag):
    found = judge.trial(2, {**CLEAN, **change}, CLEAN)
    assert names(found) == [flag]
    assert "trial 3" in found[0].why


@pytest.mark.parametrize("key", ["threads_after", "children_after", "input_mutated", "aliases_input"])
def test_what_the_reference_does_too_is_not_held_against_the_candidate(key):
    both = {**CLEAN, key: 1 if key.endswith("after") else True}
    assert judge.trial(0, both, both) == []


def test_gpu_kernel_proof_matches_mangled_names_and_reports_share():
    found, details = judge.custom_kernel(
        {"relu_kernel"}, [("void relu_kernel<float>(float*, int)", 3.0), ("vectorized_copy", 1.0)],
        ext_calls=1, triton_launches=0, extensions=["ext"], on_gpu=True)
    assert found == [] and details["own_share"] == 0.75


def test_gpu_kernel_defined_but_not_launched():
    found, _ = judge.custom_kernel({"relu_kernel"}, [("at::native::relu_kernel_impl", 1.0)],
                                   ext_calls=3, triton_launches=0, extensions=["ext"], on_gpu=True)
    # "relu_kernel_impl" contains relu_kernel but not as a word: torch's kernel, not the solution's
    assert names(found) == ["no_custom_kernel"]


def test_cpu_proof_is_calls_into_the_own_extension_or_triton_launches():
    assert judge.custom_kernel(set(), [], 6, 0, ["e"], on_gpu=False)[0] == []
    assert judge.custom_kernel({"k"}, [], 0, 3, [], on_gpu=False)[0] == []   # Triton (interpreter)
    assert judge.custom_kernel({"k"}, [], 2, 3, ["e"], on_gpu=False)[0] == []   # mixed
    found, _ = judge.custom_kernel(set(), [], 0, 0, ["e"], on_gpu=False)
    assert names(found) == ["no_custom_kernel"] and "(e)" in found[0].why
    found, _ = judge.custom_kernel(set(), [], 0, 0, [], on_gpu=False)
    assert "none was loaded" in found[0].why


def test_finish_report():
    assert judge.finish(Finished()) == []
    found = judge.finish(Finished(("time.perf_counter",), ("write /etc/x",)))
    assert names(found) == ["sandbox_violation", "tampering"]
    found = judge.finish(Finished(), ["tcp 127.0.0.1:8765"])   # the worker died; its counters still tell
    assert names(found) == ["sandbox_violation"] and "127.0.0.1" in found[0].why


def _timing(**kw):
    base = dict(ref_median_ms=1.0, cand_median_ms=0.5, ref_iqr_ms=0.01, cand_iqr_ms=0.01,
                ref_ci_ms=(0.99, 1.01), cand_ci_ms=(0.49, 0.51), ref_calls=50, cand_calls=50,
                speedup=2.0, speedup_ci=(1.9, 2.1), cache="cold", clock="cuda_events", rounds=10,
                converged=True, overhead_ms=0.02, floor_ms=0.1)
    base.update(kw)
    return Timing(**base)


RULES = judge.TimingRules(unsynced_gap_ms=0.005, unsynced_ratio=0.5, tamper_slack=0.25,
                          tamper_jitter_ms=5.0, roofline_slack=0.8, launch_bound_factor=3.0,
                          warm_cache=False)


def _side(dev=1.0, wall=1.02, runner=100.0, reported=95.0, threads=False):
    return judge.SideTimes([dev] * 20, [wall] * 20, runner, reported, 9, threads)


def test_honest_timing_finds_nothing():
    assert judge.timing(_side(), _side(0.5, 0.52, 60.0, 55.0), _timing(), RULES) == []


def test_side_stream_work_is_unsynced():
    found = judge.timing(_side(), _side(dev=0.05, wall=0.6), _timing(cand_median_ms=0.05), RULES)
    assert "unsynced_work" in names(found)


def test_threads_growing_only_on_the_candidate_side():
    assert names(judge.timing(_side(), _side(0.5, 0.52, threads=True), _timing(), RULES)) == ["unsynced_work"]
    assert judge.timing(_side(threads=None), _side(0.5, 0.52, threads=True), _timing(), RULES) == []


def test_under_reported_times_are_tampering():
    found = judge.timing(_side(), _side(0.5, 0.52, runner=400.0, reported=50.0), _timing(), RULES)
    assert names(found) == ["tampering"]


def test_beyond_roofline_but_not_with_a_warm_cache():
    t = _timing(cand_median_ms=0.05, floor_ms=0.1, speedup=20.0, speedup_ci=(19.0, 21.0))
    assert names(judge.timing(_side(), _side(0.05, 0.052, 60, 55), t, RULES)) == ["beyond_roofline"]
    warm = judge.TimingRules(**{**RULES.__dict__, "warm_cache": True})
    assert judge.timing(_side(), _side(0.05, 0.052, 60, 55), t, warm) == []


def test_caveats_are_facts_about_the_measurement():
    t = _timing(ref_median_ms=0.05, overhead_ms=0.03, speedup=1.02, speedup_ci=(0.97, 1.08),
                converged=False)
    found = judge.timing_caveats(t, 3.0)
    assert names(found) == ["launch_bound", "not_converged", "speedup_uncertain"]
    assert not any(f.is_flag for f in found)


def test_a_caveated_pass_is_still_a_win_and_a_flagged_one_is_not():
    v = Verdict(problem="p", solution="s", outcome=Outcome.OK)
    v.note(judge.timing_caveats(_timing(ref_median_ms=0.05, overhead_ms=0.03), 3.0))
    assert v.caveats == ["launch_bound"] and v.flags == [] and v.win
    v.note(judge.finish(Finished(("time.time",))))
    assert v.flags == ["tampering"] and not v.win


def test_old_stores_read_launch_bound_as_a_caveat():
    v = Verdict(problem="p", solution="s", outcome=Outcome.OK)
    d = v.to_dict()
    d["flags"] = ["launch_bound"]
    d.pop("caveats")
    back = Verdict.from_dict(d)
    assert back.flags == [] and back.caveats == ["launch_bound"] and back.win


def test_flags_and_caveats_are_disjoint_and_every_name_is_known():
    assert not set(ALL_FLAGS) & set(ALL_CAVEATS)
    with pytest.raises(ValueError):
        judge.Finding("fast", "because")
