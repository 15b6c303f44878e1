"""SIGINT, SIGTERM and SIGHUP: each asks for the same graceful stop, however many come.

The handlers stay for the life of the process: a second signal while the server is
stopping (or after) only repeats the request, so the exit status stays 0 and no
`KeyboardInterrupt` can surface from a thread join.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from types import FrameType

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class StopSignals:
    """Turns the stop signals into one stop request (main thread installs it)."""

    def __init__(self) -> None:
        self.requested = threading.Event()
        """Set by the first stop signal."""
        self._callbacks: list[Callable[[], None]] = []

    def install(self) -> StopSignals:
        """Route the stop signals here from now on."""
        for sig in STOP_SIGNALS:
            signal.signal(sig, self._on_signal)
        return self

    def on_request(self, callback: Callable[[], None]) -> None:
        """Call `callback` on every stop signal (now, if one came already).

        It runs in a signal handler: it must be quick and must not block.
        """
        self._callbacks.append(callback)
        if self.requested.is_set():
            callback()

    def ignore_from_now(self) -> None:
        """The stop is done: later stop signals do nothing at all.

        Python's own shutdown puts back the default action of every signal it
        handled, which would let a late signal kill the exiting process; an
        ignored signal it leaves alone.
        """
        for sig in STOP_SIGNALS:
            signal.signal(sig, signal.SIG_IGN)

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        self.requested.set()
        for callback in list(self._callbacks):
            callback()
