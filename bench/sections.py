"""A bench report made of one section per problem, rewritten after each, so a run cut short
still leaves figures and one problem's failure is its section, not the run's end."""
from __future__ import annotations

from pathlib import Path
from typing import Callable, Optional


def add_section(text: list[str], label: str, make: Callable[[], list[str]], out: Optional[str],
                tail: int = 3) -> None:
    try:
        text += make()
    except Exception as e:
        text += [f"## {label}", "", f"failed: {type(e).__name__}: {e}", ""]
    if out:
        Path(out).write_text("\n".join(text))
    print("\n".join(text[-tail:]), flush=True)
