"""SIGINT, SIGTERM and SIGHUP: each asks for the same graceful stop, however many come.

The handlers stay for the life of the process: a second signal while the server is
stopping (or after) only repeats the request, so the exit status stays 0 and no
`KeyboardInterrupt` can surface from a thread join.

The request itself is made on a small watcher thread, never in the signal handler:
a handler runs between two bytecodes of the main thread, which may hold the very
lock an `Event.set()` would need (the headless sink waits on such an event), and
would deadlock. The C-level handler writes the signal's number to a socket pair
(`signal.set_wakeup_fd`, safe at any moment); the watcher reads it and acts.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import signal
import socket
import threading
from collections.abc import Callable
from types import FrameType

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
QUIT_GRACE = 10.0
"""Seconds the monitor gets to close after a stop signal before the process leaves
without it (see `leave_if_stuck`)."""


class StopSignals:
    """Turns the stop signals into one stop request (main thread installs it)."""

    def __init__(self) -> None:
        self.requested = threading.Event()
        """Set once a stop signal has come."""
        self.first: int | None = None
        """The number of the first stop signal that came."""
        self._callbacks: list[Callable[[], None]] = []
        self._lock = threading.Lock()

    def install(self) -> StopSignals:
        """Route the stop signals here from now on (main thread)."""
        receiver, sender = (_above_stdio(s) for s in socket.socketpair())
        sender.setblocking(False)  # the C handler must never block
        signal.set_wakeup_fd(sender.fileno(), warn_on_full_buffer=False)
        self._pair = (receiver, sender)  # kept open for the process's life
        for sig in STOP_SIGNALS:
            signal.signal(sig, self._on_signal)
        threading.Thread(
            target=self._watch, args=(receiver,), name="tui-echo-signals", daemon=True
        ).start()
        return self

    def on_request(self, callback: Callable[[], None]) -> None:
        """Call `callback` (on the watcher thread) on every stop signal, and now if
        one came already. It must be quick and thread-safe."""
        with self._lock:
            self._callbacks.append(callback)
            already = self.requested.is_set()
        if already:
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
        """Nothing to do here: the wake-up byte reaches the watcher (see above)."""

    def _watch(self, receiver: socket.socket) -> None:
        stops = {int(sig) for sig in STOP_SIGNALS}
        with contextlib.suppress(OSError):
            while data := receiver.recv(64):
                came = [signum for signum in data if signum in stops]
                if came:
                    self._request(came[0])

    def _request(self, signum: int) -> None:
        with self._lock:
            if self.first is None:
                self.first = signum
            self.requested.set()
            callbacks = list(self._callbacks)
        for callback in callbacks:
            callback()


def leave_if_stuck(
    done: threading.Event,
    cleanup: Callable[[], None],
    grace: float = QUIT_GRACE,
    leave: Callable[[int], object] = os._exit,
) -> threading.Thread:
    """Watch (on a daemon thread) that `done` is set within `grace` seconds; if not,
    run `cleanup` and `leave(0)`.

    For the monitor after a stop signal: Textual can hang for good closing a terminal
    that has gone away (seen after `tmux kill-server`: its output thread never takes
    the last write, and the main thread waits on it), and a server that was told to
    stop must not linger for that. `cleanup` stops the server, if it was not yet.
    """

    def watch() -> None:
        if done.wait(grace):
            return
        with contextlib.suppress(Exception):  # leaving matters more than its errors
            cleanup()
        if not done.is_set():  # it closed after all, meanwhile: its exit status stands
            leave(0)

    watcher = threading.Thread(target=watch, name="tui-echo-quit-watch", daemon=True)
    watcher.start()
    return watcher


def _above_stdio(sock: socket.socket) -> socket.socket:
    """The socket on a descriptor above 2: with stdout or stderr closed at start,
    a new socket would take its number, and the log or a warning would go to it."""
    if sock.fileno() > 2:
        return sock
    moved = socket.socket(fileno=fcntl.fcntl(sock.fileno(), fcntl.F_DUPFD_CLOEXEC, 3))
    sock.close()
    return moved
