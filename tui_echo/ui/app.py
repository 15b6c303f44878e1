"""`EchoApp`: the live monitor. Reads a source's events in batches, never per event.

The app owns the source, the `ClientBook` and the refresh; the `MainScreen` owns
the widgets and the keys that act on clients. When to refresh is the `Cadence`'s
decision (cadence.py): about once a second while nobody touches the app, at once on
input (keys, mouse buttons and wheel, resizes), at most one `input_gap` apart. A
refresh drains the feed in one batch, folds it into the book, and repaints inside
`batch_update()`; widgets repaint only when what they show changed, so a quiet
second costs a sort and a few comparisons. The loop thread never waits for the UI;
the UI never touches a socket, only calls the source's commands.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import time
from collections import deque
from collections.abc import Callable, Iterable
from functools import partial
from pathlib import Path
from typing import ClassVar

from textual import events
from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.timer import Timer

from tui_echo.book import LINGER, ClientBook
from tui_echo.events import Event
from tui_echo.sources.contract import Source
from tui_echo.ui.cadence import REFRESH_INTERVAL, Cadence
from tui_echo.ui.graphs import Trend
from tui_echo.ui.main_screen import ANYWHERE, MainScreen
from tui_echo.ui.screens import ClientDetailScreen, HelpScreen, HistoryScreen
from tui_echo.ui.screens.graphs import GraphScreen
from tui_echo.ui.screens.help import key_sections
from tui_echo.ui.widgets.columns import BY_KEY

COMMAND_SETTLE = 0.05
"""Seconds to give the loop thread to carry out a command before showing its
outcome (a kick's close, a fault's event)."""

SHOWN_AT_THE_LATEST = 5.0
"""Seconds after mounting by which `when_shown` runs anyway, should Textual never say
that the first frame is displayed: a server must not stay closed for want of it."""

INPUT_EVENTS = (
    events.Key,
    events.MouseDown,
    events.MouseScrollDown,
    events.MouseScrollUp,
    events.Resize,
)
"""What counts as someone touching the app (not mere mouse movement)."""

QUIT_TEXT = {
    "live": "stop the server and leave",
    "attached": "leave; the server keeps running",
    "replay": "leave the replay",
}
"""What `q` does, by mode (the help says it)."""


KERNEL_SORT_ROWS = 1000
"""Clients sampled at most while the table is sorted by a kernel queue."""


class EchoApp(App[None]):
    """A live view of an echo server: its clients, their bytes, what happened."""

    TITLE = "tui-echo"
    CSS_PATH = Path(__file__).with_name("app.tcss")

    BINDINGS: ClassVar[list[BindingType]] = ANYWHERE

    def __init__(
        self,
        source: Source,
        *,
        clock: Callable[[], float] | None = None,
        refresh_interval: float = REFRESH_INTERVAL,
        linger: float = LINGER,
        when_shown: Callable[[], str | None] | None = None,
    ) -> None:
        """`source`: what to watch (`LiveSource(server)` for one in this process).
        `clock`: the time events are shown at (the source's by default).
        `when_shown` runs once the first screen is displayed: the command opens
        the port there, so no client meets the app's start-up. A message it
        returns ends the app with status 1; `start_failure` keeps it."""
        super().__init__()
        self.source = source
        self._when_shown = when_shown
        self.start_failure: str | None = None
        self.clock = clock if clock is not None else self.source.clock
        self.book = ClientBook(self.clock, linger=linger)
        if source.seed is not None:  # an attached server's snapshot, first
            source.seed(self.book)
        self.trend = Trend()
        """The server's last minutes, second by second, for the charts (`g`)."""
        self.cadence = Cadence(interval=refresh_interval)
        self._quit_requested = False
        self._event_loop: asyncio.AbstractEventLoop | None = None
        self._thread_context: contextvars.Context | None = None
        """The app's context (Textual's active app): callbacks from other threads
        run in it, so they may set timers."""
        self.refresh_costs: deque[float] = deque(maxlen=10_000)
        """Seconds of UI-thread time each refresh took (for the benchmark)."""
        self.main = MainScreen(self.book, self.source)
        # The main screen's widgets, at hand: other screens may be in front when
        # a refresh comes.
        self.table = self.main.table
        self.event_log = self.main.event_log
        self.status_bar = self.main.status_bar
        self._binding_availability: tuple[bool, ...] | None = None
        self._refresh_timer: Timer | None = None
        self._watched: tuple[int, ...] = ()

    @property
    def refresh_interval(self) -> float:
        """Seconds between refreshes while nobody touches anything."""
        return self.cadence.interval

    def get_default_screen(self) -> Screen[None]:
        return self.main

    def on_mount(self) -> None:
        # The first refresh is the main screen's, once its widgets are there.
        self._refresh_timer = self.set_interval(self.cadence.interval, self._on_tick)
        self._thread_context = contextvars.copy_context()
        self._event_loop = asyncio.get_running_loop()
        self.source.feed.on_backlog(self.cadence.early_backlog, self._backlog_growing)
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
                loop.call_soon_threadsafe(callback, context=self._thread_context)

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
        """Refresh at once (after `delay`), as the cadence allows (UI thread)."""
        self._schedule(self.cadence.ask(time.monotonic(), delay))

    def refresh_after_command(self) -> None:
        """Refresh once the loop thread has had a moment to carry out a command."""
        self.refresh_soon(COMMAND_SETTLE)

    def _schedule(self, wait: float | None) -> None:
        if wait is None:  # one is on its way already
            return
        if wait > 0:
            self.set_timer(wait, self._refresh_soon_due)
        else:  # a timer of 0 s is not allowed: next in the queue
            self.call_later(self._refresh_soon_due)

    def _refresh_soon_due(self) -> None:
        self.cadence.asked_refresh_runs()
        if not self._quit_requested:
            self.refresh_view()

    def _backlog_growing(self) -> None:
        """Events pile up in the feed (the publisher's thread): take them now."""
        if not self._quit_requested:
            self._soon_from_any_thread(self.refresh_soon)

    def _on_tick(self) -> None:
        if self.cadence.tick_refreshes(time.monotonic()):
            self.refresh_view()

    # ---- the refresh -------------------------------------------------------------

    def refresh_view(self) -> None:
        """Drain the feed, fold the events, repaint what changed: one batch."""
        if not self.table.is_mounted:
            return  # the main screen is not up yet (or gone): the events wait
        started = time.perf_counter()
        now = time.monotonic()
        events = self.source.feed.drain(self.cadence.batch_limit)
        if self.main.paused:
            # Frozen on screen, yet the events are taken and folded: left in the
            # server's feed they would pile up until it stopped accepting.
            self.book.apply_all(events)
            if self._showing:
                self.event_log.write_events(events, self.book)  # shown on resume
                self.book.prune(keep=set(self.table.order))  # bounded, still frozen
                self.show_status()
        else:
            self._show(events)
        self._schedule(self.cadence.refreshed(now, len(events)))
        self.refresh_costs.append(time.perf_counter() - started)

    def show_status(self) -> None:
        """Show the totals, the mode and what is paused in the status bar."""
        source = self.source
        self.status_bar.show(
            self.book,
            mode=source.mode,
            detail=source.mode_detail(),
            paused=self.main.paused,
            backlogged=source.feed.backlogged,
        )

    def _show(self, events: list[Event]) -> None:
        book = self.book
        book.apply_all(events)
        if not self._showing:
            return
        log = self.event_log
        # Lines before pruning: a client that came and went while the display was
        # paused is still in the book to name its peer.
        log.write_events(events, book)
        book.refresh()
        self.trend.sample(book)
        screen = self.screen
        with self.batch_update():
            self.show_status()
            self.table.update_rows(self.clock())
            log.flush()
            if isinstance(screen, (ClientDetailScreen, HistoryScreen, GraphScreen)):
                screen.show()
        self._watch_kernel(screen)
        self.refresh_bindings_if_changed()

    @property
    def _showing(self) -> bool:
        """False once the app is leaving: its widgets and screens are going."""
        return self.table.is_mounted and bool(self.screen_stack)

    def _watch_kernel(self, screen: Screen[object]) -> None:
        """Have the kernel sample the visible clients' sockets for the next refresh."""
        kernel = self.source.kernel
        if kernel is None:
            return
        clients = self.book.clients
        table = self.table
        # Sorted by a kernel queue, every row needs a number (up to a bound: three
        # system calls each on the loop thread), not just the rows on screen.
        by_kernel = BY_KEY[table.sort_column].kernel
        shown = table.order[:KERNEL_SORT_ROWS] if by_kernel else None
        watched = [
            c
            for c in (table.visible_clients() if shown is None else shown)
            if not clients[c].closed
        ]
        if isinstance(screen, ClientDetailScreen) and screen.client_id in clients:
            watched.append(screen.client_id)
        ids = tuple(watched)
        if ids or self._watched:
            kernel.watch_kernel(ids)
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

    def refresh_bindings_if_changed(self) -> None:
        """Redraw the footer only when a key's availability changed: it is costly."""
        availability = (
            self.main.selected_client is not None,
            bool(self.book.totals.clients_now),
            bool(self.table.filter_text),
        )
        if availability != self._binding_availability:
            self._binding_availability = availability
            self.refresh_bindings()

    # ---- keys of every screen -------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action.startswith("playback_"):
            return self.source.playback is not None  # a replay's keys only
        return True

    def action_playback_pause(self) -> None:
        """Pause the replay (its clock stops), or go on."""
        if (playback := self.source.playback) is not None:
            playback.toggle_pause()
            self.refresh_view()

    def action_playback_faster(self) -> None:
        """Replay faster."""
        if (playback := self.source.playback) is not None:
            playback.faster()
            self.refresh_view()

    def action_playback_slower(self) -> None:
        """Replay slower."""
        if (playback := self.source.playback) is not None:
            playback.slower()
            self.refresh_view()

    def action_help(self) -> None:
        """Show the keys and a legend of the table."""
        self.push_screen(HelpScreen(self.key_help()))

    def key_help(self) -> list[tuple[str, list[tuple[str, str]]]]:
        """Every key this source offers, in sections, as the bindings say."""
        main = self.main
        return key_sections(
            self,
            [b for b in main.BINDINGS if isinstance(b, Binding) and main.offers(b)],
            quit_text=QUIT_TEXT[self.source.mode],
            commands=self.source.commands is not None,
        )

    async def action_quit(self) -> None:
        """Stop the server (clients closed, port freed), then leave."""
        if self._refresh_timer is not None:  # nothing more to show: widgets go
            self._refresh_timer.stop()
        self._quit_requested = True  # no refresh from now on
        self.source.feed.on_backlog(self.cadence.early_backlog, None)
        self.source.stop()
        self.exit()

    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        """The command palette offers every key's action, then Textual's own."""
        titles = set()
        main = self.main
        for binding in main.BINDINGS:
            if not isinstance(binding, Binding) or binding.action == "clear_filter":
                continue
            if binding.description in titles or not main.offers(binding):
                continue
            titles.add(binding.description)
            yield SystemCommand(
                binding.description,
                binding.tooltip,
                partial(self.run_action, binding.action, main),
            )
        for command in super().get_system_commands(screen):
            if command.title not in titles:  # "Quit": ours also stops the server
                yield command
