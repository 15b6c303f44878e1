"""`HistoryTable`: the closed clients the book remembers, newest first.

A Line-API `ScrollView` like the client table, for the same reason: a thousand rows
cost nothing until they are scrolled into view. No cursor: it scrolls.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

from rich.segment import Segment
from rich.style import Style
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip

from tui_echo.book import ClientBook, ClosedClient
from tui_echo.ui.widgets.columns import GAP, fit, fit_peer
from tui_echo.units import human_duration, human_size
from tui_echo.words import clock_time


@dataclass(frozen=True, slots=True)
class HistoryColumn:
    label: str
    width: int
    right: bool
    text: Callable[[ClosedClient], str]
    priority: int = 0
    """0 always stays; larger numbers give way to a narrow terminal first."""


HISTORY_COLUMNS: tuple[HistoryColumn, ...] = (
    HistoryColumn("ID", 4, True, lambda c: str(c.id)),
    HistoryColumn("PEER", 15, False, lambda c: c.peer),
    HistoryColumn("REASON", 13, False, lambda c: c.reason),
    HistoryColumn("LASTED", 6, True, lambda c: human_duration(c.duration)),
    HistoryColumn("IN", 8, True, lambda c: human_size(c.bytes_in)),
    HistoryColumn("OUT", 8, True, lambda c: human_size(c.bytes_out)),
    HistoryColumn("DISCARDED", 9, True, lambda c: human_size(c.discarded), 0),
    HistoryColumn("CLOSED AT", 12, False, lambda c: clock_time(c.closed_at), 1),
    HistoryColumn("FAULT", 10, False, lambda c: c.fault or "-", 2),
)


def history_layout(available: int) -> list[tuple[HistoryColumn, int]]:
    """The columns that fit, lowest priority giving way first; PEER takes what
    is left (up to 28 cells), then FAULT."""
    chosen = [c for c in HISTORY_COLUMNS if c.priority == 0]
    used = sum(c.width + GAP for c in chosen)
    for level in (1, 2):
        for column in HISTORY_COLUMNS:
            if column.priority == level and used + column.width + GAP <= available:
                chosen.append(column)
                used += column.width + GAP
    spare = max(0, available - used)
    widths = {}
    for column in HISTORY_COLUMNS:
        widths[column.label] = column.width
        if column.label == "PEER":
            wider = min(spare, 28 - column.width)
            widths["PEER"] += wider
            spare -= wider
    if any(c.label == "FAULT" for c in chosen):
        widths["FAULT"] += spare
    return [(c, widths[c.label]) for c in HISTORY_COLUMNS if c in chosen]


class HistoryTable(ScrollView, can_focus=True):
    """Closed clients, newest first; repaints when one more has closed."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "history-table--header",
        "history-table--hint",
    }

    DEFAULT_CSS = """
    HistoryTable {
        height: 1fr;
        scrollbar-size-vertical: 1;
        overflow-x: hidden;
        & > .history-table--header { text-style: bold; color: $text-accent; }
        & > .history-table--hint { color: $text-muted; text-style: italic; }
    }
    """

    def __init__(self, book: ClientBook, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.book = book
        self.rows: list[ClosedClient] = []
        """The closed clients, newest first."""
        self._shown_for: tuple[int, int] = (-1, -1)

    def on_mount(self) -> None:
        self.update_rows()

    def update_rows(self) -> None:
        """Take the book's history again if it changed (UI thread)."""
        history = self.book.history
        newest = next(reversed(history), 0) if history else 0
        key = (len(history), newest)
        if key == self._shown_for:
            return
        self._shown_for = key
        self.rows = list(reversed(history.values()))
        self.virtual_size = Size(
            self.scrollable_content_region.width, len(self.rows) + 1
        )
        self.refresh()

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        base = self.rich_style
        layout = history_layout(width)
        if y == 0:
            style: Style = self.get_component_rich_style("history-table--header")
            text = "".join(fit(c.label, w, c.right) + " " * GAP for c, w in layout)
            strip = Strip([Segment(text, style)])
        else:
            index = round(self.scroll_y) + y - 1
            if 0 <= index < len(self.rows):
                closed = self.rows[index]
                cells = []
                for column, w in layout:
                    if column.label == "PEER":
                        cells.append(fit_peer(closed.peer, w))
                    else:
                        cells.append(fit(column.text(closed), w, column.right))
                strip = Strip([Segment((" " * GAP).join(cells), base)])
            elif index == 1 and not self.rows:
                hint = self.get_component_rich_style("history-table--hint")
                strip = Strip([Segment(" No client has closed yet.", hint)])
            else:
                strip = Strip.blank(width, base)
        return strip.crop_extend(0, width, base)
