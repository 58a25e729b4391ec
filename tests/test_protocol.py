"""The typed protocol at its edge: what a (possibly hostile) worker sends is decoded into the
class its request expects, or refused, never passed on half-checked."""
from __future__ import annotations

import pytest

from harness import protocol as P


def test_requests_round_trip_through_their_tag():
    reqs = [P.Load("p.py", "cpu", 3, write_roots=("/a", "/b")), P.Run((1, 2), reuse=True),
            P.Compare([[1e-3, 1e-3]], (P.Pair(1, out="x"), P.Pair(2, other=3)), keep=True),
            P.Time(5, (7,), "warm", 0, 50.0, True, 3, 0.1, check_seeds=(9,)), P.Finish(), P.Exit()]
    for r in reqs:
        wire = P.encode(r)
        assert wire["type"] == r.tag and all(not isinstance(v, tuple) for v in wire.values())
        assert P.decode_request(wire) == r


def test_a_reply_is_decoded_as_its_request_expects_or_as_an_error():
    trials = P.decode_reply(P.Run((1,)), {"type": "trials", "trials": [{"obs": {"checksum": [1.0]}, "key": 4}]})
    assert trials == P.Trials((P.Trial({"checksum": [1.0]}, key=4),))
    err = P.decode_reply(P.Run((1,)), {"type": "error", "error": "boom", "kind": "load"})
    assert isinstance(err, P.Error) and err.kind == "load"
    # An int where a float is due is fine (JSON-like data); a reply of another request is not.
    assert P.decode_reply(P.Probe(1, "warm", 0, 8), {"work": {}, "overhead_ms": 1, "peak_memory": 0}).overhead_ms == 1.0
    with pytest.raises(P.ProtocolError, match="expected timed"):
        P.decode_reply(P.Time(1, (1,), "warm", 0, 0.0, True, 1, 0.0), {"type": "trials", "trials": []})


@pytest.mark.parametrize("data, words", [
    ("not a dict", "not a mapping"),
    ({"type": "timed", "device_ms": [1.0], "wall_ms": [1.0]}, "no threads_grew"),
    ({"type": "timed", "device_ms": "fast", "wall_ms": [1.0], "threads_grew": False}, "not a list"),
    ({"type": "timed", "device_ms": [True], "wall_ms": [1.0], "threads_grew": False}, "not float"),
    ({"type": "timed", "device_ms": [1.0], "wall_ms": [1.0], "threads_grew": False, "speedup": 9},
     "unknown fields"),
    ({"type": "timed", "device_ms": [1.0], "wall_ms": [1.0], "threads_grew": 0}, "not bool"),
    # NaN times would make every timing rule false and the speedup infinite: refused.
    ({"type": "timed", "device_ms": [float("nan")], "wall_ms": [1.0], "threads_grew": False}, "finite"),
    ({"type": "timed", "device_ms": [1.0], "wall_ms": [float("inf")], "threads_grew": False}, "finite"),
    ({"type": "timed", "device_ms": [10**400], "wall_ms": [1.0], "threads_grew": False}, "finite"),
])
def test_a_malformed_reply_is_refused_with_where_it_is_wrong(data, words):
    with pytest.raises(P.ProtocolError, match=words):
        P.decode_reply(P.Time(1, (1,), "warm", 0, 0.0, True, 1, 0.0), data)


def test_nested_messages_are_checked_too():
    with pytest.raises(P.ProtocolError, match=r"trial.obs"):
        P.decode_reply(P.Run((1,)), {"trials": [{"obs": [1, 2]}]})
    with pytest.raises(P.ProtocolError, match=r"pair.ref"):
        P.decode_request({"type": "compare", "tolerances": [], "pairs": [{"ref": "1"}]})


def test_an_unknown_request_is_refused():
    for data in ({"type": "no_such"}, {"op": "load"}, [], None):
        with pytest.raises(P.ProtocolError, match="not a request"):
            P.decode_request(data)


def test_patching_the_protocol_or_a_harness_method_reads_as_tampering():
    """A solution that rewrites replies on their way out (protocol.encode) or a harness class's
    method (timing.Clock.time_call) is seen by the guard, like a patched torch function."""
    from harness import channel, sandbox, timing
    guard = sandbox.Guard([sandbox, timing, channel, P])
    assert guard.tampered() == []
    encode, time_call = P.encode, timing.Clock.time_call
    try:
        P.encode = lambda m: {}
        timing.Clock.time_call = lambda *a: (0.0, 0.0, None)
        assert guard.tampered() == ["harness.protocol.encode", "harness.timing.Clock.time_call"]
    finally:
        P.encode, timing.Clock.time_call = encode, time_call
    assert guard.tampered() == []
