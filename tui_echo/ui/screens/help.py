"""`HelpScreen`: every key, what the columns and states mean."""

from __future__ import annotations

from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

STATES = (
    ("open", "connected; every byte it sends is echoed at once"),
    (
        "paused",
        "its pending echo reached --max-buffer; reading stops until half drains",
    ),
    ("half-closed", "it shut down its sending side; the rest is echoed, then closed"),
    ("closing", "you asked to kick or reset it; the close is on its way"),
    ("closed", "gone, with the reason; the row stays a few seconds, dimmed"),
)


class HelpScreen(ModalScreen[None]):
    """The keys of the main screen and a legend of the client table."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,question_mark,q", "dismiss", "Close help"),
    ]

    def __init__(self, keys: list[tuple[str, str]]) -> None:
        super().__init__()
        self.keys = keys

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help"):
            yield Static(Text("tui-echo: keys", style="bold"), classes="title")
            yield Static(self._table(self.keys, "key", "does"))
            yield Static(Text("Client states", style="bold"), classes="title")
            yield Static(self._table(list(STATES), "state", "means"))
            yield Static(
                Text(
                    "IN and OUT count bytes received and echoed; PENDING is what waits"
                    " in the server's buffer for the client to read; IN/s and OUT/s"
                    " are rates over the last two seconds; IDLE is the time since the"
                    " client last sent anything.\n\nPress escape, ? or q to close.",
                    style="italic",
                )
            )

    @staticmethod
    def _table(rows: list[tuple[str, str]], left: str, right: str) -> Table:
        table = Table(box=None, show_header=True, header_style="bold", expand=True)
        table.add_column(left, style="bold", no_wrap=True)
        table.add_column(right, ratio=1)
        for key, text in rows:
            table.add_row(Text(key), Text(text))
        return table
