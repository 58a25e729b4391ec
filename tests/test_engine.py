"""The engine's queue of built cases: an evaluator keeps to the problem it has just scored."""
from __future__ import annotations

from pathlib import Path

from harness.config import EngineCfg
from harness.engine import Built, Task


def _item(name: str, problem: str):
    return Task(name, Path(problem), Path(f"{name}.py"), EngineCfg()), None


def test_an_evaluator_takes_its_last_problems_cases_first_and_the_end_last():
    q = Built()
    for name, prob in [("a", "p"), ("b", "q"), ("c", "p"), ("d", "q")]:
        q.put(_item(name, prob))
    q.put(None)
    took = []
    last = None
    while (item := q.get(last)) is not None:
        took.append(item[0].key)
        last = item[0].problem
    assert took == ["a", "c", "b", "d"]
    assert q.get(None) is None and q.get(Path("p")) is None   # the end stays for every evaluator


def test_a_problem_that_keeps_coming_does_not_starve_the_others():
    q = Built()
    q.put(_item("other", "q"))
    for i in range(Built.streak + 3):
        q.put(_item(f"p{i}", "p"))
    took, last, run = [], Path("p"), 1
    for _ in range(Built.streak + 1):
        item = q.get(last, run)
        took.append(item[0].key)
        run = run + 1 if item[0].problem == last else 1
        last = item[0].problem
    assert took.index("other") == Built.streak - 1   # after the run of p reached the streak
