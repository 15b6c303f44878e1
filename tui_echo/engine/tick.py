"""The loop's tick: what it does every `TICK` rather than per event (loop thread).

Data events are coalesced per client and published once a tick (with the flips a
`corrupt` fault made); UDP peers' too, and their idle ones forgotten; the side
channel (the control socket) ticks; handshakes past their timeout, idle clients
past `--idle-timeout` close; freed memory goes back; the timer heap drops its stale
entries; accepting resumes once a pause has served. `EchoLoop` inherits this; the
attributes and calls declared below for the type checker are the loop's own.
"""

from __future__ import annotations

import itertools
import time
from typing import TYPE_CHECKING

from tui_echo.engine.connection import Connection
from tui_echo.engine.memory import release_freed_memory

if TYPE_CHECKING:
    import socket
    from collections import deque
    from collections.abc import Sequence

    from tui_echo.engine.acceptor import Acceptor
    from tui_echo.engine.clients import Clients
    from tui_echo.engine.config import ServerConfig
    from tui_echo.engine.datagrams import DatagramPort
    from tui_echo.engine.door import Door
    from tui_echo.engine.feed import EventFeed
    from tui_echo.engine.limits import Limits
    from tui_echo.engine.side_channel import SideChannel
    from tui_echo.engine.timers import Timed, Timers
    from tui_echo.events import Event

TICK = 0.1
"""Seconds between coalesced data events (and idle-timeout checks)."""


class Ticking:
    """The periodic work of `EchoLoop` (a mixin)."""

    if TYPE_CHECKING:  # the loop's, read and called here
        config: ServerConfig
        feed: EventFeed
        clients: Clients
        udp: DatagramPort | None
        _acceptor: Acceptor
        _door: Door
        _timers: Timers
        _alarms: tuple[Timed, ...]
        _limits: Limits
        _side: SideChannel | None
        _active: set[Connection]
        _running: bool
        _handshakes: deque[tuple[float, int]]
        _by_id: dict[int, tuple[socket.socket, Connection]]

        def publish(self, event: Event) -> None: ...
        def _count_and_stream(self, events: Sequence[Event]) -> None: ...
        def _expire_handshakes(self, now: float) -> None: ...
        def _carry_out(
            self, sock: socket.socket, conn: Connection, todo: int
        ) -> None: ...

    def _tick(self, now: float) -> None:
        """Publish coalesced data events and run the periodic checks."""
        if self._active:
            ts = time.time()
            data = [c.take_data_event(ts) for c in self._active]
            flips = [
                event
                for c in self._active
                if c.fault is not None
                for event in c.take_corrupted(ts)
            ]
            self._active = set()
            self.feed.publish_data(data)
            self._count_and_stream(data)
            for event in flips:  # a few a client at most (LISTED_FLIPS)
                self.publish(event)
        if self.udp is not None:
            peers_data = self.udp.take_data_events(time.time())
            if peers_data:
                self.feed.publish_data(peers_data)
                self._count_and_stream(peers_data)
            self.udp.sweep_idle(now)
        if self._side is not None:
            self._side.tick(now)
        if self._handshakes:
            self._expire_handshakes(now)
        idle_timeout = self.config.idle_timeout
        if idle_timeout is not None:
            for sock, conn, todo in self.clients.sweep_idle(now, idle_timeout):
                self._carry_out(sock, conn, todo)
        if self._limits.budget.trim_due(now):
            release_freed_memory()
        if self._timers.stale(len(self._by_id)):
            self._timers.rebuild(
                itertools.chain(
                    self.clients.connections(),
                    (self._door,),
                    self._alarms,
                    () if self.udp is None else (self.udp,),
                )
            )
        self._acceptor.resume_if_due(
            now, allowed=self._running and not self.feed.backlogged
        )
