"""Length-framed messages between the runner and its workers, over a pair of pipes.

Payloads are torch.save'd plain data (dicts, lists, numbers, strings, CPU tensors). The runner
decodes with weights_only=True, torch's loader for untrusted files: a hostile worker can send
garbage, but not code.
"""
from __future__ import annotations

import fcntl
import io
import os
import select
import struct
import time
from typing import Any, Optional

import torch

_HEADER = struct.Struct(">Q")


class ChannelClosed(Exception):
    """The other side closed its end (it exited or crashed)."""


class ChannelTimeout(Exception):
    """No complete message before the deadline."""


class ChannelGarbage(Exception):
    """Bytes that are not a message: a worker wrote into the channel, or a message too large."""


def widen(fd: int, size: int = 1 << 20) -> None:
    """Larger pipe buffers: tensors cross in MiB steps instead of 64 KiB ones."""
    try:
        fcntl.fcntl(fd, getattr(fcntl, "F_SETPIPE_SZ", 1031), size)
    except OSError:
        pass


def encode(obj: Any) -> bytes:
    buf = io.BytesIO()
    torch.save(obj, buf)
    data = buf.getvalue()
    return _HEADER.pack(len(data)) + data


def decode(data: bytes) -> Any:
    try:
        return torch.load(io.BytesIO(data), weights_only=True, map_location="cpu")
    except Exception as e:
        raise ChannelGarbage(f"undecodable message ({len(data)} bytes): {type(e).__name__}: {e}")


def write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        n = os.write(fd, view[: 1 << 20])
        view = view[n:]


def _read_exact(fd: int, n: int, deadline: Optional[float]) -> bytes:
    chunks = []
    while n:
        if deadline is not None:
            left = deadline - time.monotonic()
            if left <= 0:
                raise ChannelTimeout()
            ready, _, _ = select.select([fd], [], [], left)
            if not ready:
                raise ChannelTimeout()
        chunk = os.read(fd, min(n, 1 << 22))
        if not chunk:
            raise ChannelClosed()
        chunks.append(chunk)
        n -= len(chunk)
    return b"".join(chunks)


def read_message(fd: int, deadline: Optional[float] = None, max_bytes: int = 1 << 40) -> Any:
    (n,) = _HEADER.unpack(_read_exact(fd, _HEADER.size, deadline))
    if n > max_bytes:
        raise ChannelGarbage(f"message of {n} bytes is over the {max_bytes} byte limit")
    return decode(_read_exact(fd, n, deadline))
