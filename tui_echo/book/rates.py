"""Rates: bytes a second over a sliding window, a client's from its own samples,
the server's from the growth of its totals.

Apart from the book because it is arithmetic over samples and a window, not the
folding of events; the book calls it at each refresh. Pure, like the book.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable

from tui_echo.book.records import ClientRecord, Totals

RATE_FLOOR = 1.0
"""The shortest span a rate is taken over: a rate is bytes a second, and over less
than one it would claim bytes never sent (27 bytes a moment old read `116 B/s`)."""


def window_rates(
    samples: list[tuple[float, int, int]], now: float, horizon: float
) -> tuple[float, float]:
    """Bytes per second in and out over the window ending at `now`.

    The oldest sample kept is the last one at or before the window's start, so an
    idle client's rate falls to zero as the window slides past its last data.
    """
    drop = 0
    while drop + 1 < len(samples) and samples[drop + 1][0] <= horizon:
        drop += 1
    del samples[:drop]
    since, base_in, base_out = samples[0]
    _, total_in, total_out = samples[-1]
    span = max(now - since, RATE_FLOOR)
    return (total_in - base_in) / span, (total_out - base_out) / span


def server_rates(
    samples: deque[tuple[float, int, int]],
    totals: Totals,
    clients: Iterable[ClientRecord],
    now: float,
    horizon: float,
) -> tuple[float, float]:
    """The server's rates in and out: the totals' growth over the window ending
    now. `samples` are the totals at each refresh; this one's is added to them."""
    samples.append((now, totals.bytes_in, totals.bytes_out))
    if now - samples[0][0] < RATE_FLOOR:
        # Less than a second of growth to measure (the first refreshes): the
        # open clients' own rates are the best word until there is.
        open_clients = [r for r in clients if not r.closed]
        return (
            sum(r.rate_in for r in open_clients),
            sum(r.rate_out for r in open_clients),
        )
    while len(samples) > 1 and samples[1][0] <= horizon:
        samples.popleft()
    since, base_in, base_out = samples[0]
    span = max(now - since, RATE_FLOOR)
    return (
        max(0, totals.bytes_in - base_in) / span,
        max(0, totals.bytes_out - base_out) / span,
    )
