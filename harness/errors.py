"""User mistakes: one exception type, and the one way every entry point reports them.

A mistake in what the user asked for (a problem file that is not one, a results store that is
not one, a device this machine lacks, a bad override) is not a harness bug: it gets one line,
``error: ...`` naming the file or value, and exit status 2, never a traceback. A harness bug
still gets its traceback. Kept free of heavy imports: workers import the errors that derive
from ``UserError``.
"""
from __future__ import annotations

import functools
import os
import sys
from typing import Any, Callable, Optional

USER_ERROR_EXIT = 2


class UserError(Exception):
    """A mistake in what the user asked for; the message names the file or value."""


def one_line(e: BaseException) -> str:
    """A user mistake or a Hydra config error (bad override, unknown key, value not among an
    enum's) as one line: the key and value first, then what OmegaConf or Hydra said."""
    from omegaconf.errors import OmegaConfBaseException

    cause = e.__cause__
    if isinstance(cause, OmegaConfBaseException) and getattr(cause, "full_key", None) and \
            getattr(cause, "value", None) is not None:
        said = (cause.msg or str(cause)).splitlines()[0]
        return f"{cause.full_key}={cause.value!r}: {said[:1].lower()}{said[1:]}"
    lines = [ln.strip() for ln in str(e).splitlines()
             if ln.strip() and not ln.startswith("See https://")]
    out = ""
    for ln in lines:
        out += ln if not out else (" " if out.endswith((".", ":")) else ": ") + ln
    return out or type(e).__name__


def entry(fn: Callable[..., Optional[int]]) -> Callable[..., None]:
    """The one wrapper of every entry point: run fn, exit with its code when non-zero; a user
    mistake or a Hydra config error prints ``error: ...`` on one line and exits 2.

    A Hydra entry point wears it twice, as the same wrapper: on its task function (a UserError
    raised there would otherwise cost a line of Hydra's own before it reached the caller) and
    around the Hydra call itself (``entry(main)()``: bad overrides are raised before any task
    runs). It tells Hydra to re-raise (HYDRA_FULL_ERROR) instead of printing its own report.
    """
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        from hydra.errors import HydraException

        os.environ["HYDRA_FULL_ERROR"] = "1"
        try:
            code = fn(*args, **kwargs)
        except (UserError, HydraException) as e:
            print(f"error: {one_line(e)}", file=sys.stderr)
            code = USER_ERROR_EXIT
        if code:
            sys.exit(code)
    return wrapper
