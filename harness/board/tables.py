"""The board as text: terminal, github, latex and html tables through tabulate, csv via csv."""
from __future__ import annotations

import csv
import html as _html
import io
import textwrap
from typing import Any, Optional, Union

from tabulate import tabulate

from ..config import BoardFormat
from .metrics import Board, Row, TagRow, about_one

MARK = "*"                           # on a geomean: a best win behind it carries a caveat
Table = tuple[list[str], list[list[Any]], tuple[str, ...]]


def p_name(p: float) -> str:
    return f"fast_{p:g}"


def pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def times(x: Optional[float], ci: Optional[tuple[float, float]] = None) -> str:
    """A speedup: "-" when there is none, "~1x" when its CI contains 1, else "1.85x"."""
    if x is None:
        return "-"
    return "~1x" if about_one(ci) else f"{x:.2f}x"


def geomean_text(r: Row) -> str:
    return times(r.geomean, r.ci) + (MARK if r.marked and r.geomean is not None else "")


def ci_text(ci: Optional[tuple[float, float]]) -> str:
    return "-" if ci is None else f"{ci[0]:.2f}-{ci[1]:.2f}"


def hw_name(hw: str) -> str:
    return hw or "unknown"


def main_table(board: Board) -> Table:
    """Headers, display rows and column alignment of the main table."""
    hw = board.multi_hardware
    headers = ["label"] + (["hardware"] if hw else []) + \
        ["level", "problems", "samples", "k", "compiled", "correct"] + \
        [p_name(p) for p in board.p_values] + ["geomean", "95% CI", "flagged", "caveated"]
    rows = []
    for r in board.rows:
        rows.append([r.label] + ([hw_name(r.hardware)] if hw else []) +
                    [r.level, r.problems, r.samples, r.k, pct(r.compiled), pct(r.correct)] +
                    [pct(r.fast[p]) for p in board.p_values] +
                    [geomean_text(r), ci_text(r.ci), r.flagged, r.caveated])
    align = ("left",) * (2 + hw) + ("right",) * (len(headers) - 2 - hw)
    return headers, rows, align


def _tag_table(board: Board, tags: list[TagRow], kind: str, last: str) -> Table:
    hw = board.multi_hardware
    headers = ["label"] + (["hardware"] if hw else []) + [kind, "cases", "of samples", last]
    rows = [[f.label] + ([hw_name(f.hardware)] if hw else []) +
            [f.name, f.cases, pct(f.share), f.passed if last == "passed" else f.wins]
            for f in tags]
    align = ("left",) * (2 + hw) + ("right",) * 3
    return headers, rows, align


def flag_table(board: Board) -> Table:
    """Per run and flag: flagged cases, their share, and how many passed (and do not count)."""
    return _tag_table(board, board.flag_rows, "flag", "passed")


def caveat_table(board: Board) -> Table:
    """Per run and caveat: cases carrying it, their share, and how many count as wins."""
    return _tag_table(board, board.caveat_rows, "caveat", "wins")


def csv_table(board: Board) -> tuple[list[str], list[list[Any]]]:
    """One machine-readable table: raw shares (0-1), raw geomean (no ~1x), CI bounds apart,
    a column per flag and per caveat seen."""
    flags = sorted({f for r in board.rows for f in r.flags})
    caveats = sorted({c for r in board.rows for c in r.caveats})
    headers = ["label", "hardware", "level", "problems", "samples", "k", "compiled", "correct"] + \
        [p_name(p) for p in board.p_values] + \
        ["geomean", "ci_low", "ci_high", "timed", "flagged", "caveated"] + \
        [f"flag_{f}" for f in flags] + [f"caveat_{c}" for c in caveats]
    rows = []
    for r in board.rows:
        rows.append([r.label, r.hardware, r.level, r.problems, r.samples, r.k, r.compiled,
                     r.correct] + [r.fast[p] for p in board.p_values] +
                    ["" if r.geomean is None else r.geomean,
                     "" if r.ci is None else r.ci[0], "" if r.ci is None else r.ci[1],
                     r.timed, r.flagged, r.caveated] + [r.flags.get(f, 0) for f in flags] +
                    [r.caveats.get(c, 0) for c in caveats])
    return headers, rows


NOTES = ("compiled, correct: share of samples. fast_p: share of problems with a correct, "
         "unflagged sample more than p times faster than the reference (best of k; fast_0: any "
         "such sample). geomean: per-problem best speedup over problems with a timed win, 95% "
         "bootstrap CI; ~1x: the CI contains 1. A flagged case never counts as a win. A caveated "
         f"win counts; {MARK} on a geomean: a best win behind it carries a caveat. A case whose "
         "speedup CI contains 1 counts as at most 1x.")

TABULATE = {BoardFormat.terminal: "simple", BoardFormat.github: "github",
            BoardFormat.latex: "latex_booktabs", BoardFormat.html: "html"}
FLAG_TITLE = "Flagged cases (never counted as wins)"
CAVEAT_TITLE = "Caveated cases (wins count; read their numbers with the caveat)"


def render(board: Board, fmt: Union[BoardFormat, str] = BoardFormat.terminal,
           title: str = "") -> str:
    """The tables as text: terminal | github | latex | html through tabulate, csv via csv."""
    fmt = BoardFormat(fmt)           # ValueError for a format that is not one
    if fmt is BoardFormat.csv:
        headers, rows = csv_table(board)
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(headers)
        w.writerows(rows)
        return buf.getvalue()

    tf = TABULATE[fmt]

    def tab(t: Table) -> str:
        h, rows, align = t
        return tabulate(rows, headers=h, tablefmt=tf, colalign=align, disable_numparse=True) \
            if rows else ""

    main, flags, caveats = tab(main_table(board)), tab(flag_table(board)), tab(caveat_table(board))
    parts: list[str]
    if fmt is BoardFormat.terminal:
        parts = ([title, ""] if title else []) + [main, "", textwrap.fill(NOTES, 100), ""]
        parts += [FLAG_TITLE + ":", flags] if flags else ["No flagged cases."]
        parts += ["", CAVEAT_TITLE + ":", caveats] if caveats else []
    elif fmt is BoardFormat.github:
        parts = ([f"### {title}", ""] if title else []) + [main, "", f"_{NOTES}_", ""]
        parts += [f"**{FLAG_TITLE}**", "", flags] if flags else ["No flagged cases."]
        parts += ["", f"**{CAVEAT_TITLE}**", "", caveats] if caveats else []
    elif fmt is BoardFormat.latex:
        parts = ([f"% {title}"] if title else []) + [f"% {NOTES}", main]
        parts += ["", f"% {FLAG_TITLE}", flags] if flags else []
        parts += ["", f"% {CAVEAT_TITLE}", caveats] if caveats else []
    else:  # html fragment
        parts = ([f"<h3>{_html.escape(title)}</h3>"] if title else []) + \
            [main, f"<p>{_html.escape(NOTES)}</p>"]
        parts += [f"<h4>{FLAG_TITLE}</h4>", flags] if flags else ["<p>No flagged cases.</p>"]
        parts += [f"<h4>{_html.escape(CAVEAT_TITLE)}</h4>", caveats] if caveats else []
    return "\n".join(parts).rstrip("\n") + "\n"
