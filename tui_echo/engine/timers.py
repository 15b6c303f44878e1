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
from typing import Protocol


class Timed(Protocol):
    """What the heap holds: a connection, or the listener's door (door.py); the
    loop finds which by `id`."""

    @property
    def id(self) -> int: ...

    @property
    def deadline(self) -> float | None: ...


TIMER_GRAIN = 0.001
"""epoll's unit of time: below it, a deadline is met by sleeping, not polling."""

TIMER_SLACK = 0.0005
"""The least time between two wake-ups for timers alone: a deadline that comes
sooner after the last one waits for it (at most this late), so a thousand delayed
clients cost at most 2,000 wake-ups a second, not one per echo; a lone timer is
still met to the tenth of a millisecond."""

STALE_TIMERS = 1024
"""Entries beyond two per client that make the heap worth rebuilding."""


class Timers:
    """(deadline, tie-breaker, connection) entries, nearest first (loop thread)."""

    __slots__ = ("_order", "heap")

    def __init__(self) -> None:
        self.heap: list[tuple[float, int, Timed]] = []
        """The entries; `heap[0][0]` is the nearest deadline (the loop reads it)."""
        self._order = itertools.count()

    def __len__(self) -> int:
        return len(self.heap)

    def add(self, conn: Timed) -> None:
        """Call `conn.timer` at its `deadline` (which is set)."""
        assert conn.deadline is not None
        heapq.heappush(self.heap, (conn.deadline, next(self._order), conn))

    def due(self, now: float) -> Iterator[Timed]:
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

    def rebuild(self, live: Iterable[Timed]) -> None:
        """Only the `live` connections' deadlines, stale entries dropped."""
        self.heap[:] = [  # in place: the loop holds this list
            (conn.deadline, next(self._order), conn)
            for conn in live
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
