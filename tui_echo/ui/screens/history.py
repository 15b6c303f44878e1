"""`HistoryScreen`: the last closed clients, with how and why each one ended."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import Footer, Static

from tui_echo.book import HISTORY_LENGTH, ClientBook
from tui_echo.ui.widgets.history_table import HistoryTable


class HistoryScreen(Screen[None]):
    """Closed clients, newest first: reason, how long they stayed, their bytes and
    what was discarded. Refreshed by the app with the main screen."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,h", "dismiss", "Back", tooltip="Back to the clients"),
    ]

    def __init__(self, book: ClientBook) -> None:
        super().__init__()
        self.book = book
        self.table = HistoryTable(book, id="history")
        self._count = -1

    def compose(self) -> ComposeResult:
        yield Static(id="history-title")
        yield self.table
        yield Footer()

    def on_mount(self) -> None:
        self.table.focus()
        self.show()

    def show(self) -> None:
        """Show the history as the book has it now (UI thread)."""
        self.table.update_rows()
        count = len(self.book.history)
        if count != self._count:  # a new text costs a layout pass
            self._count = count
            self.query_one("#history-title", Static).update(
                f" closed clients: {count}, newest first"
                f" (the last {HISTORY_LENGTH:,} are kept)"
            )
