"""`Acceptor`: the listener's side of the loop (loop thread).

It accepts in bounded batches, so a flood of connects cannot starve the clients;
out of descriptors or memory (EMFILE and friends) it stops accepting a moment
rather than spin on the error, and says so once; the loop pauses it too while the
event feed is backlogged. The door (door.py) may hold it (`drop`, or too many
connections held back by `accept-delay`) or take the listener off the poller
altogether (`refuse`: a socket that no longer listens would report a hang-up
forever).
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
        """Not paused by its own trouble or by a backlogged feed."""
        self.held = False
        """The door holds it: the listener stays registered, without interest."""
        self.shut = False
        """The door took the listener off the poller (it does not listen)."""
        self.taking = True
        """Accepting, held by nothing and not shut: `take` takes."""
        self._paused_until = 0.0
        self._error_reported = False
        poller.register(listener.fileno(), READ)

    def take(self) -> Iterator[tuple[socket.socket, str]]:
        """The connections waiting, with their peers, up to `ACCEPT_BATCH`."""
        listener = self.listener
        for _ in range(ACCEPT_BATCH):
            if not self.taking:  # paused or held meanwhile (feed backlogged, door)
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

    def drain(self) -> Iterator[tuple[socket.socket, str]]:
        """Every connection waiting, paused or held or not (before the door shuts:
        the backlog is bounded, and these connects had completed)."""
        taking = self.taking
        self.taking = True
        try:
            while True:
                batch = list(self.take())
                yield from batch
                if len(batch) < ACCEPT_BATCH:
                    return
        finally:
            self.taking = taking

    def pause(self) -> None:
        """Stop accepting until `resume_if_due` says otherwise."""
        self._set(False)

    def resume_if_due(self, now: float, allowed: bool) -> None:
        """Accept again once a pause has served its purpose (and `allowed`)."""
        if not self.accepting and allowed and now >= self._paused_until:
            self._set(True)

    def hold(self, held: bool) -> None:
        """Stop (or go back to) taking connections for the door; the listener stays
        on the poller."""
        self.held = held
        self._sync()

    def shut_out(self, shut: bool) -> None:
        """Take the listener off the poller (True), or put it back (False)."""
        if shut == self.shut:
            return
        fd = self.listener.fileno()
        if shut:
            with contextlib.suppress(KeyError, ValueError, OSError):
                self._poller.unregister(fd)
        else:
            self._poller.register(fd, READ if self.accepting and not self.held else 0)
        self.shut = shut
        self._sync()

    def close(self) -> None:
        """Stop listening for good."""
        if not self.shut:
            with contextlib.suppress(KeyError, ValueError, OSError):
                self._poller.unregister(self.listener.fileno())
        self.shut = True
        self.taking = False
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
        self.accepting = accepting
        self._sync()

    def _sync(self) -> None:
        """The poller's interest in the listener, from the three reasons not to take."""
        taking = self.accepting and not self.held and not self.shut
        if taking != self.taking:
            self.taking = taking
            if not self.shut:
                self._poller.modify(self.listener.fileno(), READ if taking else 0)
