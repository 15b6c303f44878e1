"""The loop's timers: what it does when a deadline in its heap comes (loop thread).

A client's deadline (a fault releasing held bytes, pacing sends, closing on time),
the door's (a listener fault's end, a held connection's turn), a scenario's next
step and the UDP port's. Bytes released to a plain socket that may take them go
with one send at once (loop.py's `_send_pending`), as the fast path's do.
`EchoLoop` inherits this; the attributes and calls declared below for the type
checker are the loop's own.
"""

from __future__ import annotations

import socket
from typing import TYPE_CHECKING

from tui_echo.engine.connection import SEND, Connection
from tui_echo.engine.timeline import Alarm

if TYPE_CHECKING:
    from tui_echo.engine.datagrams import DatagramPort
    from tui_echo.engine.door import Door
    from tui_echo.engine.timers import Timers
    from tui_echo.engine.tls_setup import TlsServer


class TimerWork:
    """The timer work of `EchoLoop` (a mixin)."""

    if TYPE_CHECKING:  # the loop's, read and called here
        tls: TlsServer | None
        udp: DatagramPort | None
        _door: Door
        _timers: Timers
        _udp_armed: float | None
        _active: set[Connection]
        _by_id: dict[int, tuple[socket.socket, Connection]]

        def _door_due(self, now: float) -> None: ...
        def _report_bug(self, exc: Exception) -> None: ...
        def _send_pending(
            self, sock: socket.socket, conn: Connection, now: float
        ) -> int: ...
        def _carry_out(
            self, sock: socket.socket, conn: Connection, todo: int
        ) -> None: ...

    def _run_timers(self, now: float) -> None:
        """Call `timer` on every connection whose deadline has come."""
        by_id = self._by_id
        for due in self._timers.due(now):
            entry = by_id.get(due.id)
            if entry is None:
                if due is self._door:
                    self._door_due(now)
                elif isinstance(due, Alarm):  # a scenario's next step
                    self._ring(due, now)
                elif due is self.udp:
                    self._udp_armed = None
                    self.udp.timer(now)
                    self._arm_udp()
                continue  # closed since
            sock, conn = entry
            try:
                todo = conn.timer(now)
                if todo & SEND:
                    todo = self._send_pending(sock, conn, now)
                if todo:
                    self._carry_out(sock, conn, todo)
            except Exception as exc:  # a bug must cost one client, not the loop
                self._carry_out(sock, conn, conn.broke(exc))

    def _arm_udp(self) -> None:
        """Keep the UDP port in the timer heap at its nearest deadline."""
        udp = self.udp
        if udp is not None and udp.deadline != self._udp_armed:
            self._udp_armed = udp.deadline
            if udp.deadline is not None:
                self._timers.add(udp)

    def _ring(self, alarm: Alarm, now: float) -> None:
        try:
            alarm.ring(now)
        except Exception as exc:  # a bug: report it and keep serving
            self._report_bug(exc)
