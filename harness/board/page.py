"""The board as one self-contained HTML page: headline cards, the tables, per-run charts.

The stylesheet is package data (``board.css`` beside this file), inlined into the page so that
the file opens anywhere without a network.
"""
from __future__ import annotations

import datetime as _dt
from importlib import resources
from typing import Any, Optional

from ..verdict import CAVEAT_DOCS, FLAG_DOCS
from .metrics import ALL, Board, Row, Run, TagRow, about_one, fast_curve, fast_p, rank_p
from .svg import (DASHES, PALETTE, esc, line_sample, log2_range, shades, svg_fast_curves,
                  svg_histogram)
from .tables import ci_text, hw_name, p_name, pct

MARK_TITLE = "a best win behind this number carries a caveat: see the caveat table"

DEFINITIONS = [
    ("problems", "distinct problems in the group; <b>samples</b>: solutions scored; "
                 "<b>k</b>: the most samples one problem has (best-of-k)."),
    ("compiled", "share of samples whose code loaded and built (outcome not no_code, "
                 "load_error or compile_error)."),
    ("correct", "share of samples that ran and matched the reference (flags not considered)."),
    ("fast_p", "share of problems with at least one correct, <b>unflagged</b> sample more than "
               "p&times; faster than the reference; fast_0: any correct, unflagged sample. "
               "One qualifying sample of k is enough. A speedup whose 95% CI contains 1 counts "
               "as at most 1&times;."),
    ("geomean", "geometric mean over problems of the best correct, unflagged sample's speedup "
                "(problems without one are left out: read it with fast_0); 95% percentile "
                "bootstrap CI over problems, fixed seed. <b>~1&times;</b>: the CI contains 1; "
                "<b>*</b>: a best win behind it carries a caveat."),
    ("flagged", "samples with at least one flag. A flagged case never counts as a win."),
    ("caveated", "wins carrying a caveat: a fact about the problem or the measurement "
                 "(launch-bound, speedup CI contains 1, timing not converged). They count as "
                 "wins; read their numbers with the caveat."),
]


def _n(count: int, noun: str) -> str:
    return f"{count} {noun}" + ("" if count == 1 else "s")


def _geomean_html(r: Row) -> str:
    if r.geomean is None:
        return "&ndash;"
    text = "~1&times;" if about_one(r.ci) else f"{r.geomean:.2f}&times;"
    return text + (f'<sup class="mark" title="{MARK_TITLE}">*</sup>' if r.marked else "")


def _pct_cell(x: float, colour: str) -> str:
    w = max(0.0, min(1.0, x)) * 100
    style = (f"background-image:linear-gradient({colour},{colour});"
             f"background-size:calc({w:.1f}% - {w * 0.2:.1f}px) 3px") if w > 0 else ""
    return f'<td class="pc" style="{style}">{pct(x)}</td>'


def _page_table(board: Board, colours: dict[tuple[str, str], str]) -> str:
    hw = board.multi_hardware
    head = ['<th class="l">run</th>'] + (['<th class="l">hardware</th>'] if hw else []) + \
        ['<th class="l">level</th>', "<th>problems</th>", "<th>samples</th>", "<th>k</th>",
         "<th>compiled</th>", "<th>correct</th>"] + \
        [f"<th>{esc(p_name(p))}</th>" for p in board.p_values] + \
        ["<th>geomean</th>", "<th>95% CI</th>", "<th>flagged</th>", "<th>caveated</th>"]
    body = []
    for run in board.runs:
        colour = colours[(run.label, run.hardware)]
        for i, r in enumerate(run.rows):
            cells = []
            if i == 0:
                cells.append(f'<td class="l run" rowspan="{len(run.rows)}"><span class="swatch" '
                             f'style="background:{colour}"></span> {esc(r.label)}</td>')
                if hw:
                    cells.append(f'<td class="l run" rowspan="{len(run.rows)}">'
                                 f'{esc(hw_name(r.hardware))}</td>')
            cells += [f'<td class="l">{"all levels" if r.level == ALL else esc(r.level)}</td>',
                      f"<td>{r.problems}</td>", f"<td>{r.samples}</td>", f"<td>{r.k}</td>",
                      _pct_cell(r.compiled, "#c5cad3"), _pct_cell(r.correct, "#9fb8d6")]
            cells += [_pct_cell(r.fast[p], "#86c79b") for p in board.p_values]
            ci_title = f' title="{r.timed} problems with a timed win"'
            cells += [f"<td{ci_title}>{_geomean_html(r)}</td>",
                      f'<td class="dim"{ci_title}>{ci_text(r.ci)}</td>',
                      f'<td class="{"warn" if r.flagged else "dim"}">{r.flagged}</td>',
                      f'<td class="{"note" if r.caveated else "dim"}">{r.caveated}</td>']
            cls = ' class="total"' if r.level == ALL else ""
            body.append(f"<tr{cls}>{''.join(cells)}</tr>")
    return (f'<div class="panel"><table class="board"><thead><tr>{"".join(head)}</tr></thead>'
            f'<tbody>{"".join(body)}</tbody></table></div>')


def _page_tags(board: Board, tags: list[TagRow], kind: str, docs: dict[str, str],
               last: tuple[str, str], none: str) -> str:
    """The flag table or the caveat table: per run and name, counts and what it means."""
    if not tags:
        return f'<p class="notes">{none}</p>'
    hw = board.multi_hardware
    head = ['<th class="l">run</th>'] + (['<th class="l">hardware</th>'] if hw else []) + \
        [f'<th class="l">{kind}</th>', "<th>cases</th>", "<th>of samples</th>",
         f'<th title="{last[1]}">{last[0]}</th>', '<th class="l">meaning</th>']
    body = []
    for f in tags:
        cells = [f'<td class="l">{esc(f.label)}</td>'] + \
            ([f'<td class="l">{esc(hw_name(f.hardware))}</td>'] if hw else []) + \
            [f'<td class="l"><code>{esc(f.name)}</code></td>', f"<td>{f.cases}</td>",
             f"<td>{pct(f.share)}</td>", f"<td>{f.passed if kind == 'flag' else f.wins}</td>",
             f'<td class="doc">{esc(docs.get(f.name, ""))}</td>']
        body.append(f"<tr>{''.join(cells)}</tr>")
    return (f'<div class="panel"><table class="board flags"><thead><tr>{"".join(head)}</tr>'
            f'</thead><tbody>{"".join(body)}</tbody></table></div>')


def _card(i: int, run: Run, name: str, colour: str, rp: float) -> str:
    t = run.total
    kv = [("correct", pct(t.correct)), (p_name(0.0), pct(fast_p(t.best, t.problems, 0.0))),
          ("geomean", "-" if t.geomean is None else
           ("~1\u00d7" if about_one(t.ci) else f"{t.geomean:.2f}\u00d7") + ("*" if t.marked else "")),
          ("problems", f"{t.problems} \u00b7 k={t.k}")]
    if t.flagged:
        kv.append(("flagged", str(t.flagged)))
    if t.caveated:
        kv.append(("caveated wins", str(t.caveated)))
    return (f'<div class="card"><div class="top"><span class="rank">#{i + 1}</span>'
            f'<span class="swatch" style="background:{colour}"></span><h3>{esc(name)}</h3></div>'
            f'<div class="big">{pct(fast_p(t.best, t.problems, rp))}<small>{esc(p_name(rp))}'
            f'</small></div><div class="kv">'
            + "".join(f"<span>{esc(k)}</span><span>{esc(v)}</span>" for k, v in kv)
            + "</div></div>")


def _per_run(run: Run, name: str, colour: str, board: Board, octaves: tuple[int, int]) -> str:
    levels = run.rows[:-1]
    tints = shades(colour, len(levels))
    series = [(f"level {r.level}", tints[j], fast_curve(r.best, r.problems), 1.4,
               DASHES[j % len(DASHES)]) for j, r in enumerate(levels)] if len(levels) > 1 else []
    series.append(("all levels", colour, fast_curve(run.total.best, run.total.problems), 2.6, ""))
    lg = "".join(f"<span>{line_sample(c, w, d)}{esc(n)}</span>" for n, c, _, w, d in series)
    t = run.total
    return (f'<div class="run"><div class="runhead"><span class="swatch" style="background:'
            f'{colour}"></span><h3>{esc(name)}</h3><span class="muted">'
            f'{_n(t.problems, "problem")} \u00b7 {_n(t.samples, "sample")} \u00b7 '
            f'{len(run.speedups)} correct, unflagged, timed</span></div><div class="charts">'
            f'<div class="card"><h4>Speedup distribution (correct, unflagged samples)</h4>'
            f'{svg_histogram(run.speedups, octaves=octaves)}</div>'
            f'<div class="card"><h4>fast_p over p</h4><div class="legend">{lg}</div>'
            f'{svg_fast_curves(series, board.p_values)}</div></div></div>')


def render_page(board: Board, store: str = "", generated: Optional[str] = None,
                filters: Optional[dict[str, Any]] = None) -> str:
    """A self-contained HTML page: headline cards, the tables, and per-run plots (inline SVG)."""
    from .. import __version__
    css = resources.files(__package__).joinpath("board.css").read_text()
    generated = generated or _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    colours = {(r.label, r.hardware): PALETTE[i % len(PALETTE)] for i, r in enumerate(board.runs)}
    rp = rank_p(board.p_values)

    def run_name(run: Run) -> str:
        return f"{run.label} @ {hw_name(run.hardware)}" if board.multi_hardware else run.label

    cards = [_card(i, r, run_name(r), colours[(r.label, r.hardware)], rp)
             for i, r in enumerate(board.runs)]
    overlay = svg_fast_curves(
        [(run_name(r), colours[(r.label, r.hardware)],
          fast_curve(r.total.best, r.total.problems), 2.2, "") for r in board.runs],
        board.p_values, width=1100, height=300)
    legend = "".join(f"<span>{line_sample(colours[(r.label, r.hardware)], 2.2, '')}"
                     f"{esc(run_name(r))}</span>" for r in board.runs)
    octaves = log2_range(s for r in board.runs for s in r.speedups)
    per_run = [_per_run(r, run_name(r), colours[(r.label, r.hardware)], board, octaves)
               for r in board.runs]

    hw_chips = "".join(f'<span class="chip">{esc(hw_name(h))}</span>' for h in board.hardware)
    filt = ", ".join(f"{k}={v}" for k, v in (filters or {}).items() if v is not None)
    meta = [f"generated <b>{esc(generated)}</b>", f"hardware {hw_chips}"]
    if store:
        meta.append(f"store <b>{esc(store)}</b>")
    if filt:
        meta.append(f"filter <b>{esc(filt)}</b>")
    if board.superseded:
        meta.append(f"{board.superseded} older verdicts superseded")
    defs = "".join(f"<dt>{esc(k)}</dt><dd>{v}</dd>" for k, v in DEFINITIONS)
    flags = _page_tags(board, board.flag_rows, "flag", FLAG_DOCS,
                       ("passed", "flagged cases whose outcome was ok: passes that do not count"),
                       "No flagged cases.")
    caveats = _page_tags(board, board.caveat_rows, "caveat", CAVEAT_DOCS,
                         ("wins", "caveated cases that count as wins"), "No caveated cases.")
    sub = 'class="sub" style="font-weight:400;color:var(--muted)"'

    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>kernel-harness leaderboard</title>
<style>
{css}</style></head>
<body><div class="wrap">
<header><div><h1>kernel-harness <span class="sub">leaderboard</span></h1>
<div class="notes">Correct, honest and fast: runs ranked by {esc(p_name(rp))}, the share of
problems with a correct, unflagged kernel more than {rp:g}&times; faster than the PyTorch
reference.</div></div>
<div class="meta">{"<br>".join(meta)}</div></header>
<section class="cards">{"".join(cards)}</section>
<h2>Results</h2>
{_page_table(board, colours)}
<h2>fast_p across runs</h2>
<div class="card"><div class="legend">{legend}</div>{overlay}</div>
<h2>Per run</h2>
{"".join(per_run)}
<h2>Flagged cases <span {sub}>never counted as wins</span></h2>
{flags}
<h2>Caveated cases <span {sub}>counted as wins; read the number with the caveat</span></h2>
{caveats}
<h2>How to read this</h2>
<div class="notes"><dl>{defs}</dl></div>
<footer>kernel-harness {esc(__version__)} &middot; python -m harness.board</footer>
</div></body></html>
"""
