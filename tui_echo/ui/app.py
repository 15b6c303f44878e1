"""`EchoApp`: the live monitor. Reads the server's events in batches, never per event.

The cadence (SPEC "Interactive mode"): the app refreshes about once a second while
nobody touches it, and at once on input (keys, mouse buttons and wheel, resizes),
at most `INPUT_REFRESH_GAP` apart however fast the keys come. A refresh drains the
feed in one batch, folds it into the `ClientBook`, and repaints inside
`batch_update()`; widgets repaint only when what they show changed, so a quiet
second costs a sort and a few comparisons. The loop thread never waits for the UI;
the UI never touches a socket, only calls the control's commands.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import Callable, Iterable
from functools import partial
from pathlib import Path
from typing import ClassVar

from textual import events, on
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Input

from tui_echo.book import LINGER, ClientBook
from tui_echo.events import Event
from tui_echo.sources.contract import (
    FaultTarget,
    Playback,
    Server,
    ServerControl,
    as_control,
)
from tui_echo.ui.screens import (
    ClientDetailScreen,
    ConfirmScreen,
    FaultChoice,
    FaultScreen,
    HelpScreen,
    HistoryScreen,
)
from tui_echo.ui.widgets import ClientTable, EventLog, KeyFooter, StatusBar

REFRESH_INTERVAL = 1.0
"""Seconds between refreshes while nobody touches anything (htop 1.5, k9s 2)."""

INPUT_REFRESH_GAP = 0.1
"""Least seconds between two refreshes that input asks for: a held key repeats
thirty times a second, and each refresh holds the GIL the echo loop needs."""

COMMAND_SETTLE = 0.05
"""Seconds to give the loop thread to carry out a command before showing its
outcome (a kick's close, a fault's event)."""

SHOWN_AT_THE_LATEST = 5.0
"""Seconds after mounting by which `when_shown` runs anyway, should Textual never say
that the first frame is displayed: a server must not stay closed for want of it."""

EARLY_REFRESH_BACKLOG = 25_000
"""Lifecycle events waiting in the feed that call for a refresh before the tick: under
heavy churn (20,000 clients a second make 60,000 events) a second's worth would reach
the feed's limit (50,000), and the server stops accepting while it is there. Half the
limit, not less: each refresh holds the GIL for a while, and at 10,000 the refreshes
came so often that the churn's p99 rose from 1.5 to 5 ms."""

MAX_EVENTS_PER_REFRESH = 100_000
"""A cap on one refresh's work (more than the server lets wait: it stops accepting
at 50,000 lifecycle events); the rest is taken at once by another refresh."""

INPUT_EVENTS = (
    events.Key,
    events.MouseDown,
    events.MouseScrollDown,
    events.MouseScrollUp,
    events.Resize,
)
"""What counts as someone touching the app (not mere mouse movement)."""

MAIN_SCREEN_ONLY = frozenset(
    {
        "kick_all",
        "details",
        "cycle_sort",
        "reverse_sort",
        "filter",
        "toggle_pause",
        "toggle_lifecycle",
        "clear_filter",
        "fault_new",
        "history",
    }
)
"""Actions that make no sense over another screen (hidden there)."""

ACTING = frozenset({"kick", "reset", "kick_all", "fault", "fault_new"})
"""Actions that change a client: hidden when the control cannot act (replay)."""

PLAYBACK = frozenset({"playback_pause", "playback_faster", "playback_slower"})
"""Actions of a replay only: pause it, change its speed."""

CLIENT_ACTIONS = frozenset({"kick", "reset", "fault", "details"})
"""Actions on the selected client: from the client table or its detail screen."""

MOUSE_KEYS = [
    ("click a header", "sort by that column; click again to reverse"),
    ("double-click a row", "details of that client"),
]

QUIT_TEXT = {
    "live": "stop the server and leave",
    "attached": "leave; the server keeps running",
    "replay": "leave the replay",
}


class EchoApp(App[None]):
    """A live view of an echo server: its clients, their bytes, what happened."""

    TITLE = "tui-echo"
    CSS_PATH = Path(__file__).with_name("app.tcss")

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("k", "kick", "Kick", tooltip="Close the selected client (FIN)"),
        Binding("r", "reset", "Reset", tooltip="Abort the selected client (RST)"),
        Binding("f", "fault", "Fault", tooltip="Set the selected client's fault"),
        Binding(
            "F",
            "fault_new",
            "Fault new",
            tooltip="Set the fault that new clients get",
            show=False,
        ),
        Binding(
            "K",
            "kick_all",
            "Kick all",
            tooltip="Kick every client shown (all, or the filter's), after asking",
            show=False,
        ),
        Binding("enter", "details", "Details", tooltip="The selected client up close"),
        Binding("slash", "filter", "Filter", tooltip="Show clients matching a text"),
        Binding("s", "cycle_sort", "Sort", tooltip="Sort by the next column"),
        Binding(
            "S",
            "reverse_sort",
            "Reverse",
            tooltip="Reverse the order of the sort",
            show=False,
        ),
        Binding(
            "l",
            "toggle_lifecycle",
            "Lifecycle log",
            tooltip="Log: lifecycle events only (data apart), or everything",
            show=False,
        ),
        Binding(
            "h",
            "history",
            "History",
            tooltip="The last 1,000 closed clients: reason, duration, bytes",
        ),
        Binding("p", "toggle_pause", "Pause", tooltip="Freeze the display", show=False),
        Binding(
            "space",
            "playback_pause",
            "Play/pause",
            tooltip="Pause the replay, or go on",
        ),
        Binding("plus", "playback_faster", "Faster", tooltip="Replay faster"),
        Binding("minus", "playback_slower", "Slower", tooltip="Replay slower"),
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
        server: ServerControl | Server,
        *,
        clock: Callable[[], float] = time.time,
        refresh_interval: float = REFRESH_INTERVAL,
        linger: float = LINGER,
        when_shown: Callable[[], str | None] | None = None,
    ) -> None:
        """`when_shown` runs once the first screen is displayed: the command opens
        the port there, so no client meets the app's start-up. A message it
        returns ends the app with status 1; `start_failure` keeps it."""
        super().__init__()
        self.server = as_control(server)
        self._when_shown = when_shown
        self.start_failure: str | None = None
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
        kernel = self.server.kernel_stats if self.server.kernel_supported else None
        self.table = ClientTable(self.book, kernel=kernel, id="clients")
        self.filter_box = Input(
            placeholder="id, peer, state, fault or close reason"
            " (enter keeps it, escape clears)",
            id="filter",
        )
        self.event_log = EventLog(id="log")
        self._binding_availability: tuple[bool, ...] | None = None
        self._refresh_timer: Timer | None = None
        self._soon = False
        """A refresh that input or a command asked for is on its way."""
        self._last_refresh = float("-inf")
        self._watched: tuple[int, ...] = ()

    # ---- building -------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield self.status_bar
        yield self.table
        yield self.filter_box
        yield self.event_log
        yield KeyFooter()

    def on_mount(self) -> None:
        self.table.focus()
        self.refresh_view()
        self._refresh_timer = self.set_interval(self.refresh_interval, self._on_tick)
        self._event_loop = asyncio.get_running_loop()
        self.server.feed.on_backlog(EARLY_REFRESH_BACKLOG, self._backlog_growing)
        if self._when_shown is not None:
            self.set_timer(SHOWN_AT_THE_LATEST, self._shown)
        if self._quit_requested:  # a signal came before the app was up
            self._quit_soon()

    def on_ready(self) -> None:
        self._shown()

    def _shown(self) -> None:
        """The first screen is up: run `when_shown`, once."""
        when_shown, self._when_shown = self._when_shown, None
        if when_shown is None or self._quit_requested:
            return
        self.start_failure = when_shown()
        if self.start_failure is not None:
            self.exit(return_code=1)
        else:
            self.refresh_soon()  # "listening on" now, not at the next tick

    def request_quit(self) -> None:
        """Quit as `q` does. Safe from signal handlers and other threads; asking
        again while quitting changes nothing."""
        if self._quit_requested:
            return
        self._quit_requested = True
        self._soon_from_any_thread(self._quit_soon)

    def _soon_from_any_thread(self, callback: Callable[[], object]) -> None:
        """Run `callback` on the app's event loop soon (any thread); nothing before
        the app is up (`on_mount` looks at the flags) or once its loop has closed."""
        loop = self._event_loop
        if loop is not None:
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                loop.call_soon_threadsafe(callback)

    def _quit_soon(self) -> None:
        self.run_worker(self.action_quit(), exclusive=True, group="quit")

    # ---- the cadence -------------------------------------------------------------

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, INPUT_EVENTS) and not (
            isinstance(event, events.InputEvent) and event.is_forwarded
        ):
            self.refresh_soon()
        await super().on_event(event)

    def refresh_soon(self, delay: float = 0.0) -> None:
        """Refresh at once (after `delay`), but no sooner than `INPUT_REFRESH_GAP`
        after the last refresh; one such refresh waits at a time (UI thread)."""
        if self._soon:
            return
        self._soon = True
        wait = max(delay, self._last_refresh + INPUT_REFRESH_GAP - time.monotonic())
        if wait > 0:
            self.set_timer(wait, self._refresh_soon_due)
        else:  # a timer of 0 s is not allowed: next in the queue
            self.call_later(self._refresh_soon_due)

    def _refresh_soon_due(self) -> None:
        self._soon = False
        if not self._quit_requested:
            self.refresh_view()

    def _backlog_growing(self) -> None:
        """Events pile up in the feed (the publisher's thread): take them now."""
        if not self._quit_requested:
            self._soon_from_any_thread(self.refresh_soon)

    def _on_tick(self) -> None:
        # Input refreshed a moment ago: this tick would show nothing new.
        if time.monotonic() - self._last_refresh >= self.refresh_interval / 2:
            self.refresh_view()

    # ---- the refresh -------------------------------------------------------------

    def refresh_view(self) -> None:
        """Drain the feed, fold the events, repaint what changed: one batch."""
        started = time.perf_counter()
        self._last_refresh = time.monotonic()
        events = self.server.feed.drain(MAX_EVENTS_PER_REFRESH)
        if self.paused:
            # Frozen on screen, yet the events are taken and folded: left in the
            # server's feed they would pile up until it stopped accepting.
            self.book.apply_all(events)
            if self._showing:
                self.event_log.write_events(events, self.book)  # shown on resume
                self.book.prune(keep=set(self.table.order))  # bounded, still frozen
                self._show_status()
        else:
            self._show(events)
        if len(events) == MAX_EVENTS_PER_REFRESH:  # more wait: take them soon
            self.refresh_soon(INPUT_REFRESH_GAP)
        self.refresh_costs.append(time.perf_counter() - started)

    def _show_status(self) -> None:
        self.status_bar.show(
            self.book,
            mode=self.server.mode,
            detail=self.server.mode_detail(),
            paused=self.paused,
            backlogged=self.server.feed.backlogged,
        )

    def _show(self, events: list[Event]) -> None:
        book = self.book
        book.apply_all(events)
        table = self.table
        if not self._showing:
            return
        log = self.event_log
        # Lines before pruning: a client that came and went while the display was
        # paused is still in the book to name its peer.
        log.write_events(events, book)
        book.refresh()
        screen = self.screen
        with self.batch_update():
            self._show_status()
            table.update_rows(self.clock())
            log.flush()
            if isinstance(screen, (ClientDetailScreen, HistoryScreen)):
                screen.show()
        self._watch_kernel(screen)
        self._refresh_bindings_if_changed()

    @property
    def _showing(self) -> bool:
        """False once the app is leaving: its widgets and screens are going."""
        return self.table.is_mounted and bool(self.screen_stack)

    def _watch_kernel(self, screen: Screen[object]) -> None:
        """Have the loop sample the visible clients' sockets for the next refresh."""
        server = self.server
        if not server.kernel_supported:
            return
        clients = self.book.clients
        watched = [c for c in self.table.visible_clients() if not clients[c].closed]
        if isinstance(screen, ClientDetailScreen) and screen.client_id in clients:
            watched.append(screen.client_id)
        ids = tuple(watched)
        if ids or self._watched:
            server.watch_kernel(ids)
        if set(ids) - set(self._watched):
            # New rows came into view: show their numbers as soon as sampled,
            # not a whole refresh later.
            self.set_timer(COMMAND_SETTLE, self._show_kernel_sample)
        self._watched = ids

    def _show_kernel_sample(self) -> None:
        if not self._showing:
            return
        self.table.update_rows(self.clock())
        screen = self.screen
        if isinstance(screen, ClientDetailScreen):
            screen.show()

    def _refresh_bindings_if_changed(self) -> None:
        """Redraw the footer only when a key's availability changed: it is costly."""
        availability = (
            self.selected_client is not None,
            bool(self.book.totals.clients_now),
            bool(self.table.filter_text),
        )
        if availability != self._binding_availability:
            self._binding_availability = availability
            self.refresh_bindings()

    # ---- selection ------------------------------------------------------------------

    @property
    def selected_client(self) -> int | None:
        """The id of the client under the cursor, if it is still connected."""
        client_id = self.table.cursor_client
        for screen in self.screen_stack:
            if isinstance(screen, ClientDetailScreen):
                client_id = screen.client_id
        record = self.book.clients.get(client_id) if client_id is not None else None
        return None if record is None or record.closed else client_id

    def _offered(self, action: str) -> bool:
        """Whether this source has the action at all: acting on clients needs a
        server that can act; pausing and speeding up, a replay."""
        if action in ACTING:
            return self.server.can_act
        if action in PLAYBACK:
            return isinstance(self.server, Playback)
        return True

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if not self._offered(action):
            return False
        screen = self.screen
        on_main = screen is self.screen_stack[0]
        if action in MAIN_SCREEN_ONLY and not on_main:
            return False
        if action in CLIENT_ACTIONS and not (
            on_main or isinstance(screen, ClientDetailScreen)
        ):
            return False  # a dialog or the history is in front: not now
        if action in CLIENT_ACTIONS:
            return True if self.selected_client is not None else None
        if action == "kick_all":
            return True if self._anyone_to_kick() else None
        return True

    @on(ClientTable.ClientHighlighted, "#clients")
    def _on_highlight(self) -> None:
        self._refresh_bindings_if_changed()

    @on(ClientTable.ClientSelected, "#clients")
    def _on_selected(self, message: ClientTable.ClientSelected) -> None:
        self._open_details(message.client_id)

    # ---- acting on clients ------------------------------------------------------

    def action_kick(self) -> None:
        """Kick the selected client: FIN, its pending bytes discarded."""
        client_id = self.selected_client
        if client_id is not None and self.server.can_act:
            self.server.kick(client_id)
            self._note_closing([client_id], "kick")

    def action_reset(self) -> None:
        """Reset the selected client: RST, as if the server crashed."""
        client_id = self.selected_client
        if client_id is not None and self.server.can_act:
            self.server.reset(client_id)
            self._note_closing([client_id], "reset")

    def _note_closing(self, client_ids: list[int], verb: str) -> None:
        book = self.book
        for client_id in client_ids:
            book.mark_closing(client_id)
        if len(client_ids) == 1:
            peer = book.peer_of(client_ids[0]) or ""
            text = f"{verb:<11} #{client_ids[0]} {peer}"
        else:
            text = f"{verb:<11} {len(client_ids)} clients"
        # The line joins the next batch in time order, which comes right away.
        self.event_log.note(self.clock(), text)
        self.table.update_rows(self.clock())
        self.refresh_soon(COMMAND_SETTLE)
        self.refresh_bindings()

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
        if not targets or not self.server.can_act:
            return
        count = len(targets)
        plural = "s" * (count != 1)
        filtered = bool(self.table.filter_text)

        def answered(yes: bool | None) -> None:
            if not yes:
                return
            if filtered:
                for client_id in targets:
                    self.server.kick(client_id)
                self._note_closing(targets, "kick shown")
            else:
                self.server.kick_all()
                self._note_closing(targets, "kick all")

        if filtered:
            question = f"Kick the {count} client{plural} shown?"
            yes = f"Kick {count}"
        else:
            question = f"Kick all {count} connected client{plural}?"
            yes = "Kick all"
        self.push_screen(ConfirmScreen(question, yes=yes), answered)

    def action_fault(self) -> None:
        """Choose a fault for the selected client."""
        client_id = self.selected_client
        if client_id is None or not self.server.can_act:
            return
        record = self.book.clients[client_id]
        self._ask_fault(client_id, f"client #{client_id} {record.peer}", record.fault)

    def action_fault_new(self) -> None:
        """Choose the fault that clients connecting from now on get."""
        if self.server.can_act:
            self._ask_fault("new", "new clients (the default)", self.book.default_fault)

    def _ask_fault(self, target: FaultTarget, who: str, current: str | None) -> None:
        def chosen(choice: FaultChoice | None) -> None:
            if choice is not None:
                self.server.set_fault(target, choice.spec)
                self.refresh_soon(COMMAND_SETTLE)  # its `fault` event, shown

        self.push_screen(FaultScreen(who, current), chosen)

    # ---- looking closer --------------------------------------------------------------

    def action_details(self) -> None:
        """Open the detail screen of the selected client."""
        client_id = self.selected_client
        if client_id is not None:
            self._open_details(client_id)

    def _open_details(self, client_id: int) -> None:
        if self.screen is not self.screen_stack[0]:
            return
        server = self.server
        inspect = server.can_act  # a replay has no bytes to show
        if inspect:
            server.inspect(client_id, True)
        screen = ClientDetailScreen(client_id, self.book, server)

        def closed(_: None) -> None:
            if inspect:
                server.inspect(client_id, False)

        self.push_screen(screen, closed)
        self.refresh_soon(COMMAND_SETTLE)  # its kernel numbers and first bytes

    def action_history(self) -> None:
        """Show the last closed clients."""
        self.push_screen(HistoryScreen(self.book))

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
        box.focus()

    def action_clear_filter(self) -> None:
        """Drop the filter and hide its box."""
        box = self.filter_box
        box.value = ""
        self.table.filter_text = ""
        self.table.update_rows(self.clock())
        self._hide_filter()

    @on(Input.Changed, "#filter")
    def _on_filter_changed(self, event: Input.Changed) -> None:
        table = self.table
        table.filter_text = event.value.strip()
        table.update_rows(self.clock())
        self._refresh_bindings_if_changed()

    @on(Input.Submitted, "#filter")
    def _hide_filter(self) -> None:
        box = self.filter_box
        box.display = False
        self.table.focus()

    def action_toggle_lifecycle(self) -> None:
        """Show the lifecycle events alone in the log, or everything."""
        log = self.event_log
        log.show_lifecycle_only(not log.lifecycle_only)

    def action_toggle_pause(self) -> None:
        """Freeze or thaw the display; the server runs on either way."""
        self.paused = not self.paused
        if not self.paused:
            self.refresh_view()
        self._show_status()

    def action_playback_pause(self) -> None:
        """Pause the replay (its clock stops), or go on."""
        self._playback("toggle_pause")

    def action_playback_faster(self) -> None:
        """Replay faster."""
        self._playback("faster")

    def action_playback_slower(self) -> None:
        """Replay slower."""
        self._playback("slower")

    def _playback(self, change: str) -> None:
        """Ask the replay to pause, go on or change its speed, and show it."""
        if isinstance(self.server, Playback):
            getattr(self.server, change)()
            self.refresh_view()

    # ---- help ----------------------------------------------------------------------

    def action_help(self) -> None:
        """Show the keys and a legend of the table."""
        self.push_screen(HelpScreen(self.key_help()))

    def key_help(self) -> list[tuple[str, list[tuple[str, str]]]]:
        """Every key in sections, as the bindings say (so help cannot disagree)."""
        offered = [
            binding
            for binding in self.BINDINGS
            if isinstance(binding, Binding) and self._offered(binding.action)
        ]
        actions = [
            (keys, QUIT_TEXT[self.server.mode] if text == self._quit_tooltip else text)
            for keys, text in self._describe(offered)
        ]
        return [
            ("Clients", self._describe(ClientTable.BINDINGS) + MOUSE_KEYS),
            ("Actions", actions),
            ("Client details", self._describe(ClientDetailScreen.BINDINGS)),
            ("History", self._describe(HistoryScreen.BINDINGS)),
            ("Fault dialog", self._describe(FaultScreen.BINDINGS)),
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

    @property
    def _quit_tooltip(self) -> str:
        return next(
            b.tooltip
            for b in self.BINDINGS
            if isinstance(b, Binding) and b.action == "quit"
        )

    def _describe(self, bindings: Iterable[BindingType]) -> list[tuple[str, str]]:
        """(keys, what they do) for the bindings, keys of one action together."""
        described: dict[str, tuple[list[str], str]] = {}
        can_act = self.server.can_act
        for binding in bindings:
            if not isinstance(binding, Binding):
                continue
            if not can_act and binding.action.removeprefix("app.") in ACTING:
                continue  # a replay: these keys do nothing
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
        self._quit_requested = True  # no refresh from now on
        self.server.feed.on_backlog(EARLY_REFRESH_BACKLOG, None)
        self.server.stop()
        self.exit()

    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        """The command palette offers every key's action, then Textual's own."""
        titles = set()
        for binding in self.BINDINGS:
            if not isinstance(binding, Binding) or binding.action == "clear_filter":
                continue
            if binding.description in titles or not self._offered(binding.action):
                continue
            titles.add(binding.description)
            yield SystemCommand(
                binding.description,
                binding.tooltip,
                partial(self.run_action, binding.action),
            )
        for command in super().get_system_commands(screen):
            if command.title not in titles:  # "Quit": ours also stops the server
                yield command
