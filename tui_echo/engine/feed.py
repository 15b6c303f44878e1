"""The queue between the loop thread and whoever watches it (the app, the logger).

Rules:

- Publishing never blocks the loop thread beyond a short lock.
- Lifecycle events (`connect`, `close`, `rejected`, `error`, ...) are kept in order and
  never dropped.
- `data` events are merged per client while they wait, so the data waiting is at most
  one event per live client, whatever the traffic.
- A client's waiting `data` event is queued ahead of its `close`, so a consumer sees
  connect, then data, then close, and the `bytes` add up.
- The lifecycle backlog is bounded by back-pressure, not by dropping: when more than
  `backlog_limit` events wait, `backlogged` turns true and the server stops accepting
  new connections (the only unbounded source of lifecycle events) until the consumer
  catches up.
"""

from __future__ import annotations

import contextlib
import threading
from collections import deque
from collections.abc import Callable, Iterable

from tui_echo.events import ClientClosed, ClientData, Event

DEFAULT_BACKLOG_LIMIT = 50_000


class EventFeed:
    """A bounded, non-blocking, single-consumer event queue with data coalescing."""

    def __init__(self, backlog_limit: int = DEFAULT_BACKLOG_LIMIT) -> None:
        self.backlog_limit = backlog_limit
        self._lifecycle: deque[Event] = deque()
        self._data: dict[int, ClientData] = {}
        self._lock = threading.Lock()
        self._ready = threading.Event()
        self._alarm_at = backlog_limit + 1  # never, until `on_backlog` says
        self._alarm: Callable[[], None] | None = None
        self._alarmed = False

    def on_backlog(self, count: int, alarm: Callable[[], None] | None) -> None:
        """Call `alarm` (on the publishing thread) when `count` lifecycle events wait;
        once, until the next `drain`. A consumer that drains on a timer uses it to
        drain early rather than let the backlog reach the limit and stop accepting."""
        self._alarm, self._alarm_at = alarm, count

    def publish(self, event: Event) -> None:
        """Queue a lifecycle event (any thread; the loop thread in practice)."""
        if isinstance(event, ClientClosed):
            self.publish_close(event)
            return
        with self._lock:
            self._lifecycle.append(event)
        self._wake_consumer()

    def publish_close(
        self, event: ClientClosed, last_data: ClientData | None = None
    ) -> None:
        """Queue a close after the waiting data and `last_data` (loop thread)."""
        with self._lock:
            waiting = self._data.pop(event.client, None)
            if last_data is not None:
                waiting = (
                    last_data if waiting is None else last_data.merged_after(waiting)
                )
            if waiting is not None:
                self._lifecycle.append(waiting)
            self._lifecycle.append(event)
        self._wake_consumer()

    def _wake_consumer(self) -> None:
        # Event.set() takes a lock and notifies even when already set; under
        # churn that was a tenth of the loop's time.
        if not self._ready.is_set():
            self._ready.set()
        if len(self._lifecycle) >= self._alarm_at and not self._alarmed:
            self._alarmed = True
            alarm = self._alarm
            if alarm is not None:
                with contextlib.suppress(Exception):  # never into the publisher
                    alarm()

    def publish_data(self, events: Iterable[ClientData]) -> None:
        """Merge a tick's data events into the waiting ones (loop thread)."""
        with self._lock:
            waiting = self._data
            for event in events:
                earlier = waiting.get(event.client)
                waiting[event.client] = (
                    event if earlier is None else event.merged_after(earlier)
                )
        self._wake_consumer()

    def drain(self, max_events: int | None = None) -> list[Event]:
        """Take waiting events, oldest first (the consumer's thread).

        Lifecycle events come first; the merged data events follow only once no
        lifecycle event waits, so a client's data never overtakes its connect.
        """
        with self._lock:
            lifecycle, waiting = self._lifecycle, self._data
            room = len(lifecycle) + len(waiting) if max_events is None else max_events
            if len(lifecycle) <= room:  # the usual case: all of them, in C
                taken: list[Event] = list(lifecycle)
                lifecycle.clear()
            else:
                taken = [lifecycle.popleft() for _ in range(room)]
            if not lifecycle:
                if len(waiting) <= room - len(taken):
                    taken.extend(waiting.values())
                    waiting.clear()
                else:
                    while len(taken) < room:
                        taken.append(waiting.popitem()[1])
            if not lifecycle and not waiting:
                self._ready.clear()
            self._alarmed = False
        return taken

    def wait(self, timeout: float | None = None) -> bool:
        """Block until events wait or `wake` is called; True if woken (any thread)."""
        return self._ready.wait(timeout)

    def wake(self) -> None:
        """Wake a consumer blocked in `wait` (any thread, signal handlers too)."""
        self._ready.set()

    @property
    def backlog(self) -> int:
        """Lifecycle events waiting for the consumer."""
        return len(self._lifecycle)

    @property
    def backlogged(self) -> bool:
        """True when the consumer has fallen so far behind that accepting must wait."""
        return len(self._lifecycle) >= self.backlog_limit
