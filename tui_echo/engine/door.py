"""`Door`: the listener fault in force, carried out on the listening socket (loop
thread only).

- `refuse`: the listener is shut down (connects get ECONNREFUSED) and taken off the
  poller; it is bound again at once to the same address, as a socket bound to port 0
  gives its port back at shutdown, so the port stays reserved. `off` listens again.
- `drop`: the backlog is made small (`DROP_BACKLOG`) and nothing is taken, so once
  the kernel's queue is full further SYNs go unanswered and connects time out.
  `off` restores the backlog and takes what waits.
- `accept-delay=D`: the kernel completes every handshake before any accept, so a
  connection is accepted at once and held (not read, no `connect` event) until its
  arrival + D; then the loop adds it as a client. At most `HELD_AT_MOST` are held:
  beyond that the door stops taking, and the rest wait in the kernel's backlog.
- `for=D`: back to `off` by itself after D (the loop's timer heap wakes the door).

The door is one entry in the loop's timer heap (`deadline`, `id`): the next
connection due, or the end of a `for=`.
"""

from __future__ import annotations

import contextlib
import errno
import socket
from collections import deque
from collections.abc import Callable

from tui_echo.engine.acceptor import Acceptor
from tui_echo.engine.listener import BACKLOG
from tui_echo.faults.listener import ListenerFault
from tui_echo.words import format_peer, os_reason

DROP_BACKLOG = 0
"""The listen backlog under `drop`: Linux then completes one connection (two at
most, as it checks the queue against the backlog after the fact) and leaves
every further SYN unanswered."""

HELD_AT_MOST = 1024
"""Connections `accept-delay` holds at once; beyond, they wait in the kernel's
backlog (and so come a little later than their delay)."""

DOOR_ID = -1
"""The door's id in the loop's timer heap: one no client has."""

Arrival = tuple[socket.socket, str]
"""An accepted connection and its peer, as the loop adds clients."""


class Door:
    """The listener fault and what carrying it out holds (loop thread only)."""

    id = DOOR_ID

    def __init__(self, acceptor: Acceptor, report: Callable[[str], None]) -> None:
        self._acceptor = acceptor
        self._report = report
        """Says what went wrong (an `error` event): a port that could not be kept."""
        listener = acceptor.listener
        self._address = listener.getsockname()
        self.fault: ListenerFault | None = None
        """The fault in force, `for=` included as it was set; None: the door is open."""
        self.ends_at: float | None = None
        """When a `for=` runs out (monotonic), or None."""
        self.deadline: float | None = None
        """When the door wants the loop's timer to call `due` (monotonic), or None."""
        self.holding = False
        """`accept-delay` is in force: accepted connections go to `hold`."""
        self._delay = 0.0
        self._held: deque[tuple[float, socket.socket, str]] = deque()
        """(arrival, socket, peer) of the connections held, oldest first."""

    @property
    def held(self) -> int:
        """Connections accepted and held back (they count against --max-clients)."""
        return len(self._held)

    def set(self, fault: ListenerFault | None, now: float) -> list[Arrival]:
        """Put `fault` in force (None: off); the connections held back that are
        let in by the change (leaving `accept-delay` lets them all in)."""
        old = None if self.fault is None else self.fault.mode
        new = None if fault is None else fault.mode
        if old == "refuse" and new != "refuse":
            self._listen_again()
        elif old == "drop" and new != "drop":
            self._listen(BACKLOG)
        released: list[Arrival] = []
        if new != "accept-delay":
            released = [(sock, peer) for _, sock, peer in self._held]
            self._held.clear()
        if new == "refuse" and old != "refuse":
            self._shut()
        elif new == "drop" and old != "drop":
            self._listen(DROP_BACKLOG)
        self.fault = fault
        self.holding = new == "accept-delay"
        if fault is not None and fault.delay is not None:
            self._delay = fault.delay
        lasting = None if fault is None else fault.lasting
        self.ends_at = None if lasting is None else now + lasting
        self._sync()
        return released

    def hold(self, sock: socket.socket, peer: str, now: float) -> bool:
        """Hold a connection just accepted until `now` + the delay; True when the
        door's deadline moved earlier (the loop adds the timer)."""
        was = self.deadline
        self._held.append((now, sock, peer))
        self._sync()
        return self.deadline != was

    def due(self, now: float) -> tuple[list[Arrival], bool]:
        """The held connections whose time has come, and whether a `for=` ran out
        (the loop then sets the door back to off)."""
        released: list[Arrival] = []
        held, delay = self._held, self._delay
        while held and held[0][0] + delay <= now:
            _, sock, peer = held.popleft()
            released.append((sock, peer))
        expired = self.ends_at is not None and self.ends_at <= now
        self._sync()
        return released, expired

    def left(self, now: float) -> float | None:
        """Seconds until a `for=` runs out (at least a millisecond), or None."""
        if self.ends_at is None:
            return None
        return max(0.001, round(self.ends_at - now, 3))

    def close(self) -> None:
        """Close the connections held (they were never clients; shutdown)."""
        while self._held:
            _, sock, _ = self._held.popleft()
            with contextlib.suppress(OSError):
                sock.close()

    # ---- the listening socket ------------------------------------------------------

    def _sync(self) -> None:
        """The next deadline, and whether the acceptor takes (not under `drop`, nor
        with `HELD_AT_MOST` held)."""
        next_held = self._held[0][0] + self._delay if self._held else None
        times = [t for t in (next_held, self.ends_at) if t is not None]
        self.deadline = min(times) if times else None
        mode = None if self.fault is None else self.fault.mode
        self._acceptor.hold(
            mode == "drop"
            or (mode == "accept-delay" and len(self._held) >= HELD_AT_MOST)
        )

    def _shut(self) -> None:
        """Stop listening, keep the port: connects get ECONNREFUSED."""
        acceptor = self._acceptor
        acceptor.shut_out(True)
        listener = acceptor.listener
        try:
            listener.shutdown(socket.SHUT_RDWR)
        except OSError as exc:
            self._report(f"listener fault refuse: cannot stop listening: {exc}")
            return
        try:
            listener.bind(self._address)
        except OSError as exc:
            # EINVAL: still bound (a port given explicitly is kept at shutdown).
            if exc.errno != errno.EINVAL:
                where = format_peer(self._address)
                self._report(
                    f"listener fault refuse: port {where} given up: {os_reason(exc)}"
                )

    def _listen_again(self) -> None:
        self._listen(BACKLOG)
        self._acceptor.shut_out(False)

    def _listen(self, backlog: int) -> None:
        try:
            self._acceptor.listener.listen(backlog)
        except OSError as exc:
            where = format_peer(self._address)
            self._report(f"cannot listen on {where} again: {os_reason(exc)}")
