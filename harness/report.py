"""How a verdict reads on a terminal (user errors: harness/errors.py)."""
from __future__ import annotations

from .verdict import CAVEAT_DOCS, FLAG_DOCS, Verdict


def _ms(x: float) -> str:
    return f"{x * 1e3:.1f} us" if x < 1 else f"{x:.3f} ms"


def _one_line(why: object) -> str:
    return " ".join(str(why).split())


def render_text(v: Verdict) -> str:
    """The verdict for a person: one line per fact; each flag and each caveat with its reason."""
    lines = [f"problem   {v.problem}", f"solution  {v.solution}"
             + (f" (code block {v.code_block})" if v.code_block is not None else ""),
             f"device    {v.hardware}", f"outcome   {v.outcome.value.upper()}"
             + ("" if v.win or v.outcome.value != "ok" else "  (flagged: not a win)")]
    if v.message:
        head, *rest = v.message.splitlines() or [""]
        lines.append(f"message   {head}")
        lines += [f"          {r}" for r in rest[:30]]
    if v.errors and v.errors.trial >= 0:
        e = v.errors
        lines.append(f"errors    max abs {e.max_abs:.3g}, max rel {e.max_rel:.3g}, "
                     f"rel norm {e.rel_norm:.3g} (worst trial {e.trial + 1})")
    t = v.timing
    if t:
        lines.append(f"reference {_ms(t.ref_median_ms)} median (IQR {_ms(t.ref_iqr_ms)}, "
                     f"{t.ref_calls} calls)")
        lines.append(f"candidate {_ms(t.cand_median_ms)} median (IQR {_ms(t.cand_iqr_ms)}, "
                     f"{t.cand_calls} calls)")
        if v.speedup is None:
            lines.append(f"speedup   none: {t.clock} (the candidate's Triton kernels ran in Triton's "
                         "interpreter; its times say nothing about them)")
        else:
            about = "~1x: " if v.speedup_uncertain else ""
            lines.append(f"speedup   {about}{t.speedup:.3f}x  (95% CI {t.speedup_ci[0]:.3f}-"
                         f"{t.speedup_ci[1]:.3f}; {t.cache} cache, {t.clock}, "
                         f"{'converged' if t.converged else 'budget spent'})")
        if t.floor_ms:
            lines.append(f"roofline  floor {_ms(t.floor_ms)}; candidate at "
                         f"{100 * (t.speed_of_light or 0):.1f}% of speed of light")
    for f in v.flags:
        lines.append(f"flag      {f}: {_one_line(v.details.get(f, FLAG_DOCS[f]))}")
    for c in v.shown_caveats:
        lines.append(f"caveat    {c}: {_one_line(v.details.get(c, CAVEAT_DOCS.get(c, '')))}")
    stages = ", ".join(f"{k} {s:.2f}s" for k, s in v.durations.items())
    lines.append(f"took      {stages}")
    return "\n".join(lines)
