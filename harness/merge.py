"""python -m harness.merge OUT.db IN.db [IN.db ...]: combine shard stores into one.

Rows are keyed, so merging twice, or merging overlapping shards, adds nothing twice.
"""
from __future__ import annotations

import argparse
import sqlite3
import sys
from pathlib import Path

from .errors import UserError, entry
from .store import Store, StoreError


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m harness.merge", description=__doc__)
    ap.add_argument("out")
    ap.add_argument("inputs", nargs="+")
    args = ap.parse_args(argv)
    missing = [p for p in args.inputs if not Path(p).is_file()]
    if missing:
        raise UserError(f"{missing[0]}: no such store file")
    with Store(args.out) as out:
        for p in args.inputs:
            try:
                added = out.merge_from(p)
            except sqlite3.DatabaseError as e:
                raise StoreError(f"{p}: not a results store ({e})") from None
            print(f"{p}: {added} new verdict(s)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    entry(main)()
