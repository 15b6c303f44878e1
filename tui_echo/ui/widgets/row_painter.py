"""`RowPainter`: the client table's lines as strips, and the caches behind them.

The table decides which clients are on screen, in which order, and where the cursor
is; the painter says what their lines look like: the columns that fit the width
(worked out once per size), the text of each row drawn (kept until the table's next
update) and the component styles (looked up once: a lookup costs more than a row).
Apart from the table so that the widget keeps to order, cursor and input.
"""

from __future__ import annotations

from collections.abc import Callable

from rich.segment import Segment
from rich.style import Style
from textual.strip import Strip

from tui_echo.book import ClientBook
from tui_echo.ui.widgets.columns import GAP, RowView, layout_columns
from tui_echo.ui.widgets.rows import Layout, header_text, row_cells


class RowPainter:
    """Strips for the header, the rows, the hint and the blank lines of a table."""

    def __init__(
        self, book: ClientBook, view: RowView, lookup: Callable[[str], Style]
    ) -> None:
        self._book = book
        self._view = view
        self._lookup = lookup
        """A style by name: `base`, `header`, `cursor`, `hint` or a client state."""
        self._styles: dict[str, Style] = {}
        self._layout_for: tuple[int, int, bool, bool, bool] = (
            -1,
            -1,
            False,
            False,
            False,
        )
        self._layout: Layout = []
        self._cells: dict[int, list[str]] = {}
        """The text of the rows drawn since the last update, by client id."""

    def forget_styles(self) -> None:
        """The theme or the stylesheet changed: look the styles up again."""
        self._styles.clear()

    def forget_cells(self) -> None:
        """The rows may say something else now: work their text out again."""
        self._cells.clear()

    def style(self, name: str) -> Style:
        style = self._styles.get(name)
        if style is None:
            style = self._styles[name] = self._lookup(name)
        return style

    def columns(self, width: int) -> Layout:
        """The columns that fit `width`, with their widths (worked out once per
        size, and again when a column comes or goes)."""
        book = self._book
        key = (
            width,
            max(3, len(str(book.max_id))),
            book.faults_in_play,
            self._view.kernel is not None,
            book.tls is not None,
        )
        if key != self._layout_for:
            self._layout_for = key
            self._layout = layout_columns(*key)
            self._cells.clear()
        return self._layout

    def cells(self, client_id: int, layout: Layout) -> list[str]:
        """The text of a row's cells (cached until the next update)."""
        cells = self._cells.get(client_id)
        if cells is None:
            record = self._book.clients.get(client_id)
            if record is None:
                return []
            cells = self._cells[client_id] = row_cells(record, layout, self._view)
        return cells

    def header(self, width: int, sort_column: str, descending: bool) -> Strip:
        text = header_text(self.columns(width), sort_column, descending)
        return Strip([Segment(text, self.style("header"))])

    def hint(self, text: str) -> Strip:
        return Strip([Segment(" " + text, self.style("hint"))])

    def blank(self, width: int) -> Strip:
        return Strip.blank(width, self.style("base"))

    def row(self, client_id: int, width: int, *, cursor: bool) -> Strip:
        """A client's line: a closed one dimmed, the cursor's highlighted, the
        state cell in the state's colour."""
        record = self._book.clients.get(client_id)
        if record is None:
            return self.blank(width)
        layout = self.columns(width)
        state_style = self.style(record.state)
        row_style = state_style if record.closed else self.style("base")
        if cursor:
            row_style = row_style + self.style("cursor")
            state_style = row_style
        gap = " " * GAP
        segments = []
        for (column, _), text in zip(
            layout, self.cells(client_id, layout), strict=True
        ):
            style = state_style if column.key == "state" else row_style
            segments.append(Segment(text + gap, style))
        return Strip(segments)
