"""The `--no-ui` sink: one line per event on stdout, as text or JSON Lines.

Writing fails in three ways, each handled as SPEC says: the reader went away (EPIPE:
stop the server, exit 0, like any Unix filter); the disk is full or the device
fails (warn once on stderr, keep serving, count the lines lost, report them at the
end); a log reader so slow that the server's event backlog fills (the server stops
accepting: say so once on stderr, and again when it accepts again).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable

from tui_echo.book import ClientBook
from tui_echo.engine.feed import EventFeed
from tui_echo.events import ClientClosed, Event, ShutdownComplete, json_line
from tui_echo.events_text import event_text
from tui_echo.server import EchoServer
from tui_echo.units import human_duration
from tui_echo.words import os_reason, timestamp

WAIT = 0.5
"""Longest sleep between looks at the server when no event wakes the sink."""

PACE = 0.05
"""Shortest time between two batches. A busy server's lines go out in batches, and
the sink wakes at most 20 times a second rather than once per event: each wake-up
takes the GIL from the echo loop."""


Warn = Callable[[str], None]
"""Says one line to the operator (on stderr)."""


class JsonLines:
    """JSON Lines: one object per event, as SPEC gives them."""

    def lines(self, events: list[Event]) -> list[str]:
        return [json_line(event) for event in events]


class TextLines:
    """Lines for people; a `ClientBook` names the clients and times their stay."""

    def __init__(self) -> None:
        # A client is forgotten as soon as its close line is written.
        self.book = ClientBook(detail=False, linger=0.0)

    def lines(self, events: list[Event]) -> list[str]:
        book = self.book
        lines = []
        for event in events:
            book.apply(event)
            line = f"{timestamp(event.ts)} {event_text(event, book.peer_of)}"
            if isinstance(event, ClientClosed) and event.client in book.clients:
                stay = book.clients[event.client].connected_for(event.ts)
                line += f"  after {human_duration(stay)}"
            lines.append(line)
        book.prune()
        return lines


class LineWriter:
    """Writes whole batches of lines to a file descriptor, surviving a full disk."""

    def __init__(self, fd: int, warn: Warn) -> None:
        self.fd = fd
        self.warn = warn
        self.lost = 0
        """Lines that could not be written (disk full, I/O error)."""
        self.reader_gone = False
        """The other end of the pipe closed (EPIPE): nobody reads any more."""
        self._failure: str | None = None

    def write(self, lines: list[str]) -> None:
        """Write the lines; on failure count them lost (and warn the first time)."""
        if self.reader_gone or not lines:
            return
        data = "".join(line + "\n" for line in lines).encode()
        written = 0
        try:
            while written < len(data):
                written += os.write(self.fd, data[written:])
        except BrokenPipeError:
            self.reader_gone = True
        except OSError as exc:
            self.lost += len(lines) - data.count(b"\n", 0, written)
            if self._failure is None:
                self._failure = os_reason(exc)
                self.warn(
                    f"cannot write the log: {self._failure};"
                    " the server keeps serving and counts the lines lost"
                )

    def report(self) -> None:
        """Say how many lines were lost, if any (at the end)."""
        if self.lost:
            self.warn(f"{self.lost} log lines could not be written ({self._failure})")


class BacklogNotice:
    """Says on stderr when the server stops accepting for a slow log, and resumes."""

    def __init__(self, feed: EventFeed, warn: Warn) -> None:
        self.feed = feed
        self.warn = warn
        self.said = False

    def look(self) -> None:
        """Compare the feed's backlog with what was said (before each drain)."""
        backlogged = self.feed.backlogged
        if backlogged and not self.said:
            self.warn(
                f"the log is {self.feed.backlog:,} events behind:"
                " not accepting new clients until it catches up"
            )
        elif self.said and not backlogged:
            self.warn("the log caught up: accepting new clients again")
        self.said = backlogged


def run_headless(
    server: EchoServer,
    writer: LineWriter,
    log_format: str = "text",
    stop_requested: threading.Event | None = None,
) -> int:
    """Write the server's events until it stops or a stop is requested; exit status.

    `stop_requested` is set by the caller's signal handlers (which also wake the feed);
    the sink then stops the server and writes the remaining events, `shutdown` last.
    If the reader goes away the server is stopped the same way.
    """
    if log_format not in ("text", "json"):
        raise ValueError(f"unknown log format {log_format!r}")
    formatter = JsonLines() if log_format == "json" else TextLines()
    requested = stop_requested if stop_requested is not None else threading.Event()
    feed = server.feed
    backlog = BacklogNotice(feed, writer.warn)
    done = crashed = False
    while not done:
        feed.wait(WAIT)
        stopping = requested.is_set() or writer.reader_gone
        if stopping or not server.running:
            crashed = not stopping
            server.stop()
        backlog.look()
        events = feed.drain()
        writer.write(formatter.lines(events))
        done = any(isinstance(event, ShutdownComplete) for event in events)
        if not events and not server.running:
            done = True  # the loop thread is gone without its last word
        if not done and not writer.reader_gone:
            requested.wait(PACE)
    writer.report()
    return 1 if crashed else 0
