"""`Timers`: one heap of the connections' deadlines, for the loop thread.

Delays, paces and `close-in` are deadlines here, not threads or sleeps: the loop
polls until the nearest one. An entry whose time is no longer its connection's
deadline is stale and skipped; the heap is rebuilt when stale entries pile up.
"""

from __future__ import annotations

import heapq
import itertools
import math
import time
from collections.abc import Callable, Iterable, Iterator

from tui_echo.engine.connection import Connection


class Alarm:
    """A deadline that is no connection's (a scenario's next step): the loop calls
    `ring(now)` when it comes. Set `deadline`, then `Timers.add` it."""

    __slots__ = ("deadline", "ring")

    def __init__(self, ring: Callable[[float], None]) -> None:
        self.deadline: float | None = None
        self.ring = ring


TIMER_GRAIN = 0.001
"""epoll's unit of time: below it, a deadline is met by sleeping, not polling."""

STALE_TIMERS = 1024
"""Entries beyond two per client that make the heap worth rebuilding."""


class Timers:
    """(deadline, tie-breaker, connection) entries, nearest first (loop thread)."""

    __slots__ = ("_alarms", "_order", "heap")

    def __init__(self) -> None:
        self.heap: list[tuple[float, int, Connection | Alarm]] = []
        """The entries; `heap[0][0]` is the nearest deadline (the loop reads it)."""
        self._order = itertools.count()
        self._alarms: list[Alarm] = []
        """Every alarm ever added: `rebuild` keeps their deadlines."""

    def __len__(self) -> int:
        return len(self.heap)

    def add(self, conn: Connection | Alarm) -> None:
        """Call `conn.timer` (an alarm's `ring`) at its `deadline` (which is set)."""
        assert conn.deadline is not None
        if isinstance(conn, Alarm) and conn not in self._alarms:
            self._alarms.append(conn)
        heapq.heappush(self.heap, (conn.deadline, next(self._order), conn))

    def due(self, now: float) -> Iterator[Connection | Alarm]:
        """The connections whose deadline has come, each once, nearest first; an
        entry added meanwhile that is due too comes in its turn."""
        heap = self.heap
        while heap and heap[0][0] <= now:
            when, _, conn = heapq.heappop(heap)
            if conn.deadline == when:  # else its deadline moved: a new entry exists
                yield conn

    def stale(self, clients: int) -> bool:
        """True when stale entries (of clients gone, or of deadlines moved) must
        outnumber the live ones, `clients` being how many are connected."""
        return len(self.heap) > 2 * clients + STALE_TIMERS

    def rebuild(self, live: Iterable[Connection]) -> None:
        """Only the `live` connections' deadlines and the alarms', stale entries
        dropped."""
        waiting: list[Connection | Alarm] = [*live, *self._alarms]
        self.heap[:] = [  # in place: the loop holds this list
            (conn.deadline, next(self._order), conn)
            for conn in waiting
            if conn.deadline is not None
        ]
        heapq.heapify(self.heap)


def wait_until(
    poll: Callable[[float], list[tuple[int, int]]], deadline: float
) -> list[tuple[int, int]]:
    """Poll until `deadline`, or until a descriptor is ready, to the tenth of a
    millisecond: epoll counts whole milliseconds (rounded up, so a delay would come
    up to 1 ms late), so the last fraction is slept."""
    timeout = deadline - time.monotonic()
    if timeout >= TIMER_GRAIN:
        return poll(math.floor(timeout * 1000) / 1000)
    ready = poll(0)
    if not ready and timeout > 0:
        time.sleep(timeout)  # under a millisecond; the GIL is free meanwhile
    return ready
