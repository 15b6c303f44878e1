"""`ClientDetailScreen`: one client's counters, timeline, and the last bytes it sent."""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Static

from tui_echo.book import ClientBook, ClientRecord
from tui_echo.common import RING_SIZE
from tui_echo.events import ClientClosed, ClientData, Event
from tui_echo.text import (
    clock_time,
    describe,
    hexdump,
    human_duration,
    human_rate,
    human_size,
    printable,
)

TIMELINE_SHOWN = 60


class ClientDetailScreen(Screen[None]):
    """Everything known of one client; refreshed by the app with the main screen."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,backspace", "dismiss", "Back"),
        Binding("k", "app.kick", "Kick (FIN)"),
        Binding("r", "app.reset", "Reset (RST)"),
    ]

    def __init__(
        self,
        client_id: int,
        book: ClientBook,
        recent_bytes: Callable[[int], bytes | None],
    ) -> None:
        super().__init__()
        self.client_id = client_id
        self.book = book
        self.recent_bytes = recent_bytes
        """Asks the server for the client's recent bytes (any thread may call it)."""
        self.recent: bytes | None = None
        """The last bytes the client sent, as the server last told them."""
        self._title = Static(id="detail-title")
        self._counters = Static(id="counters")
        self._timeline = Static(id="timeline")
        self._bytes = Static(id="bytes")

    def compose(self) -> ComposeResult:
        yield self._title
        with Horizontal(id="detail-body"):
            with Vertical(id="detail-left"):
                yield self._counters
                with VerticalScroll(id="timeline-box"):
                    yield self._timeline
            with VerticalScroll(id="bytes-box"):
                yield self._bytes
        yield Footer()

    def on_mount(self) -> None:
        self.show()

    def show(self) -> None:
        """Show the client as the book and the server know it now."""
        book = self.book
        recent = self.recent_bytes(self.client_id)
        if recent is not None:
            self.recent = recent
        record = book.clients.get(self.client_id)
        if record is None:
            self._title.update(
                Text(f" client #{self.client_id} has left", style="bold")
            )
            return
        state = record.close_reason if record.closed else record.state
        heading = Text(f" client #{record.id} ", style="bold reverse")
        heading.append(f"  {record.peer}  ", style="bold")
        heading.append(f"{state}", style="italic")
        self._title.update(heading)
        self._counters.update(_counters(record, book.clock()))
        self._timeline.update(_timeline(record))
        self._bytes.update(_bytes_view(self.recent))


def _counters(record: ClientRecord, now: float) -> Table:
    table = Table(box=None, show_header=False, padding=(0, 2))
    table.add_column(style="bold")
    table.add_column(justify="right")
    rows = [
        ("connected for", human_duration(record.connected_for(now))),
        ("bytes in", human_size(record.bytes_in)),
        ("bytes out", human_size(record.bytes_out)),
        ("pending", human_size(record.pending)),
        ("rate in", human_rate(record.rate_in)),
        ("rate out", human_rate(record.rate_out)),
        ("last sent", human_duration(max(0.0, now - record.last_active)) + " ago"),
    ]
    if record.closed:
        rows.append(("closed", record.close_reason or ""))
        rows.append(("discarded", human_size(record.discarded)))
    for name, value in rows:
        table.add_row(name, Text(value))
    return table


def _timeline(record: ClientRecord) -> Text:
    text = Text()
    text.append("timeline, latest first\n", style="bold underline")
    for event in list(record.timeline or ())[: -TIMELINE_SHOWN - 1 : -1]:
        text.append(f"{clock_time(event.ts)} ", style="dim")
        text.append(_timeline_entry(event) + "\n")
    return text


def _timeline_entry(event: Event) -> str:
    """A short line for the timeline: the client is known, so it is not named."""
    if isinstance(event, ClientData):
        return (
            f"data +{human_size(event.bytes)}  pending {human_size(event.pending)}"
            f"  {event.state}"
        )
    if isinstance(event, ClientClosed):
        return f"close {event.reason}  discarded {human_size(event.discarded)}"
    return " ".join(describe(event).split())


def _bytes_view(recent: bytes | None) -> Text:
    text = Text()
    if recent is None:
        text.append("recent bytes\n", style="bold underline")
        text.append("waiting for the server…", style="italic")
        return text
    text.append(
        f"the last {len(recent)} bytes received (up to {RING_SIZE} kept)\n",
        style="bold underline",
    )
    if not recent:
        text.append("nothing since you opened this view", style="italic")
        return text
    text.append("\n".join(hexdump(recent)) + "\n\n", style="")
    text.append("as text\n", style="bold underline")
    text.append(printable(recent))
    return text
