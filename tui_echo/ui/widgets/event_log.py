"""`EventLog`: timestamped lines for what happened, written a batch at a time.

Lines are in the order things happened, each with its own time: the feed hands over
a batch's lifecycle events before its (merged) data events, so a batch is put in
time order before it becomes lines.

Two views of the same lines: everything, or the lifecycle only (connect, close,
fault, rejected, errors, and the operator's kicks and resets). Data lines and the
summed lines of a busy server are kept apart from the lifecycle lines, so toggling
loses nothing, and a flood of data never pushes a kick out of the log; in the
lifecycle view the latest data line shows below the log instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from operator import attrgetter

from rich.segment import Segment
from textual.content import Content
from textual.strip import Strip
from textual.widgets import Log

from tui_echo.book import ClientBook
from tui_echo.events import ClientData, Event
from tui_echo.events_text import event_text
from tui_echo.units import human_size
from tui_echo.words import clock_time, escape

MAX_LINES = 2000
"""Lines kept of each kind (lifecycle, data)."""
DATA_LINES_PER_BATCH = 5
"""Up to this many clients with data in a batch get a line each; more are summed."""
SUMMARY_EVERY = 1.0
"""Seconds between the summed data lines of a busy server."""
WRITE_EVERY = 1.0
"""Seconds between writes to the log widget. Each write grows the log, and a log
that grows costs the screen a layout pass, which takes the UI thread (and the GIL)
longer than all the rest of a refresh. Once a second is still live for a history."""

UNMOUNT_WAIT = 2.0
"""Seconds the log waits, as it leaves, for lines being measured (a few ms)."""

LogLine = tuple[bool, str]
"""(is it a lifecycle line, its text)."""


class DataSummary:
    """Sums busy data into one line a second, so a busy log stays readable (pure)."""

    def __init__(self) -> None:
        self.received = 0
        self.clients: set[int] = set()
        self.last_ts = 0.0
        self._next_line_at = 0.0

    def add_all(self, events: list[ClientData]) -> None:
        """Count a batch's data events (in time order) into the summary."""
        self.received += sum(e.bytes for e in events)
        self.clients.update(e.client for e in events)
        self.last_ts = events[-1].ts

    def line(self, *, force: bool = False) -> str | None:
        """The summary line, if one is due (or forced) and there is anything to say."""
        if not self.clients or not (force or self.last_ts >= self._next_line_at):
            return None
        text = (
            f"{clock_time(self.last_ts)} data        {len(self.clients)} clients"
            f" +{human_size(self.received)}"
        )
        self._next_line_at = self.last_ts + SUMMARY_EVERY
        self.received = 0
        self.clients = set()
        return text


@dataclass(frozen=True, slots=True)
class Note:
    """A line of the operator's own doing (kick, reset), placed among the events
    by its time."""

    ts: float
    text: str


_ts: Callable[[Event | Note], float] = attrgetter("ts")
"""The sort key of a batch: C-level, as it runs once per event."""


def event_lines(
    events: list[Event],
    book: ClientBook,
    summary: DataSummary,
    notes: Iterable[Note] = (),
) -> list[LogLine]:
    """Log lines for a batch, in time order: a line per event, but the data of a busy
    batch goes into `summary`, whose line (when due) follows the batch's last data."""
    # Stable: equal times keep the feed's order (a client's data before its close).
    ordered: list[Event | Note] = sorted([*events, *notes], key=_ts)
    data = [e for e in ordered if type(e) is ClientData]
    busy = len(data) > DATA_LINES_PER_BATCH
    lines: list[LogLine] = []
    if not busy and (flushed := summary.line(force=True)):
        lines.append((False, flushed))  # the busy spell is over: say what it summed
    last_data: Event | Note | None = None
    if busy:
        summary.add_all(data)  # its line, when due, follows the last of them
        last_data = data[-1]
    # A flood (thousands of connects a second) brings more lifecycle lines than the
    # log keeps: the older ones would scroll away unseen, so they are counted, not
    # written (writing each costs the UI thread, and the GIL, microseconds).
    unseen = max(0, len(ordered) - len(data) - MAX_LINES)
    if unseen:
        first = next(e for e in ordered if type(e) is not ClientData)
        lines.append(
            (
                True,
                f"{clock_time(first.ts)} … {unseen:,} events not shown:"
                " too many to read (the connects and closes of a flood)",
            )
        )
    peer_of = book.peer_of
    for event in ordered:
        kind = type(event)
        if kind is ClientData:
            if not busy and event.bytes:  # type: ignore[union-attr]
                # (A data event with no new bytes only moves counters: a delayed
                # echo going out. The table shows it; a `+0 B` line says nothing.)
                text = escape(event_text(event, peer_of))  # type: ignore[arg-type]
                lines.append((False, f"{clock_time(event.ts)} {text}"))
            elif event is last_data and (due := summary.line()):
                lines.append((False, due))
        elif kind is Note:
            note = escape(event.text)  # type: ignore[union-attr]
            lines.append((True, f"{clock_time(event.ts)} {note}"))
        elif unseen:
            unseen -= 1  # one of the oldest of the flood: counted above
        else:
            # Escaped: a replayed log or an attached server names peers and
            # errors (and a replay's file) with whatever it likes.
            text = escape(event_text(event, peer_of))  # type: ignore[arg-type]
            lines.append((True, f"{clock_time(event.ts)} {text}"))
    return lines


FIELDS_FROM = len("14:03:07.250 connect     ")
"""Where a line's fields start: after its time and its verb (padded to 11)."""


def by_fields(line: str, width: int) -> str:
    """`line` cut to `width` cells at a field's end (fields part at two spaces,
    words at one), with `…` where the rest was."""
    for gap in ("  ", " "):
        # The field ends where the gap starts, two cells before the edge at most;
        # the padding after the time and the verb is not a field's end.
        end = line.rfind(gap, FIELDS_FROM, width - 2 + len(gap))
        if end > 0:
            return line[:end].rstrip() + " …"
    return line[: width - 1] + "…"


class EventLog(Log):
    """The event log: connect, data (coalesced), close, fault, kick, reset, rejected,
    error. UI thread only."""

    DEFAULT_CSS = """
    EventLog { height: 10; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(max_lines=MAX_LINES, auto_scroll=True, id=id)
        self.summary = DataSummary()
        self.lifecycle_only = False
        """Show the lifecycle lines alone (the latest data line goes below)."""
        self._kept: tuple[deque[tuple[int, str]], deque[tuple[int, str]]] = (
            deque(maxlen=MAX_LINES),
            deque(maxlen=MAX_LINES),
        )
        """(data lines, lifecycle lines), each with its place in the whole log."""
        self._count = 0
        self._pending: list[str] = []
        self._written_at = float("-inf")
        self._last_data = ""
        self._subtitle = ""
        self._notes: list[Note] = []
        self.following = True
        """The view is on the latest lines (and stays there as lines come), until
        the reader scrolls up. Kept apart from the scroll position: a terminal
        that shrinks leaves the view at its old top, not at the end."""

    def on_mount(self) -> None:
        self._update_titles()

    async def on_unmount(self) -> None:
        """Let the lines being measured be measured before the log leaves the app:
        Textual's `Log` measures new lines on a thread worker that needs the app
        when it ends, and fails the app (NoActiveAppError) if the log is gone by
        then, as when the user quits while a batch is written."""
        measuring = [worker for worker in self.app.workers if worker.node is self]
        if measuring:  # (none: wait_for_complete would wait for every worker)
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(
                    self.app.workers.wait_for_complete(measuring), UNMOUNT_WAIT
                )

    def render_line(self, y: int) -> Strip:
        """A line wider than the log loses whole fields from its end, never half a
        word (`pendi`): what is left is true as far as it goes."""
        scroll_x, scroll_y = self.scroll_offset
        index = scroll_y + y
        width = self.size.width
        lines = self.lines
        if scroll_x == 0 and index < len(lines) and len(lines[index]) > width:
            text = by_fields(lines[index], width).ljust(width)
            return Strip([Segment(text, self.rich_style)], width).apply_offsets(
                0, index
            )
        return super().render_line(y)

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        if self.is_vertical_scroll_end:
            self.following = True
        elif new_value < old_value:  # scrolled up: the reader looks back
            self.following = False

    def on_resize(self) -> None:
        self._follow()
        self.call_after_refresh(self._follow)

    def _follow(self) -> None:
        """Back to the end if the view was following (after a resize)."""
        if self.following and not self.is_vertical_scroll_end:
            self.scroll_end(animate=False, immediate=True, x_axis=False)

    def write_events(self, events: Iterable[Event], book: ClientBook) -> None:
        """Take the lines for a batch of events (the book names the clients) and the
        notes waiting; they reach the screen with the next `flush`, at once if
        there were notes (the operator waits to see them)."""
        notes, self._notes = self._notes, []
        self._take(event_lines(list(events), book, self.summary, notes))
        if notes:
            self.flush(force=True)

    def _take(self, lines: list[LogLine]) -> None:
        kept = self._kept
        count = self._count
        show_data = not self.lifecycle_only
        pending = self._pending
        for lifecycle, text in lines:
            count += 1
            kept[lifecycle].append((count, text))
            if lifecycle or show_data:
                pending.append(text)
            else:
                self._last_data = " ".join(text.split())
        self._count = count
        if len(pending) > MAX_LINES:  # the log would drop them at once anyway
            del pending[:-MAX_LINES]

    def flush(self, *, force: bool = False) -> None:
        """Write the waiting lines, if `WRITE_EVERY` has passed (or `force`)."""
        now = time.monotonic()
        if self._pending and (force or now - self._written_at >= WRITE_EVERY):
            self._follow()  # else the log writes below a view left behind
            self.write_lines(self._pending)
            self._pending = []
            self._written_at = now
        if self.lifecycle_only and self._last_data != self._subtitle:
            self._update_titles()

    def note(self, ts: float, text: str) -> None:
        """A line of the operator's own actions (kick, reset requested): it joins
        the next batch, in time order with the events the server had published by
        then (the app refreshes right after an action)."""
        self._notes.append(Note(ts, text))

    def show_lifecycle_only(self, lifecycle_only: bool) -> None:
        """Switch between all lines and the lifecycle alone; rewrites the log."""
        if lifecycle_only == self.lifecycle_only:
            return
        self.lifecycle_only = lifecycle_only
        data, lifecycle = self._kept
        if lifecycle_only:
            lines = [text for _, text in lifecycle]
            self._last_data = " ".join(data[-1][1].split()) if data else ""
        else:
            merged = heapq.merge(data, lifecycle)
            lines = [text for _, text in merged][-MAX_LINES:]
        self._pending = []
        self.clear()
        self.write_lines(lines)
        self._written_at = time.monotonic()
        self._update_titles()

    def _update_titles(self) -> None:
        if self.lifecycle_only:
            self.border_title = "events: lifecycle only (l shows all)"
            self._subtitle = self._last_data
            # Content, not markup: a data line names a peer, never styles.
            self.border_subtitle = Content(self._subtitle or "no data yet")
        else:
            self.border_title = "events (l: lifecycle only)"
            self._subtitle = ""
            self.border_subtitle = None
