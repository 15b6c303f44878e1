"""The `--no-ui` sink: one line per event on stdout, as text or JSON Lines."""

from __future__ import annotations

import json
import threading
from typing import TextIO

from tui_echo.book import ClientBook
from tui_echo.events import ClientClosed, Event, ShutdownComplete, to_json
from tui_echo.server import EchoServer
from tui_echo.text import describe, human_duration, timestamp

WAIT = 0.5
"""Longest sleep between looks at the server when no event wakes the sink."""

PACE = 0.05
"""Shortest time between two batches. A busy server's lines go out in batches, and
the sink wakes at most 20 times a second rather than once per event: each wake-up
takes the GIL from the echo loop."""

_encode_json = json.JSONEncoder(separators=(",", ":")).encode


class JsonLines:
    """JSON Lines: one object per event, as SPEC gives them."""

    def lines(self, events: list[Event]) -> list[str]:
        return [_encode_json(to_json(event)) for event in events]


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
            line = f"{timestamp(event.ts)} {describe(event, book.peer_of)}"
            if isinstance(event, ClientClosed) and event.client in book.clients:
                stay = book.clients[event.client].connected_for(event.ts)
                line += f"  after {human_duration(stay)}"
            lines.append(line)
        book.prune()
        return lines


def run_headless(
    server: EchoServer,
    out: TextIO,
    log_format: str = "text",
    stop_requested: threading.Event | None = None,
) -> int:
    """Print the server's events until it stops or a stop is requested; exit status.

    `stop_requested` is set by the caller's signal handlers (which also wake the feed);
    the sink then stops the server and prints the remaining events, `shutdown` last.
    """
    if log_format not in ("text", "json"):
        raise ValueError(f"unknown log format {log_format!r}")
    formatter = JsonLines() if log_format == "json" else TextLines()
    requested = stop_requested if stop_requested is not None else threading.Event()
    feed = server.feed
    done = crashed = False
    while not done:
        feed.wait(WAIT)
        if requested.is_set() or not server.running:
            crashed = not requested.is_set()
            server.stop()
        events = feed.drain()
        if events:
            out.write("".join(line + "\n" for line in formatter.lines(events)))
            out.flush()
        done = any(isinstance(event, ShutdownComplete) for event in events)
        if not done:
            requested.wait(PACE)
    return 1 if crashed else 0
