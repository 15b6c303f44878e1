"""`Acceptor`: the listener's side of the loop (loop thread).

It accepts in bounded batches, so a flood of connects cannot starve the clients;
out of descriptors or memory (EMFILE and friends) it stops accepting a moment
rather than spin on the error, and says so once; the loop pauses it too while the
event feed is backlogged.
"""

from __future__ import annotations

import contextlib
import errno
import socket
import time
from collections.abc import Callable, Iterator

from tui_echo.engine.poller import READ, Poller
from tui_echo.words import format_peer

ACCEPT_BATCH = 64
"""Connections taken per readiness of the listener, so a flood can't starve clients."""

ACCEPT_RETRY = 0.1
"""Pause in accepting after EMFILE and friends, instead of spinning on the error."""

_OUT_OF_RESOURCES = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM})


class Acceptor:
    """Takes new connections off a listening socket, or pauses (loop thread)."""

    def __init__(
        self, listener: socket.socket, poller: Poller, report: Callable[[str], None]
    ) -> None:
        self.listener = listener
        self._poller = poller
        self._report = report
        """Says what went wrong, once per trouble (an `error` event)."""
        self.accepting = True
        self._paused_until = 0.0
        self._error_reported = False
        poller.register(listener.fileno(), READ)

    def take(self) -> Iterator[tuple[socket.socket, str]]:
        """The connections waiting, with their peers, up to `ACCEPT_BATCH`."""
        listener = self.listener
        for _ in range(ACCEPT_BATCH):
            if not self.accepting:  # paused meanwhile (the feed is backlogged)
                return
            try:
                sock, address = listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                if exc.errno in _OUT_OF_RESOURCES:
                    self._out_of_resources(exc)
                # ECONNABORTED and the like: that client gave up; go on serving
                return
            self._error_reported = False
            yield sock, format_peer(address)

    def pause(self) -> None:
        """Stop accepting until `resume_if_due` says otherwise."""
        self._set(False)

    def resume_if_due(self, now: float, allowed: bool) -> None:
        """Accept again once a pause has served its purpose (and `allowed`)."""
        if not self.accepting and allowed and now >= self._paused_until:
            self._set(True)

    def close(self) -> None:
        """Stop listening for good."""
        with contextlib.suppress(KeyError, ValueError, OSError):
            self._poller.unregister(self.listener.fileno())
        self.listener.close()

    def _out_of_resources(self, exc: OSError) -> None:
        self._set(False)
        self._paused_until = time.monotonic() + ACCEPT_RETRY
        if not self._error_reported:
            self._error_reported = True
            reason = exc.strerror or str(exc)
            self._report(
                f"accept failed: {reason.lower()};"
                " accepting paused until descriptors are free"
            )

    def _set(self, accepting: bool) -> None:
        if accepting != self.accepting:
            self._poller.modify(self.listener.fileno(), READ if accepting else 0)
            self.accepting = accepting
