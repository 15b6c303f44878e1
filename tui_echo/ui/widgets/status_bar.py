"""`StatusBar`: where the server listens, for how long, its clients and traffic."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Sparkline, Static

from tui_echo.book import HISTORY_SECONDS, ClientBook
from tui_echo.common import format_address, is_loopback
from tui_echo.text import human_duration, human_rate, human_size


class StatusBar(Vertical):
    """Two lines at the top: the server in numbers, then a minute of throughput."""

    DEFAULT_CSS = """
    StatusBar {
        height: 2;
        background: $panel;
        & Static { height: 1; }
        & #summary { width: 1fr; }
        & #traffic { height: 1; }
        & #history-label { width: auto; color: $text-muted; }
        & Sparkline { width: 40; height: 1; margin: 0 1; }
        & #now { width: 1fr; }
        &.-paused { background: $warning-muted; }
    }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._summary: Text | None = None
        self._now: Text | None = None
        self._summary_view = Static(id="summary")
        self._now_view = Static(id="now")
        self._sparkline = Sparkline([0.0], id="throughput")

    def compose(self) -> ComposeResult:
        yield self._summary_view
        with Horizontal(id="traffic"):
            yield Static(f" throughput, last {HISTORY_SECONDS}s", id="history-label")
            yield self._sparkline
            yield self._now_view

    def show(
        self, book: ClientBook, *, paused: bool = False, backlogged: bool = False
    ) -> None:
        """Show the book's numbers now."""
        totals = book.totals
        summary = Text(no_wrap=True, overflow="ellipsis")
        summary.append(" tui-echo ", "bold reverse")
        if book.address is not None:
            summary.append(f" listening on {format_address(*book.address)}", "bold")
            if not is_loopback(book.address[0]):
                summary.append(" (not only loopback!)", "bold reverse")
        summary.append(f"  up {human_duration(book.uptime())}")
        summary.append(f"  clients {totals.clients_now}", "bold")
        summary.append(f" ({totals.clients_total} total)")
        summary.append(f"  in {human_size(totals.bytes_in)}")
        summary.append(f"  out {human_size(totals.bytes_out)}")
        if totals.rejected:
            summary.append(f"  rejected {totals.rejected}", "bold")
        if book.shut_down:
            summary.append("  SERVER STOPPED", "bold")
        now = Text(no_wrap=True, overflow="ellipsis")
        now.append(f"⇅ {human_rate(totals.rate_in + totals.rate_out)}", "bold")
        if paused:
            now.append("   PAUSED: display frozen, server running", "bold")
        if backlogged:
            now.append(
                "   not accepting new clients until the display catches up", "bold"
            )
        if summary != self._summary:
            self._summary = summary
            self._summary_view.update(summary, layout=False)  # fixed size
        if now != self._now:
            self._now = now
            self._now_view.update(now, layout=False)
        history = [float(v) for v in book.throughput]
        if history != self._sparkline.data:
            self._sparkline.data = history
        self.set_class(paused, "-paused")
