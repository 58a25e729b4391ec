"""The page's charts as inline SVG: a speedup histogram and fast_p step curves.

Hand-written SVG rather than matplotlib: two simple chart kinds do not justify a plotting stack
on every GPU node, the SVG stays a few KB, uses the page's own fonts and colours through CSS,
and comes out byte-identical for the same store (no embedded ids or dates).
"""
from __future__ import annotations

import html as _html
import math
from typing import Any, Iterable, Optional, Sequence

import numpy as np

from .metrics import CurvePoint
from .tables import p_name, pct

PALETTE = ("#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1",
           "#ff9da7", "#9c755f", "#bab0ac")
FAST, SLOW = "#3a9b5c", "#d9822b"
P_MAX = 4.0


def esc(s: Any) -> str:
    return _html.escape(str(s), quote=True)


def _nice_step(top: float, ticks: int = 5) -> float:
    raw = max(top, 1e-9) / ticks
    mag = 10 ** math.floor(math.log10(raw))
    for m in (1, 2, 2.5, 5, 10):
        if m * mag >= raw:
            return m * mag
    return 10 * mag


def _speed_label(e: int) -> str:
    return f"{2.0 ** e:g}\u00d7" if e >= -2 else f"1/{2 ** -e}\u00d7"


def log2_range(speedups: Iterable[float]) -> tuple[int, int]:
    """Whole octaves [lo, hi] covering the speedups (at least 1/4x..4x, at most 2^-10..2^10)."""
    xs = [math.log2(min(max(s, 2.0 ** -10), 2.0 ** 10)) for s in speedups if s > 0]
    if not xs:
        return -2, 2
    lo, hi = min(-2, math.floor(min(xs))), max(2, math.ceil(max(xs)))
    if hi == max(xs) and hi < 10:
        hi += 1                       # keep a value sitting on a power of two off the edge
    return lo, hi


def svg_histogram(speedups: Sequence[float], width: int = 540, height: int = 250,
                  per_octave: int = 4, octaves: Optional[tuple[int, int]] = None) -> str:
    """Histogram of speedups on a log2 axis; bars right of 1x (faster) green, left amber.

    ``octaves`` fixes the axis (log2 of its ends), so that several runs' plots line up.
    """
    ml, mr, mt, mb = 44, 14, 24, 38
    pw, ph = width - ml - mr, height - mt - mb
    head = (f'<svg class="chart" viewBox="0 0 {width} {height}" width="{width}" '
            f'height="{height}" role="img" xmlns="http://www.w3.org/2000/svg">')
    xs = np.log2(np.clip(np.asarray([s for s in speedups if s > 0], dtype=float),
                         2.0 ** -10, 2.0 ** 10))
    if xs.size == 0:
        return (head + f'<rect x="{ml}" y="{mt}" width="{pw}" height="{ph}" class="plot-bg"/>'
                f'<text x="{ml + pw / 2}" y="{mt + ph / 2}" class="empty" text-anchor="middle">'
                'no correct, unflagged timed solutions</text></svg>')
    lo, hi = octaves or log2_range(2.0 ** xs)
    xs = np.clip(xs, lo, hi)
    edges = np.arange(lo * per_octave, hi * per_octave + 1) / per_octave
    counts, _ = np.histogram(xs, edges)
    top = max(int(counts.max()), 1)
    step = max(1, int(_nice_step(top, 4)))
    ymax = math.ceil(top / step) * step

    def X(e: float) -> float:
        return ml + (e - lo) / (hi - lo) * pw

    def Y(c: float) -> float:
        return mt + ph - c / ymax * ph

    out = [head, f'<rect x="{ml}" y="{mt}" width="{pw}" height="{ph}" class="plot-bg"/>']
    for c in range(0, ymax + 1, step):
        out.append(f'<line x1="{ml}" x2="{ml + pw}" y1="{Y(c):.1f}" y2="{Y(c):.1f}" '
                   f'class="grid"/><text x="{ml - 6}" y="{Y(c) + 4:.1f}" class="tick" '
                   f'text-anchor="end">{c}</text>')
    bar_w = pw / len(counts)
    for i, c in enumerate(counts):
        if not c:
            continue
        x0 = X(edges[i])
        colour = FAST if edges[i] >= 0 else SLOW
        out.append(f'<rect x="{x0 + 0.75:.1f}" y="{Y(c):.1f}" width="{max(bar_w - 1.5, 1):.1f}" '
                   f'height="{Y(0) - Y(c):.1f}" fill="{colour}" rx="1.5">'
                   f'<title>{esc(f"{2 ** edges[i]:.3g}-{2 ** edges[i + 1]:.3g}x: {c}")}</title>'
                   f'</rect>')
    every = 1 if hi - lo <= 10 else 2
    for e in range(lo, hi + 1):
        if (e - lo) % every:
            continue
        out.append(f'<line x1="{X(e):.1f}" x2="{X(e):.1f}" y1="{mt + ph}" y2="{mt + ph + 4}" '
                   f'class="axis"/><text x="{X(e):.1f}" y="{mt + ph + 17}" class="tick" '
                   f'text-anchor="middle">{_speed_label(e)}</text>')
    out.append(f'<line x1="{X(0):.1f}" x2="{X(0):.1f}" y1="{mt}" y2="{mt + ph}" class="parity"/>')
    out.append(f'<text x="{X(0):.1f}" y="{mt - 8}" class="note" text-anchor="middle">'
               f'\u2190 slower \u00b7 reference \u00b7 faster \u2192</text>')
    out.append(f'<line x1="{ml}" x2="{ml + pw}" y1="{mt + ph}" y2="{mt + ph}" class="axis"/>')
    out.append(f'<text x="{ml + pw / 2}" y="{height - 4}" class="axis-label" '
               f'text-anchor="middle">speedup over the reference (log scale)</text>')
    out.append(f'<text transform="translate(11 {mt + ph / 2}) rotate(-90)" class="axis-label" '
               f'text-anchor="middle">samples</text>')
    out.append("</svg>")
    return "".join(out)


def svg_fast_curves(series: Sequence[tuple[str, str, list[CurvePoint], float, str]],
                    p_marks: Sequence[float] = (), width: int = 540, height: int = 250,
                    p_max: float = P_MAX) -> str:
    """fast_p over p as step lines: series of (name, colour, fast_curve points, stroke width,
    dash pattern ("" for solid))."""
    ml, mr, mt, mb = 44, 14, 14, 38
    pw, ph = width - ml - mr, height - mt - mb

    def X(p: float) -> float:
        return ml + min(p, p_max) / p_max * pw

    def Y(s: float) -> float:
        return mt + ph - s * ph

    out = [f'<svg class="chart" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
           f'role="img" xmlns="http://www.w3.org/2000/svg">',
           f'<rect x="{ml}" y="{mt}" width="{pw}" height="{ph}" class="plot-bg"/>']
    for s in (0, 0.25, 0.5, 0.75, 1.0):
        out.append(f'<line x1="{ml}" x2="{ml + pw}" y1="{Y(s):.1f}" y2="{Y(s):.1f}" class="grid"/>'
                   f'<text x="{ml - 6}" y="{Y(s) + 4:.1f}" class="tick" text-anchor="end">'
                   f'{int(s * 100)}%</text>')
    for tick in range(0, int(p_max) + 1):
        out.append(f'<line x1="{X(tick):.1f}" x2="{X(tick):.1f}" y1="{mt + ph}" y2="{mt + ph + 4}" '
                   f'class="axis"/><text x="{X(tick):.1f}" y="{mt + ph + 17}" class="tick" '
                   f'text-anchor="middle">{tick}</text>')
    if p_max >= 1:
        out.append(f'<line x1="{X(1):.1f}" x2="{X(1):.1f}" y1="{mt}" y2="{mt + ph}" '
                   f'class="parity"/>')
    for name, colour, pts, sw, dash in series:
        d = "M" + " L".join(f"{X(p):.1f},{Y(s):.1f}" for p, s in pts)
        dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
        out.append(f'<path d="{d}" fill="none" stroke="{colour}" stroke-width="{sw}"{dash_attr} '
                   f'stroke-linejoin="round"><title>{esc(name)}</title></path>')
        for p in p_marks:
            if 0 <= p <= p_max and not dash:
                s = curve_at(pts, p)
                out.append(f'<circle cx="{X(p):.1f}" cy="{Y(s):.1f}" r="{1.5 + sw}" '
                           f'fill="{colour}" stroke="#fff" stroke-width="1.2">'
                           f'<title>{esc(f"{name}: {p_name(p)} = {pct(s)}")}</title></circle>')
    out.append(f'<line x1="{ml}" x2="{ml + pw}" y1="{mt + ph}" y2="{mt + ph}" class="axis"/>')
    out.append(f'<text x="{ml + pw / 2}" y="{height - 4}" class="axis-label" '
               f'text-anchor="middle">p (speedup threshold)</text>')
    out.append(f'<text transform="translate(11 {mt + ph / 2}) rotate(-90)" class="axis-label" '
               f'text-anchor="middle">fast_p (problems)</text>')
    out.append("</svg>")
    return "".join(out)


def curve_at(pts: Sequence[CurvePoint], p: float) -> float:
    """The step function's value at p (fast_p with a strict >)."""
    if p <= 0:
        return pts[0][1]
    val = pts[0][1]
    for x, s in pts:
        if x <= p:
            val = s
        else:
            break
    return val

DASHES = ("6 3", "2 2.5", "9 3 2 3", "1 3")


def line_sample(colour: str, width: float, dash: str) -> str:
    """A short line in a legend, drawn like the series it names."""
    d = f' stroke-dasharray="{dash}"' if dash else ""
    return (f'<svg width="24" height="10" aria-hidden="true"><line x1="1" y1="5" x2="23" y2="5" '
            f'stroke="{colour}" stroke-width="{width}"{d}/></svg>')


def shades(hex_colour: str, n: int) -> list[str]:
    """n lighter tints of a colour, for the per-level lines under the run's own colour."""
    r, g, b = (int(hex_colour[i:i + 2], 16) for i in (1, 3, 5))
    out = []
    for j in range(n):
        t = 0.1 + 0.3 * (j / max(n - 1, 1))
        out.append("#%02x%02x%02x" % tuple(int(c + (255 - c) * t) for c in (r, g, b)))
    return out

