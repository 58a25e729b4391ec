"""Workers that share one device: requests that only compute run side by side, a timed one
runs alone, so a time is what it would be with nothing else on the device. Writers first: a
timed request waits only for the shared ones already running, and holds back new ones.
Used by the linter's workers and by the evaluators that share a GPU (engine.per_device).
"""
from __future__ import annotations

import contextlib
import threading
from typing import Iterator


class Gate:
    def __init__(self) -> None:
        self._cv = threading.Condition()
        self._sharing = 0
        self._alone = False
        self._waiting = 0

    @contextlib.contextmanager
    def shared(self) -> Iterator[None]:
        with self._cv:
            self._cv.wait_for(lambda: not self._alone and not self._waiting)
            self._sharing += 1
        try:
            yield
        finally:
            with self._cv:
                self._sharing -= 1
                self._cv.notify_all()

    @contextlib.contextmanager
    def alone(self) -> Iterator[None]:
        with self._cv:
            self._waiting += 1
            self._cv.wait_for(lambda: not self._alone and not self._sharing)
            self._waiting -= 1
            self._alone = True
        try:
            yield
        finally:
            with self._cv:
                self._alone = False
                self._cv.notify_all()


def out_of_memory(message: str) -> bool:
    """A failure that may be the device's other users' doing: run it again alone."""
    return "out of memory" in message.lower()
