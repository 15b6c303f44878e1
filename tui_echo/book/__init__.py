"""The view model: what the monitor and the headless log show, folded from events.

Pure: no I/O, no threads, time from an injected clock; so every number on screen is
unit-testable without a terminal.
"""

from __future__ import annotations

from tui_echo.book.client_book import ClientBook
from tui_echo.book.door import DoorState
from tui_echo.book.records import (
    HISTORY_LENGTH,
    HISTORY_SECONDS,
    LINGER,
    RATE_WINDOW,
    TIMELINE_LENGTH,
    ClientRecord,
    ClosedClient,
    ScenarioClock,
    Totals,
)

__all__ = [
    "HISTORY_LENGTH",
    "HISTORY_SECONDS",
    "LINGER",
    "RATE_WINDOW",
    "TIMELINE_LENGTH",
    "ClientBook",
    "ClientRecord",
    "ClosedClient",
    "DoorState",
    "ScenarioClock",
    "Totals",
]
