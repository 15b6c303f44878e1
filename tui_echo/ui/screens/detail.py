"""`ClientDetailScreen`: one client's counters, the kernel's view of it, its fault,
its timeline, and the last bytes it sent.

Wide terminals (140 columns and more) get two panes: the numbers and the timeline
on the left, the bytes on the right. Narrower ones get one column that scrolls:
the numbers (in as many side-by-side groups as fit), the bytes, the timeline.
"""

from __future__ import annotations

from typing import ClassVar, Protocol

from rich.console import RenderableType
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import ScrollableContainer, VerticalScroll
from textual.events import Resize
from textual.screen import Screen
from textual.widgets import Footer, Static

from tui_echo.book import ClientBook, ClientRecord
from tui_echo.events import (
    ClientClosed,
    ClientData,
    Event,
    TlsEstablished,
)
from tui_echo.events_text import event_text
from tui_echo.sources.contract import Source
from tui_echo.ui.screens.graphs import GraphScreen
from tui_echo.units import RING_SIZE, human_duration, human_rate, human_size
from tui_echo.words import clock_time, escape, hexdump, printable, timestamp

TIMELINE_SHOWN = 60
WIDE = 140
"""From this many columns on, the bytes get a pane of their own (the numbers and
the timeline beside them need 60)."""
GROUP_WIDTH = 31
"""Cells one group of numbers takes (label, value, padding)."""
HEX_WIDE = 75
"""Cells a hex dump line of 16 bytes takes; narrower, it shows 8 a line."""

Rows = list[tuple[str, str]]


class ClientActions(Protocol):
    """What the screen's keys ask for (the main screen does it, as for its own)."""

    def kick_client(self, client_id: int) -> None: ...
    def reset_client(self, client_id: int) -> None: ...
    def fault_client(self, client_id: int) -> None: ...


class ClientDetailScreen(Screen[None]):
    """Everything known of one client; refreshed by the app with the main screen."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,backspace", "dismiss", "Back", tooltip="Back to the clients"),
        Binding("k", "kick", "Kick (FIN)", tooltip="Close this client (FIN)"),
        Binding("r", "reset", "Reset (RST)", tooltip="Abort this client (RST)"),
        Binding("f", "fault", "Fault", tooltip="Set this client's fault"),
        Binding("g", "graphs", "Graphs", tooltip="This client's last minutes charted"),
    ]

    NEED_COMMANDS: ClassVar[tuple[str, ...]] = ("kick", "reset", "fault")
    """The keys that act on the client: not offered by a source without commands."""

    def __init__(
        self,
        client_id: int,
        book: ClientBook,
        source: Source,
        actions: ClientActions,
    ) -> None:
        super().__init__()
        self.client_id = client_id
        self.book = book
        self.source = source
        """Asked for recent bytes, kernel numbers and fault activity (any thread
        may call it)."""
        self.actions = actions
        self.recent: bytes | None = None
        """The last bytes the client sent, as the server last told them."""
        self._title = Static(id="detail-title")
        self._counters = Static(id="counters")
        self._timeline = Static(id="timeline")
        self._bytes = Static(id="bytes")
        self._shown: dict[str, object] = {}
        """What each pane shows now, to skip updates that change nothing."""

    def compose(self) -> ComposeResult:
        yield self._title
        # Wide: a grid, numbers and timeline left, bytes right. Narrow: a column
        # in this order (see app.tcss).
        with ScrollableContainer(id="detail-body"):
            yield self._counters
            with VerticalScroll(id="bytes-box"):
                yield self._bytes
            with VerticalScroll(id="timeline-box"):
                yield self._timeline
        yield Footer()

    def on_mount(self) -> None:
        self._lay_out(self.size.width)
        self.show()

    def on_resize(self, event: Resize) -> None:
        self._lay_out(event.size.width)
        self._shown.clear()
        self.show()

    def _lay_out(self, width: int) -> None:
        self.set_class(width < WIDE, "-narrow")

    # ---- keys ------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action not in self.NEED_COMMANDS:
            return True
        if self.source.commands is None:
            return False  # a replay: nothing can be done to the client
        record = self.book.clients.get(self.client_id)
        return None if record is None or record.closed else True

    def action_graphs(self) -> None:
        """Chart this client's last minutes (from its recent events)."""
        trend = getattr(self.app, "trend", None)
        if trend is not None:
            self.app.push_screen(GraphScreen(self.book, trend, self.client_id))

    def action_kick(self) -> None:
        """Kick this client."""
        if self.check_action("kick", ()):
            self.actions.kick_client(self.client_id)

    def action_reset(self) -> None:
        """Reset this client."""
        if self.check_action("reset", ()):
            self.actions.reset_client(self.client_id)

    def action_fault(self) -> None:
        """Choose this client's fault."""
        if self.check_action("fault", ()):
            self.actions.fault_client(self.client_id)

    # ---- showing ---------------------------------------------------------------------

    def show(self) -> None:
        """Show the client as the book and the source know it now (UI thread)."""
        book = self.book
        commands = self.source.commands
        if commands is not None:
            recent = commands.recent_bytes(self.client_id)
            if recent is not None:
                self.recent = recent
        record = book.clients.get(self.client_id)
        if record is None:
            self._update(
                "title",
                self._title,
                Text(f" client #{self.client_id} has left", "bold"),
            )
            return
        state = record.close_reason if record.closed else record.state
        heading = Text(f" client #{record.id} ", style="bold reverse")
        heading.append(f"  {record.peer}  ", style="bold")
        heading.append(f"{state}", style="italic")
        self._update("title", self._title, heading)
        groups = self._groups(record, book.clock())
        per_row = self._group_count()
        self._update(
            "counters",
            self._counters,
            (groups, per_row),
            lambda: _counters(groups, per_row),
        )
        timeline = record.timeline
        key = (len(timeline), timeline[-1]) if timeline else (0, None)
        self._update("timeline", self._timeline, key, lambda: _timeline(record))
        self._update(
            "bytes",
            self._bytes,
            (self.recent, self._hex_width()),
            lambda: _bytes_view(self.recent, self._hex_width(), commands is not None),
        )

    def _update(
        self, name: str, view: Static, key: object, content: object = None
    ) -> None:
        """Update a pane when what it would show changed (a new text costs a
        layout pass)."""
        if self._shown.get(name) == key:
            return
        self._shown[name] = key
        if content is None:
            content = key
        if callable(content):
            content = content()
        assert isinstance(content, (Text, Table))
        view.update(content)

    def _group_count(self) -> int:
        """Groups of numbers side by side: as many as the pane's width holds."""
        width = self._counters.size.width or self.size.width
        return max(1, min(3, (width - 2) // GROUP_WIDTH))

    def _hex_width(self) -> int:
        width = self._bytes.size.width or self.size.width
        return 16 if width >= HEX_WIDE else 8

    def _groups(self, record: ClientRecord, now: float) -> list[tuple[str, Rows]]:
        groups = [
            ("traffic", _traffic(record, now)),
            ("kernel", self._kernel(record)),
            ("fault", self._fault(record, now)),
        ]
        if record.tls is not None or self.book.tls is not None:
            groups.append(("tls", tls_rows(record.tls)))
        return groups

    def _kernel(self, record: ClientRecord) -> Rows:
        kernel = self.source.kernel
        if kernel is None:
            return [("RECV-Q", "n/a"), ("SEND-Q", "n/a"), ("TCP_INFO", "n/a")]
        if record.closed:
            return [("socket", "closed")]
        stats = kernel.kernel_stats(record.id)
        if stats is None:
            return [("socket", "sampling…")]
        return [
            ("RECV-Q", human_size(stats.recv_q)),
            ("SEND-Q", human_size(stats.send_q)),
            ("rtt", _micros(stats.rtt_us)),
            ("rttvar", _micros(stats.rttvar_us)),
            ("retrans", str(stats.retransmits)),
            ("cwnd", f"{stats.cwnd} segments"),
            ("lost", str(stats.lost)),
        ]

    def _fault(self, record: ClientRecord, now: float) -> Rows:
        commands = self.source.commands
        if record.fault is None:
            none = "none (f sets one)" if commands is not None else "none"
            return [("spec", none)]
        rows = [("spec", _wrap_spec(record.fault, GROUP_WIDTH - 12))]
        if record.fault_set_at is not None:
            ago = human_duration(max(0.0, now - record.fault_set_at))
            at = clock_time(record.fault_set_at)[:8]  # to the second: it fits
            # Two short rows: one of 19 cells wrapped in a group's 19-cell column.
            rows += [("set at", at), ("for", ago)]
        activity = None
        if commands is not None and not record.closed:
            activity = commands.fault_activity(record.id)
        if activity is not None:
            rows += [
                ("delayed", human_size(activity.delayed)),
                ("pieces", f"{activity.pieces:,}"),
                ("discarded", human_size(activity.discarded)),
            ]
            if "corrupt=" in record.fault:
                rows.append(("corrupted", f"{activity.corrupted:,} bits"))
            if record.udp:  # what the datagram items did, in datagrams
                rows += [
                    ("lost", f"{activity.dropped:,}"),
                    ("duplicated", f"{activity.duplicated:,}"),
                    ("reordered", f"{activity.reordered:,}"),
                    ("truncated", f"{activity.truncated:,}"),
                ]
        return rows


def tls_rows(tls: TlsEstablished | None) -> Rows:
    """What a TLS client negotiated (its client certificate under mTLS)."""
    if tls is None:
        return [("handshake", "not done")]
    expires = tls.client_cert_expires
    return [
        ("version", tls.version),
        ("cipher", tls.cipher),
        ("alpn", tls.alpn or "-"),
        ("sni", tls.sni or "-"),
        ("cert", tls.client_cert or "-"),
        ("issuer", tls.client_cert_issuer or "-"),
        ("expires", "-" if expires is None else timestamp(expires)[:10]),
        ("resumed", "yes" if tls.resumed else "no"),
    ]


def _wrap_spec(spec: str, width: int) -> str:
    """A SPEC over lines of at most `width` cells, broken after its commas."""
    lines: list[str] = []
    for item in spec.split(","):
        if lines and len(lines[-1]) + 1 + len(item) <= width:
            lines[-1] += "," + item
        elif lines:
            lines[-1] += ","
            lines.append(item)
        else:
            lines.append(item)
    return "\n".join(lines)


def _micros(value: int) -> str:
    return f"{value / 1000:.2f} ms" if value >= 1000 else f"{value} µs"


def _traffic(record: ClientRecord, now: float) -> Rows:
    rows = [
        ("connected", human_duration(record.connected_for(now))),
        ("in", human_size(record.bytes_in)),
        ("out", human_size(record.bytes_out)),
        ("pending", human_size(record.pending)),
        ("rate in", human_rate(record.rate_in)),
        ("rate out", human_rate(record.rate_out)),
        ("last sent", human_duration(max(0.0, now - record.last_active)) + " ago"),
    ]
    if record.udp:  # a UDP peer: its datagrams, counted as its bytes are
        rows += [
            ("proto", "udp"),
            ("dgrams in", f"{record.datagrams_in:,}"),
            ("dgrams out", f"{record.datagrams_out:,}"),
            ("dropped", f"{record.dropped:,}"),
        ]
    if record.closed:
        rows.append(("closed", record.close_reason or ""))
        rows.append(("discarded", human_size(record.discarded)))
    return rows


def _counters(groups: list[tuple[str, Rows]], per_row: int) -> RenderableType:
    """The groups of numbers, `per_row` side by side."""
    grid = Table.grid(padding=(0, 2), expand=False)
    for _ in range(per_row):
        grid.add_column(width=GROUP_WIDTH - 2)
    tables = [_group(title, rows) for title, rows in groups]
    for start in range(0, len(tables), per_row):
        grid.add_row(*tables[start : start + per_row])
    return grid


def _group(title: str, rows: Rows) -> Table:
    table = Table(
        box=None,
        show_header=False,
        padding=(0, 1, 0, 0),
        title=title,
        title_justify="left",
        title_style="bold underline",
    )
    table.add_column(style="bold", no_wrap=True)
    table.add_column(overflow="fold")
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
    return " ".join(event_text(event).split())


def _bytes_view(recent: bytes | None, per_line: int, can_inspect: bool) -> Text:
    text = Text()
    if not can_inspect:
        text.append("recent bytes\n", style="bold underline")
        text.append("not recorded in a replay", style="italic")
        return text
    if recent is None:
        text.append("recent bytes\n", style="bold underline")
        text.append("waiting for the server…", style="italic")
        return text
    if not recent:
        text.append("recent bytes\n", style="bold underline")
        text.append("nothing received since you opened this view", style="italic")
        return text
    text.append(
        f"the last {len(recent)} bytes received (up to {RING_SIZE} kept)\n",
        style="bold underline",
    )
    text.append("\n".join(hexdump(recent, per_line)) + "\n\n", style="")
    text.append("as text\n", style="bold underline")
    text.append(readable(recent))
    return text


def readable(data: bytes) -> str:
    """Client bytes as text: valid UTF-8 as its characters (`café`), everything
    else as `printable` writes it (control bytes and invalid sequences escaped,
    and characters that are not printable, such as bidi overrides, too)."""
    parts = []
    for char in data.decode("utf-8", errors="surrogateescape"):
        code = ord(char)
        if code < 0x80:
            parts.append(printable(bytes((code,))))
        elif 0xDC80 <= code <= 0xDCFF:  # a byte that is not UTF-8
            parts.append(printable(bytes((code - 0xDC00,))))
        else:
            parts.append(char if char.isprintable() else escape(char))
    return "".join(parts)
