"""`EventLog`: timestamped lines for what happened, written a batch at a time."""

from __future__ import annotations

import time
from collections.abc import Iterable

from textual.widgets import Log

from tui_echo.book import ClientBook
from tui_echo.events import ClientData, Event
from tui_echo.text import clock_time, describe, human_size

MAX_LINES = 2000
DATA_LINES_PER_BATCH = 5
"""Up to this many clients with data in a batch get a line each; more are summed."""
SUMMARY_EVERY = 1.0
"""Seconds between the summed data lines of a busy server."""
WRITE_EVERY = 1.0
"""Seconds between writes to the log widget. Each write grows the log, and a log
that grows costs the screen a layout pass: 7 ms of the UI thread, measured, against
2 ms for the rest of a refresh. Once a second is still live for a history."""


class DataSummary:
    """Sums busy data into one line a second, so a busy log stays readable (pure)."""

    def __init__(self) -> None:
        self.received = 0
        self.clients: set[int] = set()
        self.last_ts = 0.0
        self._next_line_at = 0.0

    def add(self, event: ClientData) -> None:
        self.received += event.bytes
        self.clients.add(event.client)
        self.last_ts = event.ts

    def line(self, *, force: bool = False) -> str | None:
        """The summary line, if one is due (or forced) and there is anything to say."""
        if not self.clients or not (force or self.last_ts >= self._next_line_at):
            return None
        text = (
            f"{clock_time(self.last_ts)} data        {len(self.clients)} clients"
            f" +{human_size(self.received)}"
        )
        self._next_line_at = self.last_ts + SUMMARY_EVERY
        self.received = 0
        self.clients = set()
        return text


class EventLog(Log):
    """The event log: connect, data (coalesced), close, kick, reset, rejected, error."""

    DEFAULT_CSS = """
    EventLog { height: 10; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(max_lines=MAX_LINES, auto_scroll=True, id=id)
        self.summary = DataSummary()
        self._pending: list[str] = []
        self._written_at = float("-inf")

    def write_events(self, events: Iterable[Event], book: ClientBook) -> None:
        """Take the lines for a batch of events (the book names the clients); they
        reach the screen with the next `flush`."""
        self._pending += event_lines(list(events), book, self.summary)

    def flush(self, *, force: bool = False) -> None:
        """Write the waiting lines, if `WRITE_EVERY` has passed (or `force`)."""
        now = time.monotonic()
        if self._pending and (force or now - self._written_at >= WRITE_EVERY):
            self.write_lines(self._pending)
            self._pending = []
            self._written_at = now

    def note(self, ts: float, text: str) -> None:
        """A line of the operator's own actions (kick, reset requested), at once."""
        self._pending.append(f"{clock_time(ts)} {text}")
        self.flush(force=True)


def event_lines(
    events: list[Event], book: ClientBook, summary: DataSummary
) -> list[str]:
    """Log lines for a batch: a line per event, but busy data goes into `summary`."""
    busy = sum(isinstance(e, ClientData) for e in events) > DATA_LINES_PER_BATCH
    lines: list[str] = []
    if not busy and (flushed := summary.line(force=True)):
        lines.append(flushed)  # the busy spell is over: say what it summed
    for event in events:
        if busy and isinstance(event, ClientData):
            summary.add(event)
        else:
            lines.append(f"{clock_time(event.ts)} {describe(event, book.peer_of)}")
    if busy and (due := summary.line()):
        lines.append(due)
    return lines
