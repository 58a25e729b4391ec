"""The worker channel: tensors cross raw beside a torch.save'd skeleton; a hostile worker's
bytes are checked against the header, never trusted."""
import io
import os
import threading

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


def test_tensors_of_every_kind_cross_bit_exact():
    g = torch.Generator().manual_seed(0)
    big = torch.randn(1024, 1030, generator=g)
    msg = {"trials": [{"output": big, "obs": {"kernels": [("k", 1.5)]}}],
           "half": torch.randn(7, generator=g).half(), "int": torch.arange(5)[::2],
           "bool": torch.tensor([True, False]), "scalar": torch.tensor(3.5),
           "empty": torch.empty(0, 4), "conj": torch.randn(3, dtype=torch.complex64, generator=g).conj(),
           "view": big[1:3, ::7], "none": None, "text": "x", "tup": (1, 2.0)}
    got = roundtrip(msg)
    for key in ("half", "int", "bool", "scalar", "empty", "conj", "view"):
        assert got[key].dtype == msg[key].dtype and got[key].shape == msg[key].shape, key
        assert torch.equal(got[key], msg[key].resolve_conj()), key
    assert torch.equal(got["trials"][0]["output"], big)
    assert got["trials"][0]["obs"] == {"kernels": [("k", 1.5)]}
    assert (got["none"], got["text"], got["tup"]) == (None, "x", (1, 2.0))


def test_message_over_the_limit_is_garbage():
    with pytest.raises(channel.ChannelGarbage, match="over the"):
        roundtrip({"x": torch.zeros(1 << 16)}, max_bytes=1 << 16)


def _forged(skeleton, raw_bytes: bytes, announced: int) -> bytes:
    buf = io.BytesIO()
    torch.save(skeleton, buf)
    s = buf.getvalue()
    return channel._HEADER.pack(len(s), announced) + s + raw_bytes


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
