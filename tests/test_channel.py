"""The worker channel: tensors cross raw beside a torch.save'd skeleton, or shared in a sealed
memfd; a hostile worker's bytes and descriptors are checked, never trusted."""
import fcntl
import io
import os
import socket
import threading
import time

import pytest
import torch

from harness import channel


def roundtrip(obj, max_bytes=1 << 40):
    r, w = os.pipe()
    channel.widen(r)
    channel.widen(w)
    t = threading.Thread(target=channel.send, args=(w, obj))
    t.start()
    try:
        return channel.read_message(r, None, max_bytes)
    finally:
        t.join()
        os.close(r)
        os.close(w)


def _every_kind():
    g = torch.Generator().manual_seed(0)
    big = torch.randn(1024, 1030, generator=g)
    return big, {"trials": [{"output": big, "obs": {"kernels": [("k", 1.5)]}}],
           "half": torch.randn(7, generator=g).half(), "int": torch.arange(5)[::2],
           "bool": torch.tensor([True, False]), "scalar": torch.tensor(3.5),
           "empty": torch.empty(0, 4), "conj": torch.randn(3, dtype=torch.complex64, generator=g).conj(),
           "view": big[1:3, ::7], "none": None, "text": "x", "tup": (1, 2.0)}


def _same_as_sent(got, msg, big):
    for key in ("half", "int", "bool", "scalar", "empty", "conj", "view"):
        assert got[key].dtype == msg[key].dtype and got[key].shape == msg[key].shape, key
        assert torch.equal(got[key], msg[key].resolve_conj()), key
    assert torch.equal(got["trials"][0]["output"], big)
    assert got["trials"][0]["obs"] == {"kernels": [("k", 1.5)]}
    assert (got["none"], got["text"], got["tup"]) == (None, "x", (1, 2.0))


def test_tensors_of_every_kind_cross_bit_exact():
    big, msg = _every_kind()
    _same_as_sent(roundtrip(msg), msg, big)


class Link:
    """A pipe plus the socket beside it, as between the runner and one worker."""

    def __init__(self):
        self.r, self.w = os.pipe()
        channel.widen(self.w)
        self.a, self.b = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)

    def carry(self, obj, share, max_bytes=1 << 40):
        t = threading.Thread(target=channel.send, args=(self.w, obj, self.a))
        t.start()
        try:
            return channel.read_message(self.r, None, max_bytes, self.b, share=share)
        finally:
            t.join()

    def close(self):
        for fd in (self.r, self.w):
            os.close(fd)
        self.a.close()
        self.b.close()


@pytest.fixture
def link():
    ln = Link()
    yield ln
    ln.close()


def test_shared_tensors_pass_the_runner_unread_and_map_bit_exact(link):
    """Candidate -> runner (handles, nothing read) -> reference (mapped tensors)."""
    big, msg = _every_kind()
    held = link.carry(msg, share=True)
    assert isinstance(held["trials"][0]["output"], channel.Shared)
    assert held["view"].shape == (2, 148) and held["text"] == "x"
    second = Link()
    try:
        _same_as_sent(second.carry(held, share=False), msg, big)
    finally:
        second.close()


def test_outputs_shared_at_once_are_sealed_and_cross_as_handles(link):
    """A worker's outputs go into sealed memfds when made (channel.share), one memfd for the
    lot; a message carries the handles, and what the reader maps is what was shared."""
    big, msg = _every_kind()
    keys = ("half", "int", "bool", "scalar", "empty", "conj", "view")
    handles = channel.share([msg[k] for k in keys] + [big])
    assert len({id(h.blob) for h in handles}) == 1
    assert fcntl.fcntl(handles[0].blob.fd, fcntl.F_GET_SEALS) & fcntl.F_SEAL_WRITE
    got = link.carry({"outs": handles}, share=False)["outs"]
    for k, t in zip(keys, got):
        assert t.dtype == msg[k].dtype and torch.equal(t, msg[k].resolve_conj()), k
    assert torch.equal(got[-1], big)


def test_a_shared_memfd_is_sealed_against_its_sender(link):
    held = link.carry({"out": torch.arange(10.0)}, share=True)
    fd = held["out"].blob.fd
    with pytest.raises(PermissionError):
        os.pwrite(fd, b"x", 0)
    with pytest.raises(PermissionError):
        os.ftruncate(fd, 1)


def _send_forged(link, skeleton, fds):
    if fds:
        socket.send_fds(link.a, [b"m"], fds)
    os.write(link.w, _forged(skeleton, b"", 0, len(fds)))


def _memfd(size, seal=True):
    fd = os.memfd_create("t", os.MFD_ALLOW_SEALING)
    os.ftruncate(fd, size)
    if seal:
        fcntl.fcntl(fd, fcntl.F_ADD_SEALS, channel._SEALS)
    return fd


def _slot(offset=0, shape=(4,), which=0):
    return {"out": {channel._SLOT: 0, "dtype": "float32", "shape": list(shape),
                    channel._SHARED: which, "offset": offset}}


@pytest.mark.parametrize("make, skeleton, match", [
    (lambda: [_memfd(64, seal=False)], _slot(), "not sealed"),
    (lambda: [os.pipe()[0]], _slot(), "not a sealed memfd|not sealed"),
    (lambda: [_memfd(16)], _slot(shape=(8,)), "outside its memfd"),
    (lambda: [_memfd(128)], _slot(offset=4), "outside its memfd"),
    (lambda: [_memfd(128)], _slot(which=1), "outside its memfd"),
    (lambda: [_memfd(1 << 20)], _slot(), "over the message limit"),
])
def test_bad_shared_handles_are_garbage(link, make, skeleton, match):
    _send_forged(link, skeleton, make())
    with pytest.raises(channel.ChannelGarbage, match=match):
        channel.read_message(link.r, None, 1 << 16, link.b, share=True)


def test_more_descriptors_than_announced_are_garbage(link):
    socket.send_fds(link.a, [b"m"], [_memfd(64), _memfd(64)])
    os.write(link.w, _forged(_slot(), b"", 0, 1))
    with pytest.raises(channel.ChannelGarbage, match="announced 1"):
        channel.read_message(link.r, None, 1 << 16, link.b, share=True)


def test_announced_descriptors_never_passed_time_out(link):
    os.write(link.w, _forged(_slot(), b"", 0, 1))
    with pytest.raises(channel.ChannelTimeout):
        channel.read_message(link.r, time.monotonic() + 0.2, 1 << 16, link.b, share=True)


def test_message_over_the_limit_is_garbage():
    with pytest.raises(channel.ChannelGarbage, match="over the"):
        roundtrip({"x": torch.zeros(1 << 16)}, max_bytes=1 << 16)


def _forged(skeleton, raw_bytes: bytes, announced: int, nblobs: int = 0) -> bytes:
    buf = io.BytesIO()
    torch.save(skeleton, buf)
    s = buf.getvalue()
    return channel._HEADER.pack(len(s), announced, nblobs) + s + raw_bytes


@pytest.mark.parametrize("skeleton, raw, announced, match", [
    ({"out": {channel._SLOT: 0, "dtype": "Tensor", "shape": [2]}}, b"\0" * 8, 8, "bad tensor slot"),
    ({"out": {channel._SLOT: 0, "dtype": "float32", "shape": [-1]}}, b"", 0, "bad tensor slot"),
    ({"out": {channel._SLOT: 0, "dtype": "float32", "shape": [1 << 40]}}, b"\0" * 8, 8, "beyond"),
    ({"out": 1}, b"\0" * 8, 8, "never claimed"),
])
def test_forged_slots_are_garbage(skeleton, raw, announced, match):
    r, w = os.pipe()
    try:
        os.write(w, _forged(skeleton, raw, announced))
        with pytest.raises(channel.ChannelGarbage, match=match):
            channel.read_message(r, None)
    finally:
        os.close(r)
        os.close(w)


def test_tensors_pack_into_memfds_within_the_file_size_limit():
    ts = [torch.zeros(n, dtype=torch.uint8) for n in (40, 40, 100, 1, 200)]   # 64-byte aligned
    assert channel._groups(ts, 128) == [[0, 1], [2], [3], [4]]
    assert channel._groups(ts, 256) == [[0, 1, 2], [3], [4]]
    assert channel._groups([], 256) == []


def test_outputs_larger_than_one_file_cross_in_several_memfds(link, monkeypatch):
    monkeypatch.setattr(channel, "_file_cap", lambda: 4096)
    outs = [torch.arange(1000.0) + i for i in range(3)]   # 4000 bytes each: a memfd apiece
    held = link.carry({"trials": outs}, share=True)
    assert len({id(s.blob) for s in held["trials"]}) == 3
    second = Link()
    try:
        got = second.carry(held, share=False)["trials"]
    finally:
        second.close()
    assert all(torch.equal(g, o) for g, o in zip(got, outs))


def test_a_fork_while_a_memfd_is_filled_does_not_block_its_seal(link):
    """Workers start from other threads (fork, then exec): a child must not inherit the
    writable mapping, or the write seal fails with EBUSY."""
    import subprocess
    stop = threading.Event()

    def spawn():
        while not stop.is_set():
            subprocess.Popen(["true"], preexec_fn=lambda: None).wait()   # preexec: a real fork

    t = threading.Thread(target=spawn)
    t.start()
    try:
        for _ in range(40):
            assert isinstance(link.carry({"out": torch.zeros(1 << 20)}, share=True)["out"], channel.Shared)
    finally:
        stop.set()
        t.join()


def test_the_device_copy_path_faults_pages_in_threads_and_copies_exactly():
    """The path a GPU output takes into its memfd (populate, pin where CUDA is, copy), run
    here on a host tensor: without CUDA the pin is refused and the copy still lands."""
    t = torch.randn(80 << 18)   # 80 MiB, over the size where pages are faulted in first
    fd = os.memfd_create("t", os.MFD_ALLOW_SEALING)
    try:
        os.ftruncate(fd, t.numel() * 4 + 64)
        channel._copy_from_device(fd, t.numel() * 4 + 64, [(t, 64)])
        back = torch.frombuffer(bytearray(os.pread(fd, t.numel() * 4, 64)), dtype=torch.float32)
        assert torch.equal(back, t)
    finally:
        os.close(fd)


def test_a_worker_cannot_make_the_runner_allocate_beyond_the_inline_limit(monkeypatch):
    """Outputs cross in memfds; what a worker puts in the pipe itself the runner allocates, so
    a sharing reader caps it far below the memfd limit."""
    monkeypatch.setattr(channel, "INLINE_MAX", 1 << 20)
    r, w = os.pipe()
    def send():
        try:
            channel.send(w, {"big": torch.zeros(1 << 19)})   # 2 MiB, raw through the pipe
        except BrokenPipeError:   # the reader stopped reading, as it should
            pass

    t = threading.Thread(target=send)
    t.start()
    try:
        with pytest.raises(channel.ChannelGarbage, match="outputs cross in memfds"):
            channel.read_message(r, time.monotonic() + 30, 1 << 40, share=True)
    finally:
        os.close(r)
        t.join()
        os.close(w)


def test_a_run_reply_of_many_trials_fits_in_one_message(link):
    """One memfd per output shared: 20 trials' outputs cross in one message."""
    outs = [channel.share([torch.full((4,), float(i))])[0] for i in range(20)]
    got = link.carry({"outs": outs}, share=False)["outs"]
    assert [float(t[0]) for t in got] == [float(i) for i in range(20)]
