"""The gate that lets workers share a device and time alone."""
import threading

from harness.gate import Gate


def test_the_gate_lets_computing_requests_share_and_a_timed_one_run_alone():
    gate, log, lock = Gate(), [], threading.Lock()
    release = threading.Event()
    s1_in = threading.Event()

    def work(kind, name, wait=None, entered=None):
        with (gate.alone() if kind == "alone" else gate.shared()):
            with lock:
                log.append(f"in:{name}")
            if entered:
                entered.set()
            if wait:
                wait.wait(10)
            with lock:
                log.append(f"out:{name}")

    s1 = threading.Thread(target=work, args=("shared", "s1", release, s1_in))
    s1.start()
    assert s1_in.wait(10)
    t = threading.Thread(target=work, args=("alone", "t"))
    t.start()
    while True:   # the timed one is waiting for s1
        with gate._cv:
            if gate._waiting:
                break
    s2 = threading.Thread(target=work, args=("shared", "s2"))
    s2.start()    # arrives while the timed one waits: it must go after it
    release.set()
    for th in (s1, t, s2):
        th.join(10)
    assert log == ["in:s1", "out:s1", "in:t", "out:t", "in:s2", "out:s2"]
