"""`EchoApp`: the live monitor. Reads the server's events on a timer, never per event.

Every `REFRESH_INTERVAL` seconds the app drains the feed in one batch, folds it into
the `ClientBook`, and repaints inside `batch_update()`. The loop thread never waits
for the UI; the UI never touches a socket, only calls `kick`, `reset` and friends.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable, Iterable
from functools import partial
from pathlib import Path
from typing import ClassVar

from textual import on
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Footer, Input

from tui_echo.book import LINGER, ClientBook
from tui_echo.events import Event
from tui_echo.ui.control import ServerControl
from tui_echo.ui.screens import ClientDetailScreen, ConfirmScreen, HelpScreen
from tui_echo.ui.widgets import ClientTable, EventLog, StatusBar

REFRESH_INTERVAL = 0.25
"""Seconds between refreshes: live enough for people, rare enough for the GIL."""

MAX_EVENTS_PER_REFRESH = 20_000
"""A cap on one refresh's work; the rest waits for the next tick."""

MAIN_SCREEN_ONLY = frozenset(
    {"kick_all", "details", "cycle_sort", "filter", "toggle_pause", "clear_filter"}
)
"""Actions that make no sense over a client's detail screen (hidden there)."""

MOUSE_KEYS = [
    ("click a header", "sort by that column; click again to reverse"),
    ("double-click a row", "details of that client"),
]


class EchoApp(App[None]):
    """A live view of an echo server: its clients, their bytes, what happened."""

    TITLE = "tui-echo"
    CSS_PATH = Path(__file__).with_name("app.tcss")

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("k", "kick", "Kick", tooltip="Close the selected client (FIN)"),
        Binding("r", "reset", "Reset", tooltip="Abort the selected client (RST)"),
        Binding("K", "kick_all", "Kick all", tooltip="Kick every client, after asking"),
        Binding("enter", "details", "Details", tooltip="The selected client up close"),
        Binding("s", "cycle_sort", "Sort", tooltip="Sort by the next column"),
        Binding("slash", "filter", "Filter", tooltip="Show clients matching a text"),
        Binding("p", "toggle_pause", "Pause", tooltip="Freeze the display"),
        Binding("question_mark", "help", "Help", tooltip="Keys and legend"),
        Binding("q", "quit", "Quit", tooltip="Stop the server and leave"),
        Binding(
            "ctrl+c", "quit", "Quit", tooltip="Stop the server and leave", show=False
        ),
        Binding(
            "escape",
            "clear_filter",
            "Clear filter",
            tooltip="Drop the filter",
            show=False,
        ),
    ]

    def __init__(
        self,
        server: ServerControl,
        *,
        clock: Callable[[], float] = time.time,
        refresh_interval: float = REFRESH_INTERVAL,
        linger: float = LINGER,
    ) -> None:
        super().__init__()
        self.server = server
        self.clock = clock
        self.book = ClientBook(clock, linger=linger)
        self.refresh_interval = refresh_interval
        self._quit_requested = False
        self._event_loop: asyncio.AbstractEventLoop | None = None
        self.paused = False
        self.refresh_costs: deque[float] = deque(maxlen=10_000)
        """Seconds of UI-thread time each refresh took (for the benchmark)."""
        # The main screen's widgets, kept at hand: they stay the same for the
        # app's life, and other screens may be on top when the timer fires.
        self.status_bar = StatusBar(id="status")
        self.table = ClientTable(self.book, id="clients")
        self.filter_box = Input(
            placeholder="filter by peer, state or id (enter keeps it, escape clears)",
            id="filter",
        )
        self.event_log = EventLog(id="log")
        self._binding_availability: tuple[bool, bool] | None = None
        self._refresh_timer: Timer | None = None

    # ---- building -------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield self.status_bar
        yield self.table
        yield self.filter_box
        yield self.event_log
        yield Footer()

    def on_mount(self) -> None:
        self.table.focus()
        self.refresh_view()
        self._refresh_timer = self.set_interval(
            self.refresh_interval, self.refresh_view
        )
        self._event_loop = asyncio.get_running_loop()
        if self._quit_requested:  # a signal came before the app was up
            self._quit_soon()

    def request_quit(self) -> None:
        """Quit as `q` does. Safe from signal handlers and other threads; asking
        again while quitting changes nothing."""
        if self._quit_requested:
            return
        self._quit_requested = True
        loop = self._event_loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._quit_soon)

    def _quit_soon(self) -> None:
        self.run_worker(self.action_quit(), exclusive=True, group="quit")

    # ---- the refresh -------------------------------------------------------------

    def refresh_view(self) -> None:
        """Drain the feed, fold the events, repaint what changed: one batch."""
        started = time.perf_counter()
        # While paused the events wait in the server's feed, which merges data
        # and bounds the rest (see feed.py), and are shown in batches on resume.
        if not self.paused:
            self._show(self.server.feed.drain(MAX_EVENTS_PER_REFRESH))
        else:  # still say if the waiting events hold up accepting
            self.status_bar.show(
                self.book, paused=True, backlogged=self.server.feed.backlogged
            )
        self.refresh_costs.append(time.perf_counter() - started)

    def _show(self, events: list[Event]) -> None:
        book = self.book
        book.apply_all(events)
        book.refresh()
        table = self.table
        if not table.is_mounted:  # the app is leaving
            return
        with self.batch_update():
            self.status_bar.show(book, backlogged=self.server.feed.backlogged)
            table.update_rows(self.clock())
            if events:
                self.event_log.write_events(events, book)
            self.event_log.flush()
            if isinstance(self.screen, ClientDetailScreen):
                self.screen.show()
        self._refresh_bindings_if_changed()

    def _refresh_bindings_if_changed(self) -> None:
        """Redraw the footer only when a key's availability changed: it is costly."""
        availability = (
            self.selected_client is not None,
            bool(self.book.totals.clients_now),
        )
        if availability != self._binding_availability:
            self._binding_availability = availability
            self.refresh_bindings()

    # ---- selection ------------------------------------------------------------------

    @property
    def selected_client(self) -> int | None:
        """The id of the client under the cursor, if it is still connected."""
        client_id = self.table.cursor_client
        if isinstance(self.screen, ClientDetailScreen):
            client_id = self.screen.client_id
        record = self.book.clients.get(client_id) if client_id is not None else None
        return None if record is None or record.closed else client_id

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in MAIN_SCREEN_ONLY and isinstance(self.screen, ClientDetailScreen):
            return False
        if action in ("kick", "reset", "details"):
            return True if self.selected_client is not None else None
        if action == "kick_all":
            return True if self.book.totals.clients_now else None
        return True

    @on(ClientTable.ClientHighlighted, "#clients")
    def _on_highlight(self) -> None:
        self._refresh_bindings_if_changed()

    @on(ClientTable.ClientSelected, "#clients")
    def _on_selected(self, message: ClientTable.ClientSelected) -> None:
        self._open_details(message.client_id)

    # ---- actions --------------------------------------------------------------------

    def action_kick(self) -> None:
        """Kick the selected client: FIN, its pending bytes discarded."""
        client_id = self.selected_client
        if client_id is not None:
            self.server.kick(client_id)
            self._note_closing(client_id, "kick")

    def action_reset(self) -> None:
        """Reset the selected client: RST, as if the server crashed."""
        client_id = self.selected_client
        if client_id is not None:
            self.server.reset(client_id)
            self._note_closing(client_id, "reset")

    def _note_closing(self, client_id: int, verb: str) -> None:
        self.book.mark_closing(client_id)
        peer = self.book.peer_of(client_id) or ""
        self.event_log.note(self.clock(), f"{verb:<11} #{client_id} {peer}")
        self.table.refresh()
        self.refresh_bindings()

    def action_kick_all(self) -> None:
        """Ask, then kick every connected client."""
        count = self.book.totals.clients_now
        if not count:
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self.server.kick_all()
                for record in self.book.clients.values():
                    self.book.mark_closing(record.id)
                self.event_log.note(self.clock(), f"kick all    {count} clients")

        question = f"Kick all {count} connected client{'s' * (count != 1)}?"
        self.push_screen(ConfirmScreen(question, yes="Kick all"), answered)

    def action_details(self) -> None:
        """Open the detail screen of the selected client."""
        client_id = self.selected_client
        if client_id is not None:
            self._open_details(client_id)

    def _open_details(self, client_id: int) -> None:
        if isinstance(self.screen, ClientDetailScreen):
            return
        self.server.inspect(client_id, True)
        screen = ClientDetailScreen(client_id, self.book, self.server.recent_bytes)

        def closed(_: None) -> None:
            self.server.inspect(client_id, False)

        self.push_screen(screen, closed)

    def action_cycle_sort(self) -> None:
        """Sort by the next column."""
        self.table.cycle_sort()

    def action_filter(self) -> None:
        """Show the filter box and type into it."""
        box = self.filter_box
        box.display = True
        box.focus()

    def action_clear_filter(self) -> None:
        """Drop the filter and hide its box."""
        box = self.filter_box
        box.value = ""
        self._hide_filter()

    @on(Input.Changed, "#filter")
    def _on_filter_changed(self, event: Input.Changed) -> None:
        table = self.table
        table.filter_text = event.value.strip()
        table.update_rows(self.clock())

    @on(Input.Submitted, "#filter")
    def _hide_filter(self) -> None:
        box = self.filter_box
        box.display = False
        self.table.focus()

    def action_toggle_pause(self) -> None:
        """Freeze or thaw the display; the server runs on either way."""
        self.paused = not self.paused
        if not self.paused:
            self.refresh_view()
        self.status_bar.show(
            self.book, paused=self.paused, backlogged=self.server.feed.backlogged
        )

    def action_help(self) -> None:
        """Show the keys and a legend of the table."""
        self.push_screen(HelpScreen(self.key_help()))

    def key_help(self) -> list[tuple[str, list[tuple[str, str]]]]:
        """Every key in sections, as the bindings say (so help cannot disagree)."""
        return [
            ("Clients", self._describe(ClientTable.BINDINGS) + MOUSE_KEYS),
            ("Actions", self._describe(self.BINDINGS)),
            (
                "Anywhere",
                [
                    (
                        self.get_key_display(
                            Binding(self.COMMAND_PALETTE_BINDING, "command_palette")
                        ),
                        "the command palette: every action",
                    ),
                    ("tab / shift+tab", "move the focus (table, filter, log)"),
                ],
            ),
        ]

    def _describe(self, bindings: Iterable[BindingType]) -> list[tuple[str, str]]:
        """(keys, what they do) for the bindings, keys of one action together."""
        described: dict[str, tuple[list[str], str]] = {}
        for binding in bindings:
            if not isinstance(binding, Binding):
                continue
            for key in binding.key.split(","):
                single = Binding(key.strip(), binding.action, binding.description)
                keys, _ = described.setdefault(
                    binding.action, ([], binding.tooltip or binding.description)
                )
                display = self.get_key_display(single)
                if display not in keys:
                    keys.append(display)
        return [(" ".join(keys), text) for keys, text in described.values()]

    async def action_quit(self) -> None:
        """Stop the server (clients closed, port freed), then leave."""
        if self._refresh_timer is not None:  # nothing more to show: widgets go away
            self._refresh_timer.stop()
        self.server.stop()
        self.exit()

    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        """The command palette offers every key's action, then Textual's own."""
        titles = set()
        for binding in self.BINDINGS:
            if isinstance(binding, Binding) and binding.show:
                titles.add(binding.description)
                yield SystemCommand(
                    binding.description,
                    binding.tooltip,
                    partial(self.run_action, binding.action),
                )
        for command in super().get_system_commands(screen):
            if command.title not in titles:  # "Quit": ours also stops the server
                yield command
