"""`EventLog`: timestamped lines for what happened, written a batch at a time."""

from __future__ import annotations

from collections.abc import Iterable

from textual.widgets import Log

from tui_echo.book import ClientBook
from tui_echo.events import ClientData, Event
from tui_echo.text import clock_time, describe, human_size

MAX_LINES = 2000
DATA_LINES_PER_BATCH = 5
"""Above this many clients with data in one batch, one summary line stands for all."""


class EventLog(Log):
    """The event log: connect, data (coalesced), close, kick, reset, rejected, error."""

    DEFAULT_CSS = """
    EventLog { height: 10; border-top: solid $primary-muted; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(max_lines=MAX_LINES, auto_scroll=True, id=id)

    def write_events(self, events: Iterable[Event], book: ClientBook) -> None:
        """Write one line per event, except data, which is summarised when busy."""
        self.write_lines(event_lines(events, book))

    def note(self, ts: float, text: str) -> None:
        """A line of the operator's own actions (kick, reset requested)."""
        self.write_line(f"{clock_time(ts)} {text}")


def event_lines(events: Iterable[Event], book: ClientBook) -> list[str]:
    """The log lines for a batch of events (the book names the clients)."""
    batch = list(events)
    data = [event for event in batch if isinstance(event, ClientData)]
    busy = len(data) > DATA_LINES_PER_BATCH
    lines: list[str] = []
    for event in batch:
        if not (busy and isinstance(event, ClientData)):
            lines.append(f"{clock_time(event.ts)} {describe(event, book.peer_of)}")
        elif event is data[0]:  # the summary stands where the first data was
            received = sum(d.bytes for d in data)
            clients = len({d.client for d in data})
            lines.append(
                f"{clock_time(data[-1].ts)} data        {clients} clients"
                f" +{human_size(received)}"
            )
    return lines
