"""Length-framed messages between the runner and its workers, over a pair of pipes.

A message is plain data (dicts, lists, numbers, strings, tensors): its skeleton is torch.save'd
with each tensor replaced by a slot, and the tensors' raw bytes follow. The runner decodes the
skeleton with weights_only=True, torch's loader for untrusted files, and reads each slot's bytes
into a tensor it allocates itself: a hostile worker can send garbage, but not code.
"""
from __future__ import annotations

import ctypes
import enum
import fcntl
import io
import math
import os
import select
import struct
import time
from typing import Any, Optional

import torch

_HEADER = struct.Struct(">QQ")   # skeleton bytes, tensor bytes that follow it
_SLOT = "__kh_tensor__"
_CHUNK = 1 << 22


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


def _strip(obj: Any, tensors: list[torch.Tensor]) -> Any:
    """The message with each CPU tensor replaced by a slot naming its dtype and shape: tensor
    bytes cross raw, straight from and into tensor memory, not through torch.save's buffers
    (a 128 MiB output took ~1 s each way that way)."""
    if isinstance(obj, torch.Tensor) and obj.layout == torch.strided and not obj.is_quantized:
        t = obj.detach().to("cpu").resolve_conj().resolve_neg().contiguous()
        tensors.append(t)
        return {_SLOT: len(tensors) - 1, "dtype": str(t.dtype).removeprefix("torch."),
                "shape": list(t.shape)}
    if isinstance(obj, enum.Enum):   # a config choice crosses as its plain value
        return obj.value
    if isinstance(obj, dict):
        return {k: _strip(v, tensors) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        out = [_strip(v, tensors) for v in obj]
        return tuple(out) if isinstance(obj, tuple) else out
    return obj


def _memory(t: torch.Tensor) -> memoryview:
    """The tensor's bytes, in place (the caller keeps the tensor alive)."""
    n = t.numel() * t.element_size()
    return memoryview((ctypes.c_ubyte * n).from_address(t.data_ptr())).cast("B")


def send(fd: int, obj: Any) -> None:
    tensors: list[torch.Tensor] = []
    buf = io.BytesIO()
    torch.save(_strip(obj, tensors), buf)
    skeleton = buf.getvalue()
    raw = sum(t.numel() * t.element_size() for t in tensors)
    write_all(fd, _HEADER.pack(len(skeleton), raw) + skeleton)
    for t in tensors:
        if t.numel():
            write_all(fd, _memory(t))


def write_all(fd: int, data: Any) -> None:
    view = memoryview(data).cast("B")
    while view:
        n = os.write(fd, view[:_CHUNK])
        view = view[n:]


def _wait(fd: int, deadline: Optional[float]) -> None:
    if deadline is not None:
        left = deadline - time.monotonic()
        if left <= 0:
            raise ChannelTimeout()
        ready, _, _ = select.select([fd], [], [], left)
        if not ready:
            raise ChannelTimeout()


def _read_into(fd: int, view: memoryview, deadline: Optional[float]) -> None:
    while view:
        _wait(fd, deadline)
        n = os.readv(fd, [view[:_CHUNK]])
        if not n:
            raise ChannelClosed()
        view = view[n:]


def _slot_tensor(slot: dict, fd: int, budget: list[int], deadline: Optional[float]) -> torch.Tensor:
    """Check a slot against what the header announced (a hostile worker writes the skeleton
    too), then read its bytes straight into a new tensor."""
    dtype = getattr(torch, str(slot.get("dtype")), None)
    shape = slot.get("shape")
    if not isinstance(dtype, torch.dtype) or not isinstance(shape, list) or \
            not all(isinstance(d, int) and d >= 0 for d in shape):
        raise ChannelGarbage(f"bad tensor slot {str(slot)[:200]}")
    numel = math.prod(shape)
    n = numel * dtype.itemsize
    if n > budget[0]:
        raise ChannelGarbage("tensor bytes beyond what the message announced")
    budget[0] -= n
    data = torch.empty(n, dtype=torch.uint8)
    if n:
        _read_into(fd, _memory(data), deadline)
    return data.view(dtype).reshape(shape) if numel else torch.empty(shape, dtype=dtype)


def _fill(obj: Any, fd: int, budget: list[int], deadline: Optional[float]) -> Any:
    if isinstance(obj, dict):
        if _SLOT in obj:
            return _slot_tensor(obj, fd, budget, deadline)
        return {k: _fill(v, fd, budget, deadline) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        out = [_fill(v, fd, budget, deadline) for v in obj]
        return tuple(out) if isinstance(obj, tuple) else out
    return obj


def decode(data: bytes | bytearray) -> Any:
    try:
        return torch.load(io.BytesIO(data), weights_only=True, map_location="cpu")
    except Exception as e:
        raise ChannelGarbage(f"undecodable message ({len(data)} bytes): {type(e).__name__}: {e}")


def _read_exact(fd: int, n: int, deadline: Optional[float]) -> bytearray:
    data = bytearray(n)
    _read_into(fd, memoryview(data), deadline)
    return data


def read_message(fd: int, deadline: Optional[float] = None, max_bytes: int = 1 << 40) -> Any:
    n, raw = _HEADER.unpack(_read_exact(fd, _HEADER.size, deadline))
    if n + raw > max_bytes:
        raise ChannelGarbage(f"message of {n + raw} bytes is over the {max_bytes} byte limit")
    budget = [raw]
    obj = _fill(decode(_read_exact(fd, n, deadline)), fd, budget, deadline)
    if budget[0]:
        raise ChannelGarbage(f"{budget[0]} announced tensor bytes were never claimed")
    return obj
