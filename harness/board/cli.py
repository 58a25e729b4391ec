"""``python -m harness.board store=results.db [format=github] [out=FILE] [html=board.html]``"""
from __future__ import annotations

import sqlite3
import sys
from pathlib import Path

import hydra

from ..config import BoardCfg, register
from ..errors import UserError, entry
from ..store import Store, StoreError
from .metrics import Pair, compute
from .page import render_page
from .tables import hw_name, render

register()
CONF = Path(__file__).resolve().parents[2] / "conf"   # absolute: Hydra resolves a relative path
                                                      # against the package when not __main__


def load_cases(path: str | Path) -> list[Pair]:
    """Every case of a results store; a file that is not one is a user mistake."""
    if not Path(path).is_file():
        raise UserError(f"{path}: no such results store")
    try:
        with Store(path) as store:
            return list(store.case_rows())
    except sqlite3.Error as e:
        raise StoreError(f"{path}: cannot read results store ({e})") from None


def _write(path: str, text: str) -> None:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(text)
    print(f"board: wrote {path}", file=sys.stderr)


def run(cfg: BoardCfg) -> int:
    """Do what the CLI does; 0 when done, a UserError for a store that is not one."""
    store = str(cfg.store)
    cases = load_cases(store)
    filters = {"hardware": cfg.hardware, "label": cfg.label}
    if not cases:
        print(f"no results in {store}")
        return 0
    board = compute(cases, list(cfg.p_values), int(cfg.bootstrap), cfg.hardware, cfg.label)
    if not board.runs:
        filt = " ".join(f"{k}={v}" for k, v in filters.items() if v is not None)
        print(f"no results in {store} for {filt}")
        return 0
    title = f"kernel-harness board: {store} (hardware: " + \
        ", ".join(hw_name(h) for h in board.hardware) + ")"
    text = render(board, cfg.format, title=title)
    if cfg.out:
        _write(cfg.out, text)
    else:
        sys.stdout.write(text)
    if cfg.html:
        _write(cfg.html, render_page(board, store=store, filters=filters))
    return 0


@hydra.main(version_base=None, config_path=str(CONF), config_name="board")
@entry
def main(cfg: BoardCfg) -> int:
    return run(cfg)
