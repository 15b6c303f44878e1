"""`ClientTable`: the live client list, drawn line by line from the `ClientBook`.

Why not `DataTable`: with 1,000 busy clients a refresh changes ~6,000 cells, and
`DataTable.update_cell` costs ~17 us each (100 ms a refresh, measured with Textual
8.2.8), while `remove_row` is O(rows). This widget keeps only an ordered list of
client ids; a refresh re-sorts and filters that list and repaints, and painting asks
for the visible lines alone, so the cost of a refresh follows the screen's height,
not the number of clients.

The cursor belongs to a client, not to a line: it stays on its client while rows are
added, updated, sorted and removed, and lands on the neighbour when its client goes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, ClassVar

from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding, BindingType
from textual.content import Content
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from tui_echo.book import ClientBook, ClientRecord
from tui_echo.common import ClientState
from tui_echo.text import human_duration, human_rate, human_size

STATE_ORDER = {state: rank for rank, state in enumerate(ClientState)}
"""Sorting by state goes the way a connection's life does."""


@dataclass(frozen=True, slots=True)
class Column:
    """One column: how to show a client in it, and how to sort by it."""

    key: str
    label: str
    width: int
    """Cells wide; the peer column takes whatever the others leave."""
    right: bool
    """Right-aligned (numbers)."""
    text: Callable[[ClientRecord, float], str]
    sort_key: Callable[[ClientRecord, float], Any]
    descending_first: bool = False
    """Sort biggest first on the first click (bytes, rates, ages)."""


def _state_text(record: ClientRecord, now: float) -> str:
    if record.closed:
        return record.close_reason or ClientState.CLOSED
    return record.state


def _idle_for(record: ClientRecord, now: float) -> float:
    return max(0.0, (record.closed_at or now) - record.last_active)


def _measure(
    key: str,
    label: str,
    width: int,
    value: Callable[[ClientRecord, float], float],
    show: Callable[[float], str],
    *,
    descending_first: bool = True,
) -> Column:
    """A right-aligned column of a number: sorted by the value, shown by `show`."""
    return Column(
        key,
        label,
        width,
        True,
        lambda r, now: show(value(r, now)),
        value,
        descending_first,
    )


COLUMNS: tuple[Column, ...] = (
    Column("id", "ID", 5, True, lambda r, now: str(r.id), lambda r, now: r.id),
    Column("peer", "PEER", 21, False, lambda r, now: r.peer, lambda r, now: r.peer),
    Column(
        "state",
        "STATE",
        13,
        False,
        _state_text,
        lambda r, now: STATE_ORDER[r.state],
    ),
    _measure("age", "AGE", 6, lambda r, now: r.connected_for(now), human_duration),
    _measure("in", "IN", 9, lambda r, now: r.bytes_in, human_size),
    _measure("out", "OUT", 9, lambda r, now: r.bytes_out, human_size),
    _measure("pending", "PENDING", 9, lambda r, now: r.pending, human_size),
    _measure("rate_in", "IN/s", 11, lambda r, now: r.rate_in, human_rate),
    _measure("rate_out", "OUT/s", 11, lambda r, now: r.rate_out, human_rate),
    _measure("idle", "IDLE", 6, _idle_for, human_duration, descending_first=False),
)
COLUMN_KEYS = tuple(column.key for column in COLUMNS)
_BY_KEY = {column.key: column for column in COLUMNS}
_PEER = _BY_KEY["peer"]
_GAP = 1


def _fit(text: str, width: int, right: bool) -> str:
    if len(text) > width:
        return text[: max(0, width - 1)] + "…"
    return text.rjust(width) if right else text.ljust(width)


class ClientTable(ScrollView, can_focus=True):
    """A sortable, filterable table of clients whose cursor follows its client."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "up", "cursor(-1)", "Up", tooltip="Select the client above", show=False
        ),
        Binding(
            "down", "cursor(1)", "Down", tooltip="Select the client below", show=False
        ),
        Binding("pageup", "page(-1)", "Page up", tooltip="A page up", show=False),
        Binding("pagedown", "page(1)", "Page down", tooltip="A page down", show=False),
        Binding("home", "jump(0)", "First", tooltip="The first client", show=False),
        Binding("end", "jump(-1)", "Last", tooltip="The last client", show=False),
    ]

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "client-table--header",
        "client-table--cursor",
        "client-table--hint",
        *(f"client-table--{state}" for state in ClientState),
    }

    DEFAULT_CSS = """
    ClientTable {
        height: 1fr;
        scrollbar-gutter: stable;
        & > .client-table--header { text-style: bold; color: $text-accent; }
        & > .client-table--cursor { background: $block-cursor-blurred-background; }
        &:focus > .client-table--cursor {
            background: $block-cursor-background;
            color: $block-cursor-foreground;
        }
        & > .client-table--open { color: $text-success; }
        & > .client-table--paused { color: $text-warning; text-style: bold; }
        & > .client-table--half-closed { color: $text-primary; }
        & > .client-table--closing { color: $text-error; }
        & > .client-table--closed { color: $text-disabled; }
        & > .client-table--hint { color: $text-muted; text-style: italic; }
    }
    """

    class ClientHighlighted(Message):
        """The cursor moved to another client (or to none)."""

        def __init__(self, table: ClientTable, client_id: int | None) -> None:
            super().__init__()
            self.table = table
            self.client_id = client_id

        @property
        def control(self) -> ClientTable:
            """The table the cursor moved in."""
            return self.table

    class ClientSelected(Message):
        """Enter or a click on the highlighted client: open its details."""

        def __init__(self, table: ClientTable, client_id: int) -> None:
            super().__init__()
            self.table = table
            self.client_id = client_id

        @property
        def control(self) -> ClientTable:
            """The table the client was chosen in."""
            return self.table

    def __init__(
        self,
        book: ClientBook,
        *,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.book = book
        self.order: list[int] = []
        """Client ids of the rows, top to bottom, after filter and sort."""
        self.cursor_client: int | None = None
        self.sort_column = "id"
        self.sort_descending = False
        self.filter_text = ""
        self.empty_hint = "No clients yet."
        """What the table says when it has no row (kept up to date by the table)."""
        self._now = 0.0
        self._styles: dict[str, Style] = {}
        """Component styles, looked up once: a lookup costs more than a row."""
        self._widths_for: tuple[int, list[int]] = (-1, [])
        self._title = ""

    def notify_style_update(self) -> None:
        self._styles.clear()  # the theme or the stylesheet changed
        super().notify_style_update()

    def _style(self, name: str) -> Style:
        style = self._styles.get(name)
        if style is None:
            if name == "base":
                style = self.rich_style
            else:
                style = self.get_component_rich_style(f"client-table--{name}")
            self._styles[name] = style
        return style

    # ---- the rows ---------------------------------------------------------------

    def update_rows(self, now: float) -> None:
        """Re-filter and re-sort from the book, keep the cursor on its client, repaint.

        Costs one sort of the clients plus the painting of the visible lines.
        """
        self._now = now
        previous_index = self.cursor_index
        records: Iterable[ClientRecord] = self.book.clients.values()
        if self.filter_text:
            needle = self.filter_text.lower()
            records = [r for r in records if _matches(r, needle)]
        column = _BY_KEY[self.sort_column]
        ordered = sorted(
            records,
            key=lambda r: (column.sort_key(r, now), r.id),
            reverse=self.sort_descending,
        )
        self.order = [record.id for record in ordered]
        self._restore_cursor(previous_index)
        self.virtual_size = Size(self._total_width(), len(self.order) + 1)
        self.empty_hint = self._empty_hint()
        self._update_title()
        self.refresh()

    def _empty_hint(self) -> str:
        """Why there is no row: a filter, or no client yet (and how to make one)."""
        if self.filter_text:
            return "No client matches the filter."
        address = self.book.address
        if address is None:
            return "No clients yet."
        host, port = address
        if host in ("0.0.0.0", "::"):  # bound to every address: suggest loopback
            host = "127.0.0.1" if host == "0.0.0.0" else "::1"
        return f"No clients yet. Try: nc {host} {port}"

    def _update_title(self) -> None:
        """Rows shown, the sort, the filter; set only when it changes (a new title
        costs a layout pass)."""
        column = _BY_KEY[self.sort_column]
        arrow = "▼" if self.sort_descending else "▲"
        title = f"clients {len(self.order)} · sorted by {column.label} {arrow}"
        if self.filter_text:
            title += f" · filter “{self.filter_text}”"
        if title != self._title:
            self._title = title
            # Content, not a str: the filter is the user's text, never markup.
            self.border_title = Content(title)

    @property
    def cursor_index(self) -> int | None:
        """The row of the cursor's client, if it is shown."""
        if self.cursor_client is None:
            return None
        try:
            return self.order.index(self.cursor_client)
        except ValueError:
            return None

    def _restore_cursor(self, previous_index: int | None) -> None:
        if not self.order:
            self._move_to(None)
        elif self.cursor_client is None or self.cursor_client not in self.order:
            # The client left (or there was none): land on its neighbour.
            index = 0 if previous_index is None else previous_index
            self._move_to(self.order[min(index, len(self.order) - 1)])

    def _move_to(self, client_id: int | None) -> None:
        if client_id != self.cursor_client:
            self.cursor_client = client_id
            self.post_message(self.ClientHighlighted(self, client_id))
        self._scroll_cursor_into_view()

    def select_client(self, client_id: int) -> None:
        """Put the cursor on a client, if it is shown."""
        if client_id in self.order:
            self._move_to(client_id)
            self.refresh()

    def _scroll_cursor_into_view(self) -> None:
        index = self.cursor_index
        if index is None:
            return
        visible = max(1, self.scrollable_content_region.height - 1)
        top = round(self.scroll_y)
        if index < top:
            self.scroll_to(y=index, animate=False, immediate=True)
        elif index >= top + visible:
            self.scroll_to(y=index - visible + 1, animate=False, immediate=True)

    # ---- sorting ------------------------------------------------------------------

    def sort_by(self, column_key: str) -> None:
        """Sort by a column; the same column again reverses the order."""
        if column_key == self.sort_column:
            self.sort_descending = not self.sort_descending
        else:
            self.sort_column = column_key
            self.sort_descending = _BY_KEY[column_key].descending_first
        self.update_rows(self._now)

    def cycle_sort(self) -> None:
        """Sort by the next column, in its natural direction."""
        index = (COLUMN_KEYS.index(self.sort_column) + 1) % len(COLUMN_KEYS)
        self.sort_by(COLUMN_KEYS[index])

    # ---- keys and mouse --------------------------------------------------------------

    def action_cursor(self, step: int) -> None:
        index = self.cursor_index
        if not self.order:
            return
        target = 0 if index is None else max(0, min(len(self.order) - 1, index + step))
        self._move_to(self.order[target])
        self.refresh()

    def action_page(self, direction: int) -> None:
        self.action_cursor(
            direction * max(1, self.scrollable_content_region.height - 2)
        )

    def action_jump(self, index: int) -> None:
        if self.order:
            self._move_to(self.order[index])
            self.refresh()

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None:
            return
        if offset.y == 0:
            column = self._column_at(offset.x + round(self.scroll_x))
            if column is not None:
                self.sort_by(column)
            return
        index = round(self.scroll_y) + offset.y - 1
        if 0 <= index < len(self.order):
            client_id = self.order[index]
            if client_id == self.cursor_client and event.chain > 1:
                self.post_message(self.ClientSelected(self, client_id))
            self._move_to(client_id)
            self.refresh()

    def key_enter(self) -> None:
        if self.cursor_client is not None:
            self.post_message(self.ClientSelected(self, self.cursor_client))

    # ---- painting -------------------------------------------------------------

    def _widths(self) -> list[int]:
        """Each column's width for the current size (the peer column stretches)."""
        available = self.scrollable_content_region.width
        if self._widths_for[0] != available:
            fixed = sum(c.width + _GAP for c in COLUMNS if c is not _PEER)
            peer = max(_PEER.width, available - fixed - _GAP)
            widths = [peer if c is _PEER else c.width for c in COLUMNS]
            self._widths_for = (available, widths)
        return self._widths_for[1]

    def _total_width(self) -> int:
        return sum(self._widths()) + _GAP * len(COLUMNS)

    def _column_at(self, x: int) -> str | None:
        left = 0
        for column, width in zip(COLUMNS, self._widths(), strict=True):
            if left <= x < left + width + _GAP:
                return column.key
            left += width + _GAP
        return None

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        scroll_x = round(self.scroll_x)
        if y == 0:
            strip = self._header_strip()
        else:
            index = round(self.scroll_y) + y - 1
            if 0 <= index < len(self.order):
                strip = self._row_strip(self.order[index])
            elif index == 1 and not self.order:
                strip = Strip([Segment(" " + self.empty_hint, self._style("hint"))])
            else:
                strip = Strip.blank(width, self._style("base"))
        return strip.crop_extend(scroll_x, scroll_x + width, self._style("base"))

    def _header_strip(self) -> Strip:
        style = self._style("header")
        cells = []
        for column, width in zip(COLUMNS, self._widths(), strict=True):
            label = column.label
            if column.key == self.sort_column:
                label += "▼" if self.sort_descending else "▲"
            cells.append(_fit(label, width, column.right))
        return Strip([Segment(" ".join(cells) + " ", style)])

    def _row_strip(self, client_id: int) -> Strip:
        record = self.book.clients.get(client_id)
        if record is None:
            return Strip.blank(
                self.scrollable_content_region.width, self._style("base")
            )
        now = self._now
        state_style = self._style(record.state)
        row_style = state_style if record.closed else self._style("base")
        if client_id == self.cursor_client:
            row_style = row_style + self._style("cursor")
            state_style = row_style
        segments = []
        for column, width in zip(COLUMNS, self._widths(), strict=True):
            text = _fit(column.text(record, now), width, column.right) + " "
            style = state_style if column.key == "state" else row_style
            segments.append(Segment(text, style))
        return Strip(segments)


def _matches(record: ClientRecord, needle: str) -> bool:
    """Does the filter text appear in the client's id, peer, state or close reason?"""
    return (
        needle in record.peer.lower()
        or needle in record.state
        or needle in (record.close_reason or "")
        or needle.lstrip("#") == str(record.id)
    )
