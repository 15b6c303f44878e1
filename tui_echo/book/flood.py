"""A flood: a batch of events in which more than `FLOOD` clients come and go.

Which of its clients skip their row (all but the latest `FLOOD_ROWS`), and which of
those the history still remembers. Apart from the book because it is one decision
over a whole batch, taken before any of it is folded; the book then folds the
skipped clients' counts itself.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

from tui_echo.book.records import HISTORY_LENGTH
from tui_echo.events import ClientClosed, ClientConnected, Event

FLOOD = 200
"""Clients that come and go within one batch beyond which the batch is a flood."""
FLOOD_ROWS = 50
"""Of a flood's clients, how many still get a row (the latest ones)."""

NOBODY: frozenset[int] = frozenset()


@dataclass(slots=True)
class BriefClient:
    """A flood's client while the book folds its batch: what its history line
    needs."""

    peer: str
    connected_at: float
    fault: str | None


def flood_clients(events: Sequence[Event]) -> tuple[Collection[int], Collection[int]]:
    """The clients of a flood that connect and close within `events`, but the
    last `FLOOD_ROWS` of them (nobody, if it is no flood); and of those, the
    ones whose close is recent enough to stay in the history."""
    connected = {e.client for e in events if type(e) is ClientConnected}
    if len(connected) <= FLOOD:
        return NOBODY, NOBODY
    closes = [e.client for e in events if type(e) is ClientClosed]
    closed = [client for client in closes if client in connected]
    if len(closed) <= FLOOD:
        return NOBODY, NOBODY
    brief = set(closed[:-FLOOD_ROWS])
    # The history keeps the last HISTORY_LENGTH closes: older ones of this
    # batch would be forgotten within it, so they are not written at all.
    remembered = brief.intersection(closes[-HISTORY_LENGTH:])
    return brief, remembered
