"""`ClientTable`: the live client list, drawn line by line from the `ClientBook`.

Why not `DataTable`: a busy server changes most of its cells at every refresh, and
it re-renders every visible cell after any change, while `remove_row` is O(rows)
(research/peers-and-performance.md has the measurements). This widget keeps only
an ordered list of client ids; a refresh re-sorts and filters that list, works out
the text of the visible rows alone, and repaints only when that text changed. The
cost of a refresh follows the screen's height, not the number of clients (but for
one sort).

The cursor belongs to a client, not to a line: it stays on its client while rows are
added, updated, sorted and removed, stays on screen while the order churns, and lands
on the neighbour when its client goes. The columns fit the width (columns.py); the
lines' text and styles, and their caches, are `RowPainter`'s (row_painter.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from rich.style import Style
from textual import events
from textual.binding import Binding, BindingType
from textual.content import Content
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from tui_echo.book import ClientBook
from tui_echo.events import ClientState, KernelStats
from tui_echo.ui.widgets.columns import BY_KEY, Column, RowView
from tui_echo.ui.widgets.row_painter import RowPainter
from tui_echo.ui.widgets.rows import (
    OrderStamp,
    column_at,
    empty_hint,
    order_stamp,
    ordered_clients,
    sortable,
    table_title,
)

Frame = tuple[object, ...]
"""Everything a repaint would show; equal frames need no repaint."""


class ClientTable(ScrollView, can_focus=True):
    """A sortable, filterable table of clients whose cursor follows its client."""

    sort_column: reactive[str] = reactive("id", repaint=False, init=False)
    """The key of the column the rows are sorted by (a sortable one)."""
    sort_descending: reactive[bool] = reactive(False, repaint=False, init=False)
    """Biggest first."""
    filter_text: reactive[str] = reactive("", repaint=False, init=False)
    """Only the clients whose id, peer, state, fault or close reason holds it."""

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
        scrollbar-size-vertical: 1;
        overflow-x: hidden;
        & > .client-table--header { text-style: bold; color: $text-accent; }
        & > .client-table--cursor { background: $block-cursor-blurred-background; }
        &:focus > .client-table--cursor {
            background: $block-cursor-background;
            color: $block-cursor-foreground;
        }
        & > .client-table--handshake { color: $text-secondary; }
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
        kernel: Callable[[int], KernelStats | None] | None = None,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.book = book
        self.order: list[int] = []
        """Client ids of the rows, top to bottom, after filter and sort."""
        self._sorted_from: OrderStamp | None = None
        """What `order` was sorted from (None: sort at the next update)."""
        self.cursor_client: int | None = None
        self.view = RowView(kernel=kernel)
        """The time and the kernel's answers the cells are drawn with."""
        self._painter = RowPainter(book, self.view, self._style_named)
        """The lines' text and styles, and their caches."""
        self._frame: Frame = ()
        self._title = ""
        self.repaints = 0
        """Repaints asked for by `update_rows` (tests count the skipped ones)."""

    def notify_style_update(self) -> None:
        self._painter.forget_styles()  # the theme or the stylesheet changed
        super().notify_style_update()

    def _style_named(self, name: str) -> Style:
        if name == "base":
            return self.rich_style
        return self.get_component_rich_style(f"client-table--{name}")

    # ---- the rows ---------------------------------------------------------------

    def update_rows(self, now: float) -> None:
        """Re-filter and re-sort from the book, keep the cursor on its client and on
        screen, and repaint if anything shown changed (UI thread).

        Costs one sort of the clients plus the text of the visible rows.
        """
        self.view.now = now
        previous_index = self.cursor_index
        was_visible = previous_index is not None and self._on_screen(previous_index)
        stamp = order_stamp(
            self.book, now, self.filter_text, self.sort_column, self.sort_descending
        )
        if stamp != self._sorted_from:
            self.order = ordered_clients(
                self.book,
                self.view,
                self.filter_text,
                self.sort_column,
                self.sort_descending,
            )
            self._sorted_from = stamp
        self.virtual_size = Size(
            self.scrollable_content_region.width, len(self.order) + 1
        )
        self._restore_cursor(previous_index, keep_visible=was_visible)
        self._update_title()
        self._painter.forget_cells()
        self._repaint_if_changed()

    def _on_screen(self, index: int) -> bool:
        top = round(self.scroll_y)
        return top <= index < top + self._rows_high()

    def _rows_high(self) -> int:
        """Rows of clients the table shows at once (the header takes a line)."""
        return max(1, self.scrollable_content_region.height - 1)

    def visible_clients(self) -> list[int]:
        """The ids of the rows on screen, top to bottom."""
        top = round(self.scroll_y)
        return self.order[top : top + self._rows_high()]

    def _repaint_if_changed(self) -> None:
        """Repaint unless the screen would look the same (skip the frame)."""
        layout = self._columns()
        rows = tuple(
            (client_id, tuple(self._painter.cells(client_id, layout)))
            for client_id in self.visible_clients()
        )
        frame = (
            round(self.scroll_y),
            self.cursor_client,
            tuple(width for _, width in layout),
            self.sort_column,
            self.sort_descending,
            rows,
            self.empty_hint if not self.order else "",
            tuple(
                self.book.clients[c].state for c, _ in rows if c in self.book.clients
            ),
        )
        if frame != self._frame:
            self._frame = frame
            self.repaints += 1
            self.refresh()

    @property
    def empty_hint(self) -> str:
        """Why there is no row (worked out when shown, so it is never stale)."""
        return empty_hint(self.book, self.filter_text)

    def _update_title(self) -> None:
        """Set the title when it changes (a new title costs a repaint)."""
        title = table_title(
            self.book,
            len(self.order),
            self.filter_text,
            self.sort_column,
            self.sort_descending,
        )
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

    def _restore_cursor(
        self, previous_index: int | None, *, keep_visible: bool
    ) -> None:
        if not self.order:
            self._move_to(None)
        elif self.cursor_client is None or self.cursor_client not in self.order:
            # The client left (or there was none): land on its neighbour.
            index = 0 if previous_index is None else previous_index
            self._move_to(self.order[min(index, len(self.order) - 1)])
        elif keep_visible:
            # The order churned under a cursor the user could see: follow it.
            self._scroll_cursor_into_view()

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
        visible = self._rows_high()
        top = round(self.scroll_y)
        if index < top:
            self.scroll_to(y=index, animate=False, immediate=True)
        elif index >= top + visible:
            self.scroll_to(y=index - visible + 1, animate=False, immediate=True)

    def shown_clients(self) -> list[int]:
        """The connected clients among the rows (what the filter lets through)."""
        clients = self.book.clients
        return [cid for cid in self.order if not clients[cid].closed]

    # ---- sorting and filtering -----------------------------------------------------

    def validate_sort_column(self, column_key: str) -> str:
        """Only a sortable column sorts (a kernel column where the kernel answers)."""
        return column_key if self._sortable(BY_KEY[column_key]) else self.sort_column

    def _sortable(self, column: Column) -> bool:
        return sortable(column, kernel=self.view.kernel is not None)

    def watch_sort_column(self) -> None:
        self.update_rows(self.book.clock())

    watch_sort_descending = watch_filter_text = watch_sort_column

    def sort_by(self, column_key: str) -> None:
        """Sort by a column; the same column again reverses the order."""
        column = BY_KEY[column_key]
        if not self._sortable(column):
            return
        if column_key == self.sort_column:
            self.sort_descending = not self.sort_descending
        else:
            # Both at once: one re-sort, in the column's first direction.
            self.set_reactive(ClientTable.sort_descending, column.descending_first)
            self.sort_column = column_key

    def cycle_sort(self) -> None:
        """Sort by the next column on screen, in its natural direction."""
        keys = [c.key for c, _ in self._columns() if self._sortable(c)]
        index = keys.index(self.sort_column) if self.sort_column in keys else -1
        self.sort_by(keys[(index + 1) % len(keys)])

    def reverse_sort(self) -> None:
        """The same column, the other way round."""
        self.sort_by(self.sort_column)

    # ---- keys and mouse --------------------------------------------------------------

    def action_cursor(self, step: int) -> None:
        index = self.cursor_index
        if not self.order:
            return
        target = 0 if index is None else max(0, min(len(self.order) - 1, index + step))
        self._move_to(self.order[target])
        self.refresh()

    def action_page(self, direction: int) -> None:
        self.action_cursor(direction * max(1, self._rows_high() - 1))

    def action_jump(self, index: int) -> None:
        if self.order:
            self._move_to(self.order[index])
            self.refresh()

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None:
            return
        if offset.y == 0:
            column = self._column_at(offset.x)
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

    def on_resize(self, event: events.Resize) -> None:
        self._painter.forget_cells()
        self.virtual_size = Size(event.size.width, len(self.order) + 1)
        self._scroll_cursor_into_view()

    # ---- painting -------------------------------------------------------------

    def _columns(self) -> list[tuple[Column, int]]:
        """The columns that fit now, with their widths (worked out once per size)."""
        return self._painter.columns(self.scrollable_content_region.width)

    def visible_columns(self) -> list[str]:
        """The keys of the columns on screen, left to right."""
        return [column.key for column, _ in self._columns()]

    def _column_at(self, x: int) -> str | None:
        return column_at(self._columns(), x)

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        painter = self._painter
        if y == 0:
            strip = painter.header(width, self.sort_column, self.sort_descending)
        else:
            index = round(self.scroll_y) + y - 1
            if 0 <= index < len(self.order):
                client_id = self.order[index]
                cursor = client_id == self.cursor_client
                strip = painter.row(client_id, width, cursor=cursor)
            elif index == 1 and not self.order:
                strip = painter.hint(self.empty_hint)
            else:
                strip = painter.blank(width)
        return strip.crop_extend(0, width, painter.style("base"))
