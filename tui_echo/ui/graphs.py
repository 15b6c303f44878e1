"""The last minutes as charts: in and out rates and the clients connected, for the
server (a `Trend` sampled at each refresh) or one client (from its timeline).

Pure: numbers in, `rich.text.Text` out. Bars of eighth blocks under a y axis that
says its scale (the peak, half of it, zero) and an x axis in seconds ago, so a
chart reads at 80x24 with no plotting library.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Sequence

from rich.text import Text

from tui_echo.book import ClientBook, ClientRecord
from tui_echo.events import ClientData

TREND_SECONDS = 300
"""Seconds of history the charts keep: the last five minutes."""
BLOCKS = " ▁▂▃▄▅▆▇█"
AXIS = 10
"""Cells of the y axis's labels."""


class Trend:
    """The server's totals second by second, for the charts (UI thread: sampled at
    each refresh, so nothing is added to the work per event)."""

    def __init__(self) -> None:
        self.rate_in: deque[float] = deque(maxlen=TREND_SECONDS)
        self.rate_out: deque[float] = deque(maxlen=TREND_SECONDS)
        self.clients: deque[float] = deque(maxlen=TREND_SECONDS)
        self._last: tuple[int, int, int] | None = None
        """(second, bytes in, bytes out) at the last whole second sampled."""

    def sample(self, book: ClientBook) -> None:
        """Add the seconds that ended since the last sample (their bytes spread
        evenly over them: a refresh comes about once a second)."""
        second = int(book.clock())
        totals = book.totals
        last = self._last
        self._last = (second, totals.bytes_in, totals.bytes_out)
        if last is None or second <= last[0]:
            if last is not None:
                self._last = last  # the same second: keep its start
            return
        gone = min(second - last[0], TREND_SECONDS)
        grown_in = (totals.bytes_in - last[1]) / gone
        grown_out = (totals.bytes_out - last[2]) / gone
        for _ in range(gone):
            self.rate_in.append(grown_in)
            self.rate_out.append(grown_out)
            self.clients.append(totals.clients_now)


def client_rates(
    record: ClientRecord, now: float, seconds: int
) -> tuple[list[float], list[float]]:
    """Bytes in and out a second of one client over its last `seconds` whole
    seconds, from the data events of its timeline."""
    end = int(now)
    start = end - seconds
    rate_in = [0.0] * seconds
    rate_out = [0.0] * seconds
    before_in = before_out = 0
    for event in record.timeline or ():
        if not isinstance(event, ClientData):
            continue
        index = int(event.ts) - start
        if 0 <= index < seconds:
            rate_in[index] += event.bytes_in - before_in
            rate_out[index] += event.bytes_out - before_out
        before_in, before_out = event.bytes_in, event.bytes_out
    return rate_in, rate_out


def chart(
    title: str,
    values: Sequence[float],
    width: int,
    height: int,
    label: Callable[[float], str],
    style: str = "",
) -> Text:
    """`values` (oldest first, one a second) as bars `height` rows high in `width`
    cells, with the scale on the left and seconds ago below."""
    columns = max(1, width - AXIS - 1)
    shown = list(values)[-columns:]
    shown = [0.0] * (columns - len(shown)) + shown
    peak = max(shown, default=0.0)
    text = Text()
    text.append(f"{title}  (peak {label(peak)})\n", style="bold")
    eighths = [0 if peak <= 0 else round(v / peak * height * 8) for v in shown]
    for row in range(height):
        floor = (height - 1 - row) * 8
        if row == 0:
            tick = label(peak)
        elif row == height // 2:
            tick = label(peak / 2)
        elif row == height - 1:
            tick = label(0)
        else:
            tick = ""
        text.append(f"{tick:>{AXIS - 1}} ┤", style="dim")
        text.append(
            "".join(BLOCKS[max(0, min(8, e - floor))] for e in eighths), style=style
        )
        text.append("\n")
    text.append(" " * (AXIS - 1) + " └" + "─" * columns + "\n", style="dim")
    left = f"-{columns}s"
    middle = f"-{columns // 2}s"
    axis = [" "] * columns
    for at, word in ((0, left), (columns // 2 - len(middle) // 2, middle)):
        axis[at : at + len(word)] = word
    axis[columns - 3 :] = "now"
    text.append(" " * (AXIS + 1) + "".join(axis)[:columns], style="dim")
    return text
