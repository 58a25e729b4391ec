"""Length-framed messages between the runner and its workers, over a pair of pipes.

A message is plain data (dicts, lists, numbers, strings, tensors): its skeleton is torch.save'd
with each tensor replaced by a slot. The runner decodes the skeleton with weights_only=True,
torch's loader for untrusted files: a hostile worker can send garbage, but not code.

A tensor crosses one of two ways. Raw: its bytes follow the skeleton in the pipe, read into a
tensor the reader allocates. Shared (a worker's outputs, any size): the sender copies the
message's tensors into memfds (as few as the file size limit allows), seals each against any
further write or resize, and passes the descriptors over a Unix socket beside the pipes. The runner only checks the seals and the
slots' bounds and hands the `Shared` handle on, unread, to the reference worker, which maps it
and compares on its device: nothing about an output's size goes through a pipe, and what the
comparison reads cannot change under it.
"""
from __future__ import annotations

import ctypes
import enum
import errno
import fcntl
import io
import math
import mmap
import os
import select
import socket
import stat
import struct
import threading
import time
import warnings
from dataclasses import dataclass
from typing import Any, Optional

import torch

_HEADER = struct.Struct(">QQQ")   # skeleton bytes, raw tensor bytes that follow, shared blobs
_SLOT = "__kh_tensor__"
_SHARED = "__kh_shared__"
_CHUNK = 1 << 22
_ALIGN = 64
_MAX_BLOBS = 64   # memfds in one message: one per output shared, one per trial of a Run reply
INLINE_MAX = 256 << 20   # what a worker may send through the pipe to a sharing reader (the runner)
_SEALS = fcntl.F_SEAL_SEAL | fcntl.F_SEAL_SHRINK | fcntl.F_SEAL_GROW | fcntl.F_SEAL_WRITE


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


class Blob:
    """A sealed memfd from another process: its size cannot change and nobody can write it."""
    _map: Optional[mmap.mmap]

    def __init__(self, fd: int, max_bytes: int):
        self.fd, self.size, self._map, self._pinned = -1, 0, None, 0
        try:
            st = os.fstat(fd)
            seals = fcntl.fcntl(fd, fcntl.F_GET_SEALS)   # EINVAL: not a memfd at all
        except OSError as e:
            os.close(fd)
            raise ChannelGarbage(f"a shared tensor's descriptor is not a sealed memfd ({e.strerror})")
        if not stat.S_ISREG(st.st_mode) or seals & _SEALS != _SEALS or st.st_size > max_bytes:
            os.close(fd)
            raise ChannelGarbage("a shared tensor's memfd is not sealed against writes and resizes, "
                                 f"or is over the message limit ({st.st_size} bytes)")
        self.fd, self.size = fd, st.st_size

    def tensor(self, offset: int, dtype: torch.dtype, shape: list[int]) -> torch.Tensor:
        """A view of the bytes (private mapping: nothing written to it reaches the memfd)."""
        numel = math.prod(shape)
        if not numel:
            return torch.empty(shape, dtype=dtype)
        if self._map is None:
            self._map = mmap.mmap(self.fd, self.size, flags=mmap.MAP_PRIVATE,
                                  prot=mmap.PROT_READ | mmap.PROT_WRITE)
            if self.size >= _PIN_BYTES and torch.cuda.is_initialized():
                # Pinned for reading (no copy-on-write): the comparison's copy to the device
                # runs at the bus's speed, not through the driver's pageable staging.
                addr = _address(self._map)
                self._pinned = addr if _pin(addr, self.size, _REGISTER_READ_ONLY) else 0
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return torch.frombuffer(self._map, dtype=dtype, count=numel, offset=offset).view(shape)

    def close(self) -> None:
        if self._pinned:   # before the mapping can go
            try:
                torch.cuda.cudart().cudaHostUnregister(self._pinned)
            except Exception:
                pass
            self._pinned = 0
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def __del__(self) -> None:
        self.close()


@dataclass(frozen=True)
class Shared:
    """A tensor in a Blob, as the runner holds it: checked, passed on, never read."""
    blob: Blob
    offset: int
    dtype: str
    shape: tuple[int, ...]

    def tensor(self) -> torch.Tensor:
        """Read after all (a build's tar from the builder, which the runner unpacks)."""
        return self.blob.tensor(self.offset, getattr(torch, self.dtype), list(self.shape))


def _strip(obj: Any, tensors: list[Any]) -> Any:
    """The message with each tensor replaced by a slot naming its dtype and shape; tensors
    cross straight from and into tensor memory, not through torch.save's buffers (a 128 MiB
    output took ~1 s each way that way)."""
    if isinstance(obj, torch.Tensor) and obj.layout == torch.strided and not obj.is_quantized:
        t = obj.detach().resolve_conj().resolve_neg()
        tensors.append(t)
        return {_SLOT: len(tensors) - 1, "dtype": str(t.dtype).removeprefix("torch."),
                "shape": list(t.shape)}
    if isinstance(obj, Shared):
        tensors.append(obj)
        return {_SLOT: len(tensors) - 1, "dtype": obj.dtype, "shape": list(obj.shape)}
    if isinstance(obj, enum.Enum):   # a config choice crosses as its plain value
        return obj.value
    if isinstance(obj, dict):
        return {k: _strip(v, tensors) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        out = [_strip(v, tensors) for v in obj]
        return tuple(out) if isinstance(obj, tuple) else out
    return obj


def _padded(t: torch.Tensor) -> int:
    """A tensor's bytes in a memfd: each starts at an aligned offset, so any dtype can view it."""
    return -(-(t.numel() * t.element_size()) // _ALIGN) * _ALIGN


def _seal_into_memfd(tensors: list[torch.Tensor]) -> tuple[int, list[int]]:
    """One sealed memfd holding every tensor, and their offsets. Host tensors are written
    with pwrite (no mapping at all); device tensors are copied straight into a mapping."""
    offsets, total = [], 0
    for t in tensors:
        offsets.append(total)
        total += _padded(t)
    fd = os.memfd_create("kh-message", os.MFD_CLOEXEC | os.MFD_ALLOW_SEALING)
    try:
        os.ftruncate(fd, total)
        on_device = [(t, off) for t, off in zip(tensors, offsets) if t.numel() and t.device.type != "cpu"]
        for t, off in zip(tensors, offsets):
            if t.numel() and t.device.type == "cpu":
                dense = t.contiguous()   # held: _memory's view does not keep it alive
                _pwrite_all(fd, _memory(dense), off)
        if on_device:
            _copy_from_device(fd, total, on_device)
        _add_seals(fd)
    except BaseException:
        os.close(fd)
        raise
    return fd, offsets


_MADV_POPULATE_WRITE = 23   # Linux 5.14
_PIN_BYTES = 64 << 20       # below this a pageable copy is as fast as pinning first
_libc = ctypes.CDLL(None, use_errno=True)


def _copy_from_device(fd: int, total: int, tensors: list[tuple[torch.Tensor, int]]) -> None:
    """Device tensors into the memfd through one mapping. New shared pages cost more than the
    copy (about 1.3 GB/s on the H200's host, faulted one by one under a pageable copy), so large
    ones are faulted in by several threads at once and pinned, and the copy then runs at the
    bus's speed. Any step the platform refuses just falls back to the plain copy."""
    with mmap.mmap(fd, total) as mm:
        # A process forked meanwhile would hold this writable mapping until it execs and the
        # write seal would fail (EBUSY): the mapping is not inherited.
        mm.madvise(mmap.MADV_DONTFORK)
        if total >= _PIN_BYTES:
            try:   # 2 MiB pages where the host's shmem_enabled is "advise": 512x fewer faults
                mm.madvise(mmap.MADV_HUGEPAGE)
            except (AttributeError, OSError):
                pass
        addr = _address(mm)
        pinned = False
        try:
            if total >= _PIN_BYTES:
                _populate(addr, total)
                pinned = _pin(addr, total)
            for t, off in tensors:
                torch.frombuffer(mm, dtype=t.dtype, count=t.numel(), offset=off).view(t.shape).copy_(t)
        finally:
            if pinned:
                torch.cuda.cudart().cudaHostUnregister(addr)


def _address(mm: mmap.mmap) -> int:
    """Where a mapping starts (valid while it stays mapped; the export is let go at once, so
    the mapping can still be closed)."""
    anchor = ctypes.c_char.from_buffer(mm)
    try:
        return ctypes.addressof(anchor)
    finally:
        del anchor


def _populate(addr: int, size: int, threads: int = 8) -> None:
    """Fault the pages in from several threads (ctypes lets go of the GIL)."""
    step = -(-size // threads // mmap.PAGESIZE) * mmap.PAGESIZE
    spans = [(addr + off, min(step, size - off)) for off in range(0, size, step)]
    workers = [threading.Thread(target=_libc.madvise, args=(ctypes.c_void_p(a), ctypes.c_size_t(n),
                                                             _MADV_POPULATE_WRITE)) for a, n in spans]
    for w in workers:
        w.start()
    for w in workers:
        w.join()


_REGISTER_READ_ONLY = 8   # cudaHostRegisterReadOnly


def _pin(addr: int, size: int, flags: int = 0) -> bool:
    """Pin, or leave no trace: a refused cudaHostRegister stays the runtime's last error, which
    torch's check after the next kernel launch would raise, so it is cleared (and without
    the runtime library at hand to clear it, nothing is tried)."""
    lib = _cudart_library()
    if lib is None:
        return False
    try:
        if int(torch.cuda.cudart().cudaHostRegister(addr, size, flags)) == 0:
            return True
    except Exception:
        pass
    lib.cudaGetLastError()
    return False


_CUDART: list[Optional[ctypes.CDLL]] = []


def _cudart_library() -> Optional[ctypes.CDLL]:
    """The CUDA runtime torch loaded (named by path in this process's own maps)."""
    if not _CUDART:
        found = None
        try:
            with open("/proc/self/maps") as maps:
                paths = {line.split()[-1] for line in maps if "libcudart.so" in line}
            if paths:
                found = ctypes.CDLL(sorted(paths)[0])
                found.cudaGetLastError.restype = ctypes.c_int
        except (OSError, AttributeError):
            found = None
        _CUDART.append(found)
    return _CUDART[0]


def _pwrite_all(fd: int, view: memoryview, offset: int) -> None:
    while view:
        n = os.pwrite(fd, view[:1 << 30], offset)
        view, offset = view[n:], offset + n


def _add_seals(fd: int, tries: int = 200) -> None:
    """Seal; EBUSY means a writable mapping still exists somewhere (a child forked in the
    instant before MADV_DONTFORK took effect holds it until it execs, within milliseconds)."""
    for i in range(tries):
        try:
            fcntl.fcntl(fd, fcntl.F_ADD_SEALS, _SEALS)
            return
        except OSError as e:
            if e.errno != errno.EBUSY or i == tries - 1:
                raise
            time.sleep(0.01)


def share(tensors: list[torch.Tensor]) -> list[Shared]:
    """Tensors copied now into sealed memfds (as few as the file size limit allows), as
    handles a message can carry: a worker's outputs leave its device at once, and what the
    reader maps can no longer change."""
    tensors = [t.detach().resolve_conj().resolve_neg() for t in tensors]
    out: list[Optional[Shared]] = [None] * len(tensors)
    for group in _groups(tensors, _file_cap()):
        fd, offsets = _seal_into_memfd([tensors[i] for i in group])
        blob = Blob(fd, 1 << 62)
        for i, off in zip(group, offsets):
            t = tensors[i]
            out[i] = Shared(blob, off, str(t.dtype).removeprefix("torch."), tuple(t.shape))
    return [s for s in out if s is not None]


def _file_cap() -> int:
    """The largest file this process may write (RLIMIT_FSIZE): a memfd is a file."""
    import resource
    soft = resource.getrlimit(resource.RLIMIT_FSIZE)[0]
    return soft if soft != resource.RLIM_INFINITY else 1 << 62


def _groups(tensors: list[torch.Tensor], cap: int) -> list[list[int]]:
    """Indices of tensors packed in order into memfds of at most `cap` bytes each (one larger
    than cap gets its own, and fails as a file over the limit would)."""
    groups: list[list[int]] = []
    size = cap
    for i, t in enumerate(tensors):
        n = _padded(t)
        if size + n > cap:
            groups.append([])
            size = 0
        groups[-1].append(i)
        size += n
    return groups


def _blob_slots(items: list[Any]) -> tuple[list[int], list[dict], list[int]]:
    """Shared slots for a message: the fds to pass (this sender's own tensors in new memfds,
    each within the file size limit, then each Blob handed on), each item's slot fields in
    order, and the fds to close after."""
    fds: list[int] = []
    close: list[int] = []
    own = [i for i, t in enumerate(items) if isinstance(t, torch.Tensor)]
    extras: dict[int, dict] = {}
    try:
        for group in _groups([items[i] for i in own], _file_cap()):
            fd, offsets = _seal_into_memfd([items[own[j]] for j in group])
            close.append(fd)
            fds.append(fd)
            for j, off in zip(group, offsets):
                extras[own[j]] = {_SHARED: len(fds) - 1, "offset": off}
        index: dict[int, int] = {}
        for i, t in enumerate(items):
            if isinstance(t, Shared):
                if id(t.blob) not in index:
                    index[id(t.blob)] = len(fds)
                    fds.append(t.blob.fd)
                extras[i] = {_SHARED: index[id(t.blob)], "offset": t.offset}
        if len(fds) > _MAX_BLOBS:
            raise ValueError(f"{len(fds)} memfds in one message (at most {_MAX_BLOBS})")
    except BaseException:
        for f in close:
            os.close(f)
        raise
    return fds, [extras[i] for i in range(len(items))], close


def _memory(t: torch.Tensor) -> memoryview:
    """The tensor's bytes, in place (the caller keeps the tensor alive)."""
    n = t.numel() * t.element_size()
    return memoryview((ctypes.c_ubyte * n).from_address(t.data_ptr())).cast("B")


def _slots(obj: Any, extras: list[dict]) -> Any:
    if isinstance(obj, dict):
        if _SLOT in obj:
            return {**obj, **extras[obj[_SLOT]]}
        return {k: _slots(v, extras) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        out = [_slots(v, extras) for v in obj]
        return tuple(out) if isinstance(obj, tuple) else out
    return obj


def send(fd: int, obj: Any, sock: Optional[socket.socket] = None) -> None:
    """Tensors go shared when there is a socket to pass the memfd on, raw otherwise."""
    items: list[Any] = []
    skeleton_obj = _strip(obj, items)
    fds: list[int] = []
    close: list[int] = []
    raw_tensors: list[torch.Tensor] = []
    try:
        if sock is not None and items:
            fds, extras, close = _blob_slots(items)
            skeleton_obj = _slots(skeleton_obj, extras)
        elif any(isinstance(t, Shared) for t in items):
            raise ValueError("a shared tensor needs a socket to cross")
        else:
            raw_tensors = [t.to("cpu").contiguous() for t in items]
        buf = io.BytesIO()
        torch.save(skeleton_obj, buf)
        skeleton = buf.getvalue()
        if fds:
            assert sock is not None
            socket.send_fds(sock, [b"m"], fds)
        raw = sum(t.numel() * t.element_size() for t in raw_tensors)
        write_all(fd, _HEADER.pack(len(skeleton), raw, len(fds)) + skeleton)
        for t in raw_tensors:
            if t.numel():
                write_all(fd, _memory(t))
    finally:
        for f in close:
            os.close(f)


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


@dataclass
class _Reading:
    fd: int
    budget: int                  # raw bytes announced and not yet claimed
    deadline: Optional[float]
    blobs: list[Blob]
    share: bool                  # hand shared slots on as Shared (runner) or map them (worker)


def _slot_tensor(slot: dict, rd: _Reading) -> Any:
    """Check a slot against what the header announced (a hostile worker writes the skeleton
    too), then read its bytes straight into a new tensor, or take it from its memfd."""
    dtype = getattr(torch, str(slot.get("dtype")), None)
    shape = slot.get("shape")
    if not isinstance(dtype, torch.dtype) or not isinstance(shape, list) or \
            not all(isinstance(d, int) and d >= 0 for d in shape):
        raise ChannelGarbage(f"bad tensor slot {str(slot)[:200]}")
    numel = math.prod(shape)
    n = numel * dtype.itemsize
    if _SHARED in slot:
        which, offset = slot[_SHARED], slot.get("offset")
        if not isinstance(which, int) or not 0 <= which < len(rd.blobs) or \
                not isinstance(offset, int) or offset < 0 or offset % _ALIGN or \
                offset + n > rd.blobs[which].size:
            raise ChannelGarbage(f"shared tensor slot outside its memfd: {str(slot)[:200]}")
        blob = rd.blobs[which]
        if rd.share:
            return Shared(blob, offset, str(dtype).removeprefix("torch."), tuple(shape))
        return blob.tensor(offset, dtype, shape)
    if n > rd.budget:
        raise ChannelGarbage("tensor bytes beyond what the message announced")
    rd.budget -= n
    data = torch.empty(n, dtype=torch.uint8)
    if n:
        _read_into(rd.fd, _memory(data), rd.deadline)
    return data.view(dtype).reshape(shape) if numel else torch.empty(shape, dtype=dtype)


def _fill(obj: Any, rd: _Reading) -> Any:
    if isinstance(obj, dict):
        if _SLOT in obj:
            return _slot_tensor(obj, rd)
        return {k: _fill(v, rd) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        out = [_fill(v, rd) for v in obj]
        return tuple(out) if isinstance(obj, tuple) else out
    return obj


def _receive_blobs(sock: Optional[socket.socket], n: int, deadline: Optional[float],
                   max_bytes: int) -> list[Blob]:
    if not n:
        return []
    if sock is None or n > _MAX_BLOBS:
        raise ChannelGarbage(f"a message announced {n} shared memfds")
    _wait(sock.fileno(), deadline)
    try:
        data, fds, flags, _ = socket.recv_fds(sock, 16, _MAX_BLOBS)
    except OSError as e:
        raise ChannelClosed() from e
    if not data and not fds:
        raise ChannelClosed()
    if flags & socket.MSG_CTRUNC or len(fds) != n:
        for f in fds:
            os.close(f)
        raise ChannelGarbage(f"a message announced {n} shared memfds and passed {len(fds)}")
    blobs: list[Blob] = []
    for i, f in enumerate(fds):
        try:
            blobs.append(Blob(f, max_bytes))   # closes f when it is not a sealed memfd
        except ChannelGarbage:
            for later in fds[i + 1:]:
                os.close(later)
            raise
    return blobs


def decode(data: bytes | bytearray) -> Any:
    try:
        return torch.load(io.BytesIO(data), weights_only=True, map_location="cpu")
    except Exception as e:
        raise ChannelGarbage(f"undecodable message ({len(data)} bytes): {type(e).__name__}: {e}")


def _read_exact(fd: int, n: int, deadline: Optional[float]) -> bytearray:
    data = bytearray(n)
    _read_into(fd, memoryview(data), deadline)
    return data


def read_message(fd: int, deadline: Optional[float] = None, max_bytes: int = 1 << 40,
                 sock: Optional[socket.socket] = None, share: bool = False) -> Any:
    """`share`: shared tensors come back as Shared handles (the runner passes them on unread);
    otherwise as tensors mapped from their memfd."""
    n, raw, nblobs = _HEADER.unpack(_read_exact(fd, _HEADER.size, deadline))
    inline = min(max_bytes, INLINE_MAX) if share else max_bytes   # what this reader allocates
    if n + raw > inline:
        raise ChannelGarbage(f"message of {n + raw} bytes in the pipe is over the {inline} byte "
                             "limit (outputs cross in memfds)")
    rd = _Reading(fd, raw, deadline, _receive_blobs(sock, nblobs, deadline, max_bytes), share)
    obj = _fill(decode(_read_exact(fd, n, deadline)), rd)
    if rd.budget:
        raise ChannelGarbage(f"{rd.budget} announced tensor bytes were never claimed")
    return obj
