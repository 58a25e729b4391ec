"""Raw solution text -> the Python code to build: a .py file as it is, or the right block of
an LLM reply (prose, <think> sections, several fenced blocks).
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Optional

_THINK = re.compile(r"<think(?:ing)?>.*?(?:</think(?:ing)?>|\Z)", re.S | re.I)
# ``` or ~~~ fences, with an optional info string; the closing fence matches the opening one.
_FENCE = re.compile(r"^(?P<fence>`{3,}|~{3,})[ \t]*(?P<info>[^\n`]*)\n(?P<body>.*?)^(?P=fence)[ \t]*$",
                    re.S | re.M)
_MODELNEW = re.compile(r"^\s*class\s+ModelNew\b", re.M)
_PY_INFO = {"", "python", "py", "python3", "py3"}


@dataclass
class Extracted:
    code: Optional[str]     # None: no usable code
    block: Optional[int]    # index among the reply's fenced blocks; None for a plain .py file
    reason: str = ""        # why there is no code

    @property
    def hash(self) -> str:
        return code_hash(self.code or "")


def code_hash(code: str) -> str:
    return hashlib.sha256(code.encode("utf-8")).hexdigest()


def _is_python_source(text: str) -> bool:
    try:
        compile(text, "<solution>", "exec")
        return True
    except (SyntaxError, ValueError):
        return False


def extract(text: str, is_python_file: bool = False) -> Extracted:
    """Pick the code defining ModelNew: the last fenced python block that does, outside <think>.

    A .py file is taken whole (a syntax error then is the solution's load error, not 'no code').
    Text that is itself valid Python defining ModelNew is taken whole too.
    """
    if is_python_file:
        return Extracted(text, None)
    if _MODELNEW.search(text) and _is_python_source(text):
        return Extracted(text, None)
    visible = _THINK.sub("", text)
    blocks = [m for m in _FENCE.finditer(visible)]
    candidates = [(i, m.group("body")) for i, m in enumerate(blocks)
                  if m.group("info").strip().lower().split(" ")[0] in _PY_INFO
                  and _MODELNEW.search(m.group("body"))]
    if candidates:
        i, body = candidates[-1]
        return Extracted(body, i)
    if _MODELNEW.search(visible):
        # An unterminated final fence (replies cut off by a length limit) still counts.
        tail = re.search(r"^(`{3,}|~{3,})[ \t]*(python|py|python3)?[ \t]*\n(?P<body>(?:(?!^```).)*\Z)",
                         visible, re.S | re.M | re.I)
        if tail and _MODELNEW.search(tail.group("body")):
            return Extracted(tail.group("body"), len(blocks))
    if _MODELNEW.search(text):
        return Extracted(None, None, "ModelNew appears only inside <think> text")
    return Extracted(None, None, "no code block defines ModelNew" if blocks
                     else "the reply has no code")
