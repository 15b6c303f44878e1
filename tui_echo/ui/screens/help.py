"""`HelpScreen`: every key, what the columns and states mean.

The keys are read from the bindings themselves (`key_sections`), so the help
cannot disagree with what the keys do.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from tui_echo.events import ClientState
from tui_echo.ui.screens.detail import ClientDetailScreen
from tui_echo.ui.screens.fault import FaultScreen
from tui_echo.ui.screens.history import HistoryScreen
from tui_echo.ui.widgets import ClientTable

STATE_MEANINGS: dict[ClientState, str] = {
    ClientState.HANDSHAKE: "a TLS client still negotiating (--tls); nothing echoed yet",
    ClientState.OPEN: "connected; every byte it sends is echoed at once",
    ClientState.PAUSED: (
        "its pending echo reached --max-buffer, or all clients' together reached"
        " --max-memory; reading stops until it drains"
    ),
    ClientState.HALF_CLOSED: (
        "it shut down its sending side; the rest is echoed, then closed"
    ),
    ClientState.CLOSING: "you asked to kick or reset it; the close is on its way",
    ClientState.CLOSED: (
        "gone, with the reason; the row stays a few seconds, dimmed (h: history)"
    ),
}

COLUMN_MEANINGS: list[tuple[str, str]] = [
    ("IN, OUT", "bytes received from the client, and echoed back to it"),
    ("PENDING", "echo waiting in tui-echo's buffer for the client to read"),
    (
        "RECV-Q, SEND-Q",
        "the kernel's queues, as ss shows them: bytes received that tui-echo has"
        " not read yet, and bytes sent that the client has not acknowledged"
        " (n/a where the kernel cannot be asked)",
    ),
    ("IN/s, OUT/s", "rates over the last two seconds"),
    ("AGE, IDLE", "time since the client connected, and since it last sent"),
    ("TLS", "with --tls: the version and cipher negotiated, - until then"),
    ("FAULT", "the fault in force on the client (f sets it), - for none"),
]

KeySections = list[tuple[str, list[tuple[str, str]]]]
"""(section title, [(keys, what they do)]) as the app describes its bindings."""

MOUSE_KEYS = [
    ("click a header", "sort by that column; click again to reverse"),
    ("double-click a row", "details of that client"),
]


def key_sections(
    app: App[Any], actions: list[Binding], *, quit_text: str, commands: bool
) -> KeySections:
    """Every key in sections: the table's, the main screen's `actions` (those the
    source offers), each screen's, and the ones that work anywhere. `quit_text`
    says what `q` does in this mode; without `commands` the keys that act on a
    client are left out."""

    def describe(
        bindings: Iterable[BindingType], texts: dict[str, str] | None = None
    ) -> list[tuple[str, str]]:
        """(keys, what they do) for the bindings, keys of one action together;
        `texts` says it instead of the tooltip, by action."""
        described: dict[str, tuple[list[str], str]] = {}
        for binding in bindings:
            if not isinstance(binding, Binding):
                continue
            text = (texts or {}).get(binding.action, binding.tooltip)
            for key in binding.key.split(","):
                single = Binding(key.strip(), binding.action, binding.description)
                keys, _ = described.setdefault(
                    binding.action, ([], text or binding.description)
                )
                display = app.get_key_display(single)
                if display not in keys:
                    keys.append(display)
        return [(" ".join(keys), text) for keys, text in described.values()]

    details = [
        binding
        for binding in ClientDetailScreen.BINDINGS
        if commands
        or not (
            isinstance(binding, Binding)
            and binding.action in ClientDetailScreen.NEED_COMMANDS
        )
    ]
    palette = Binding(app.COMMAND_PALETTE_BINDING, "command_palette")
    return [
        ("Clients", describe(ClientTable.BINDINGS) + MOUSE_KEYS),
        ("Actions", describe(actions, {"app.quit": quit_text})),
        ("Client details", describe(details)),
        ("History", describe(HistoryScreen.BINDINGS)),
        (
            "Fault dialog",
            [
                *describe(FaultScreen.BINDINGS),
                ("enter", "apply the preset under the cursor, or the SPEC typed"),
            ],
        ),
        (
            "Anywhere",
            [
                (app.get_key_display(palette), "the command palette: every action"),
                ("tab / shift+tab", "move the focus (table, filter, log)"),
            ],
        ),
    ]


class HelpScreen(ModalScreen[None]):
    """The keys of the main screen and a legend of the client table."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,question_mark,q", "dismiss", "Close help"),
    ]

    def __init__(self, keys: KeySections) -> None:
        super().__init__()
        self.keys = keys

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help"):
            for title, rows in self.keys:
                yield Static(
                    Text(f"Keys: {title.lower()}", style="bold"), classes="title"
                )
                yield Static(self._table(rows, "key", "does"))
            yield Static(Text("Client states", style="bold"), classes="title")
            states = [(str(state), STATE_MEANINGS[state]) for state in ClientState]
            yield Static(self._table(states, "state", "means"))
            yield Static(Text("Columns", style="bold"), classes="title")
            yield Static(self._table(COLUMN_MEANINGS, "column", "means"))
            yield Static(
                Text(
                    "On a narrow terminal the less needed columns give way (AGE"
                    " first, ID, PEER, STATE, IN, OUT and PENDING never); widen it"
                    " to see them all.\n\nPress escape, ? or q to close.",
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
