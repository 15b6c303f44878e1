"""`MainScreen`: the clients, the event log and the status bar, with the keys that act
on them.

The screen owns its bindings: kick, reset and faults (only where the source has
commands), details, filter, sort, the log's view, the history, freezing the
display. Keys that work on any screen (help, quit, a replay's playback) are the
app's; they are listed here too, as `app.` actions, so the footer and the help show
every key of this screen in one order.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar, Protocol, cast

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.events import Key
from textual.screen import Screen
from textual.widgets import Input

from tui_echo.book import ClientBook
from tui_echo.sources.contract import Commands, FaultTarget, Source
from tui_echo.ui.export import export_here
from tui_echo.ui.graphs import Trend
from tui_echo.ui.keys import ANYWHERE as ANYWHERE
from tui_echo.ui.keys import MAIN_KEYS, NEED_COMMANDS
from tui_echo.ui.screens import (
    ClientDetailScreen,
    ConfirmScreen,
    FaultChoice,
    FaultScreen,
    HistoryScreen,
)
from tui_echo.ui.screens.graphs import GraphScreen
from tui_echo.ui.screens.listener import ListenerChoice, ListenerScreen
from tui_echo.ui.widgets import ClientTable, EventLog, KeyFooter, StatusBar
from tui_echo.words import reset_refused


class Monitor(Protocol):
    """What the main screen asks of its app (`EchoApp`): the clock, and refreshes."""

    clock: Callable[[], float]
    trend: Trend

    def refresh_view(self) -> None: ...
    def refresh_after_command(self) -> None: ...
    def refresh_bindings_if_changed(self) -> None: ...
    def show_status(self) -> None: ...


class MainScreen(Screen[None]):
    """The screen the app opens on: every client, what happened, the totals."""

    BINDINGS: ClassVar[list[BindingType]] = MAIN_KEYS

    def __init__(self, book: ClientBook, source: Source) -> None:
        super().__init__()
        self.book = book
        self.source = source
        self.paused = False
        """The display is frozen (`p`); the events are still taken."""
        self.status_bar = StatusBar(id="status")
        kernel = source.kernel
        self.table = ClientTable(
            book, kernel=None if kernel is None else kernel.kernel_stats, id="clients"
        )
        self.filter_box = Input(
            placeholder="id, peer, state, fault or close reason"
            " (enter keeps it, escape clears)",
            id="filter",
        )
        self.event_log = EventLog(id="log")

    @property
    def echo_app(self) -> Monitor:
        """The app, with its refresh and its clock."""
        return cast(Monitor, self.app)

    def compose(self) -> ComposeResult:
        yield self.status_bar
        yield self.table
        yield self.filter_box
        yield self.event_log
        yield KeyFooter()

    def on_mount(self) -> None:
        if self.focused is None:  # a `/` typed before the mount keeps the filter's
            self.set_focus(self.table)
        self.echo_app.refresh_view()  # the first frame shows what is known already

    # ---- which keys are offered, and usable now --------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if not self._source_offers(action):
            return False  # a replay: nothing can be done to a client
        if self.app.screen is not self:
            return False  # a dialog is in front: these keys wait (the footer too)
        if action == "filter" and self.focused is self.filter_box:
            return None  # typing a filter: `/` is a character of it
        if action in ("kick", "reset", "fault", "details"):
            return True if self.selected_client is not None else None
        if action == "kick_all":
            return True if self._anyone_to_kick() else None
        return True

    def offers(self, binding: Binding) -> bool:
        """Whether the source can serve this key at all (help and palette ask)."""
        action = binding.action
        if action.startswith("app."):
            return self.app.check_action(action.removeprefix("app."), ()) is not False
        return self._source_offers(action)

    def _source_offers(self, action: str) -> bool:
        return action not in NEED_COMMANDS or self.source.commands is not None

    def on_key(self, event: Key) -> None:
        """A key shown but of no use now says why, rather than nothing at all."""
        action = next(
            (
                b.action
                for b in self.BINDINGS
                if isinstance(b, Binding) and event.key in b.key.split(",")
            ),
            None,
        )
        if action is None or action.startswith("app."):
            return
        if self._source_offers(action) and self.check_action(action, ()) is None:
            event.stop()
            event.prevent_default()
            self.notify(self._why_not(action), severity="warning", timeout=3)

    def _why_not(self, action: str) -> str:
        if action == "kick_all":
            return "No client to kick" + (
                " among those shown." if self.table.filter_text else "."
            )
        return "No client selected: the arrow keys choose one."

    @property
    def selected_client(self) -> int | None:
        """The client under the cursor (or up close on the detail screen), if it
        is still connected."""
        client_id = self.table.cursor_client
        for screen in self.app.screen_stack:
            if isinstance(screen, ClientDetailScreen):
                client_id = screen.client_id
        record = self.book.clients.get(client_id) if client_id is not None else None
        return None if record is None or record.closed else client_id

    @on(ClientTable.ClientHighlighted, "#clients")
    def _on_highlight(self) -> None:
        self.echo_app.refresh_bindings_if_changed()

    @on(ClientTable.ClientSelected, "#clients")
    def _on_selected(self, message: ClientTable.ClientSelected) -> None:
        self._open_details(message.client_id)

    # ---- acting on clients (the detail screen calls these too) -----------------------

    def kick_client(self, client_id: int) -> None:
        """Kick a client: FIN, its pending bytes discarded."""
        if (commands := self.source.commands) is not None:
            asked = self.echo_app.clock()
            commands.kick(client_id)
            self._note_closing([client_id], "kick", asked)

    def reset_client(self, client_id: int) -> None:
        """Reset a client: RST, as if the server crashed."""
        record = self.book.clients.get(client_id)
        if record is not None and record.udp:  # nothing to reset: say why
            self.notify(
                reset_refused(client_id), severity="warning", timeout=4, markup=False
            )
            return
        if (commands := self.source.commands) is not None:
            asked = self.echo_app.clock()
            commands.reset(client_id)
            self._note_closing([client_id], "reset", asked)

    def fault_client(self, client_id: int) -> None:
        """Choose a fault for a client."""
        record = self.book.clients[client_id]
        self._ask_fault(
            client_id,
            f"client #{client_id} {record.peer}",
            record.fault,
            record.proto,
        )

    def action_kick(self) -> None:
        """Kick the selected client."""
        if (client_id := self.selected_client) is not None:
            self.kick_client(client_id)

    def action_reset(self) -> None:
        """Reset the selected client."""
        if (client_id := self.selected_client) is not None:
            self.reset_client(client_id)

    def action_fault(self) -> None:
        """Choose a fault for the selected client."""
        if (client_id := self.selected_client) is not None:
            self.fault_client(client_id)

    def action_fault_new(self) -> None:
        """Choose the fault that clients connecting from now on get."""
        self._ask_fault("new", "new clients (the default)", self.book.default_fault)

    def _ask_fault(
        self, target: FaultTarget, who: str, current: str | None, proto: str = "tcp"
    ) -> None:
        commands = self.source.commands
        if commands is None:
            return

        def chosen(choice: FaultChoice | None) -> None:
            if choice is not None:
                commands.set_fault(target, choice.spec)
                self.echo_app.refresh_after_command()  # its `fault` event, shown

        self.app.push_screen(FaultScreen(who, current, target, proto), chosen)

    def action_listener(self) -> None:
        """Choose the listener fault: refuse, drop or delay new connections."""
        commands = self.source.commands
        if commands is None:
            return

        def chosen(choice: ListenerChoice | None) -> None:
            if choice is not None:
                commands.set_listener_fault(choice.fault)
                self.echo_app.refresh_after_command()  # its `listener` event, shown

        self.app.push_screen(ListenerScreen(self.book.door.text), chosen)

    def _note_closing(self, client_ids: list[int], verb: str, asked: float) -> None:
        """Log the operator's request at `asked`, the time before the command went:
        the closes it causes come after it, in the log too."""
        book = self.book
        for client_id in client_ids:
            book.mark_closing(client_id)
        if len(client_ids) == 1:
            peer = book.peer_of(client_ids[0]) or ""
            text = f"{verb:<11} #{client_ids[0]} {peer}"
        else:
            text = f"{verb:<11} {len(client_ids)} clients"
        # The line joins the next batch in time order, which comes right away.
        self.event_log.note(asked, text)
        self.table.update_rows(self.echo_app.clock())
        self.echo_app.refresh_after_command()
        self.app.refresh_bindings()

    def _anyone_to_kick(self) -> bool:
        """Would `K` kick anyone? (Asked often, by the footer: no list is built.)"""
        if not self.table.filter_text:
            return bool(self.book.totals.clients_now)
        clients = self.book.clients
        return any(not clients[cid].closed for cid in self.table.order)

    def _clients_to_kick(self) -> list[int]:
        """Who `K` kicks: the connected clients the filter shows, or all."""
        if self.table.filter_text:
            return self.table.shown_clients()
        clients = self.book.clients
        return [cid for cid, record in clients.items() if not record.closed]

    def action_kick_all(self) -> None:
        """Ask, then kick every client shown: all of them, or the filter's."""
        targets = self._clients_to_kick()
        commands = self.source.commands
        if not targets or commands is None:
            return
        count = len(targets)
        plural = "s" * (count != 1)
        filtered = bool(self.table.filter_text)

        def answered(yes: bool | None) -> None:
            if not yes:
                return
            asked = self.echo_app.clock()
            if filtered:
                for client_id in targets:
                    commands.kick(client_id)
                self._note_closing(targets, "kick shown", asked)
            else:
                commands.kick_all()
                self._note_closing(targets, "kick all", asked)

        if filtered:
            question = f"Kick the {count} client{plural} shown?"
            yes = f"Kick {count}"
        else:
            question = f"Kick all {count} connected client{plural}?"
            yes = "Kick all"
        self.app.push_screen(ConfirmScreen(question, yes=yes), answered)

    # ---- looking closer --------------------------------------------------------------

    def action_details(self) -> None:
        """Open the detail screen of the selected client."""
        if (client_id := self.selected_client) is not None:
            self._open_details(client_id)

    def _open_details(self, client_id: int) -> None:
        if self.app.screen is not self:
            return
        commands: Commands | None = self.source.commands
        if commands is not None:  # a replay has no bytes to show
            commands.inspect(client_id, True)
        screen = ClientDetailScreen(client_id, self.book, self.source, self)

        def closed(_: None) -> None:
            if commands is not None:
                commands.inspect(client_id, False)

        self.app.push_screen(screen, closed)
        self.echo_app.refresh_after_command()  # its kernel numbers and first bytes

    def action_history(self) -> None:
        """Show the last closed clients."""
        self.app.push_screen(HistoryScreen(self.book))

    def action_graphs(self) -> None:
        """Chart the server's last minutes: rates in and out, clients."""
        self.app.push_screen(GraphScreen(self.book, self.echo_app.trend))

    # ---- sorting, filtering, the log ----------------------------------------------

    def action_cycle_sort(self) -> None:
        """Sort by the next column."""
        self.table.cycle_sort()

    def action_reverse_sort(self) -> None:
        """Reverse the order of the sort."""
        self.table.reverse_sort()

    def action_filter(self) -> None:
        """Show the filter box and type into it."""
        box = self.filter_box
        box.display = True
        # At once, not after the keys already waiting (`focus()` is deferred):
        # typed fast or pasted, the text after `/` is the filter's.
        self.set_focus(box)

    def action_clear_filter(self) -> None:
        """Drop the filter and hide its box."""
        self.filter_box.value = ""
        self.table.filter_text = ""
        self._hide_filter()

    @on(Input.Changed, "#filter")
    def _on_filter_changed(self, event: Input.Changed) -> None:
        self.table.filter_text = event.value.strip()
        self.echo_app.refresh_bindings_if_changed()

    @on(Input.Submitted, "#filter")
    def _hide_filter(self) -> None:
        self.filter_box.display = False
        self.table.focus()

    def action_toggle_lifecycle(self) -> None:
        """Show the lifecycle events alone in the log, or everything."""
        log = self.event_log
        log.show_lifecycle_only(not log.lifecycle_only)

    def action_export(self) -> None:
        """Write the clients shown and the history to a file; say where."""
        ok, said = export_here(self.book, self.table.order, self.echo_app.clock())
        # Not markup: a path may hold brackets (and it is escaped).
        self.notify(said, severity="information" if ok else "error", markup=False)

    def action_toggle_pause(self) -> None:
        """Freeze or thaw the display; the server runs on either way."""
        self.paused = not self.paused
        if not self.paused:
            self.echo_app.refresh_view()
        self.echo_app.show_status()
