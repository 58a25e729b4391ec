"""The verdict's own rules: caveats never void a win; old stores read right; expectations."""
from harness import selftest
from harness.verdict import (LAUNCH_BOUND, SPEEDUP_UNCERTAIN, TAMPERING, Outcome, Timing,
                             Verdict)


def _timing(speedup, ci):
    return Timing(1.0, 1.0 / speedup, 0.0, 0.0, (1.0, 1.0), (1.0, 1.0), 10, 10, speedup, ci,
                  "cold", "host")


def test_caveats_never_void_a_win_flags_do():
    v = Verdict("p.py", "s.py", Outcome.OK)
    v.caveat(LAUNCH_BOUND, "tiny")
    assert v.win and v.details[LAUNCH_BOUND] == "tiny"
    v.flag(TAMPERING, "patched the timer")
    assert not v.win


def test_a_flag_keeps_each_reason_once_whichever_trial_saw_it():
    v = Verdict("p.py", "s.py", Outcome.OK)
    for n in (1, 2, 3):
        v.flag(TAMPERING, f"trial {n}: the inputs the candidate saw differ")
    v.flag(TAMPERING, "read the interpreter's frames")
    assert v.flags == [TAMPERING]
    assert v.details[TAMPERING] == "trial 1: the inputs the candidate saw differ; read the interpreter's frames"


def test_old_launch_bound_flag_reads_as_a_caveat():
    d = Verdict("p.py", "s.py", Outcome.OK).to_dict()
    d["flags"] = [LAUNCH_BOUND]
    del d["caveats"]
    v = Verdict.from_dict(d)
    assert v.flags == [] and v.caveats == [LAUNCH_BOUND] and v.win


def test_speedup_uncertain_from_the_caveat_or_the_ci():
    v = Verdict("p.py", "s.py", Outcome.OK, timing=_timing(1.04, (0.97, 1.1)))
    assert v.speedup_uncertain and v.shown_caveats == [SPEEDUP_UNCERTAIN] and v.caveats == []
    v.timing = _timing(1.2, (1.1, 1.3))
    assert not v.speedup_uncertain and v.shown_caveats == []
    v.caveat(SPEEDUP_UNCERTAIN, "judged so")
    assert v.speedup_uncertain and v.shown_caveats == [SPEEDUP_UNCERTAIN]
    assert not Verdict("p.py", "s.py", Outcome.OK).speedup_uncertain       # not timed


def test_expectation_check():
    e = selftest.Expected("s.py", "p.py", "cpu", ("ok",), (TAMPERING,), False, "", (LAUNCH_BOUND,))
    v = Verdict("p.py", "s.py", Outcome.OK, flags=[TAMPERING], caveats=[LAUNCH_BOUND])
    assert selftest.check(v, e) == (True, "")
    v.caveats = []
    v.flags.append("input_mutated")
    ok, why = selftest.check(v, e)
    assert not ok and "unexpected flags input_mutated" in why and "missing caveats" in why
