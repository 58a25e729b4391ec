"""python -m harness.export STORE [--format jsonl|csv] [--out FILE]: one row per case."""
from __future__ import annotations

import argparse
import csv
import io
import json
import sys
from pathlib import Path

from .errors import UserError, entry
from .store import Store

CSV_FIELDS = ("label", "problem_id", "sample", "level", "problem", "solution", "scored_as",
              "outcome", "flags", "caveats",
              "speedup", "speedup_ci_low", "speedup_ci_high", "ref_ms", "cand_ms", "hardware",
              "config_hash", "message")


def rows(store: Store) -> list[dict]:
    out = []
    for case, v in store.case_rows():
        d = v.to_dict()
        d.update(label=case.label, problem_id=case.problem_id, sample=case.sample, level=case.level,
                 scored_as=v.details.get("scored_as"))
        out.append(d)
    return out


def to_csv(records: list[dict]) -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, CSV_FIELDS)
    w.writeheader()
    for d in records:
        t = d.get("timing") or {}
        ci = t.get("speedup_ci") or (None, None)
        w.writerow({**{k: d.get(k) for k in CSV_FIELDS}, "flags": ";".join(d["flags"]),
                    "caveats": ";".join(d.get("caveats", [])),
                    "speedup_ci_low": ci[0], "speedup_ci_high": ci[1],
                    "ref_ms": t.get("ref_median_ms"), "cand_ms": t.get("cand_median_ms"),
                    "message": (d.get("message") or "").splitlines()[0] if d.get("message") else ""})
    return buf.getvalue()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m harness.export", description=__doc__)
    ap.add_argument("store")
    ap.add_argument("--format", choices=("jsonl", "csv"), default="jsonl")
    ap.add_argument("--out")
    args = ap.parse_args(argv)
    if not Path(args.store).is_file():
        raise UserError(f"{args.store}: no such store file")
    with Store(args.store) as store:
        records = rows(store)
    text = to_csv(records) if args.format == "csv" else \
        "".join(json.dumps(r, sort_keys=True, default=str) + "\n" for r in records)
    if args.out:
        Path(args.out).write_text(text)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    entry(main)()
