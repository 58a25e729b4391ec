"""The store's case rows: each case names its own solution, also when it shares a verdict."""
from __future__ import annotations

from harness import export
from harness.store import CaseKey, Store
from harness.verdict import Outcome, Verdict


def test_twin_cases_keep_their_own_solution_path(tmp_path):
    v = Verdict(problem="p.py", solution="run/a.py", outcome=Outcome.OK, problem_hash="ph",
                solution_hash="sh", hardware="hw", config_hash="ch")
    v.caveat("launch_bound", "tiny")
    with Store(tmp_path / "r.db") as store:
        store.record(v, CaseKey("run", "p", "a"))
        store.record_case(CaseKey("run", "p", "b"), v, solution="run/b.py")
        rows = {c.sample: got for c, got in store.case_rows()}
        records = {r["sample"]: r for r in export.rows(store)}
    assert rows["a"].solution == "run/a.py" and "scored_as" not in rows["a"].details
    assert rows["b"].solution == "run/b.py" and rows["b"].details["scored_as"] == "run/a.py"
    assert records["b"]["solution"] == "run/b.py" and records["b"]["scored_as"] == "run/a.py"
    csv = export.to_csv(list(records.values()))
    assert "run/b.py,run/a.py" in csv and "launch_bound" in csv
