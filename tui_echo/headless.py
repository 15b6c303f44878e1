"""The `--no-ui` sink: one line per event on stdout, as text or JSON Lines."""

from __future__ import annotations

import json
import threading
from typing import TextIO

from tui_echo.book import ClientBook
from tui_echo.events import Event, ShutdownComplete, to_json
from tui_echo.server import EchoServer
from tui_echo.text import describe, timestamp

WAIT = 0.5
"""Longest sleep between looks at the server when no event wakes the sink."""


class LineFormatter:
    """Turns events into output lines; text lines name clients via a `ClientBook`."""

    def __init__(self, log_format: str, book: ClientBook) -> None:
        if log_format not in ("text", "json"):
            raise ValueError(f"unknown log format {log_format!r}")
        self.json = log_format == "json"
        self.book = book

    def line(self, event: Event) -> str:
        """The line for `event` (after it was applied to the book)."""
        if self.json:
            return json.dumps(to_json(event), separators=(",", ":"))
        return f"{timestamp(event.ts)} {describe(event, self.book.peer_of)}"


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
    book = ClientBook()
    formatter = LineFormatter(log_format, book)
    requested = stop_requested if stop_requested is not None else threading.Event()
    feed = server.feed
    done = crashed = False
    while not done:
        feed.wait(WAIT)
        if requested.is_set() or not server.running:
            crashed = not requested.is_set()
            server.stop()
        events = feed.drain()
        book.apply_all(events)
        book.refresh()
        if events:
            out.write("".join(formatter.line(event) + "\n" for event in events))
            out.flush()
        done = any(isinstance(event, ShutdownComplete) for event in events)
    return 1 if crashed else 0
