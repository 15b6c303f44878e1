"""`StatusBar`: where the server listens, for how long, its clients and traffic."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Sparkline, Static

from tui_echo.book import ClientBook
from tui_echo.text import human_duration, human_rate, human_size


class StatusBar(Horizontal):
    """The line at the top: a summary of the server and a minute of throughput."""

    DEFAULT_CSS = """
    StatusBar {
        height: 1;
        background: $panel;
        & > #summary { width: 1fr; height: 1; }
        & > Sparkline { width: 30; height: 1; margin: 0 1; }
        &.-paused { background: $warning-muted; }
    }
    """

    def compose(self) -> ComposeResult:
        yield Static(id="summary")
        yield Sparkline([0.0], id="throughput")

    def show(self, book: ClientBook, *, paused: bool = False) -> None:
        """Show the book's numbers now."""
        summary = Text(no_wrap=True, overflow="ellipsis")
        summary.append(" tui-echo ", "bold reverse")
        if book.address is not None:
            host, port = book.address
            host = f"[{host}]" if ":" in host else host
            summary.append(f" {host}:{port}", "bold")
        else:
            summary.append(" starting…")
        totals = book.totals
        summary.append(f"  up {human_duration(book.uptime())}")
        summary.append(f"  clients {totals.clients_now}", "bold")
        summary.append(f" ({totals.clients_total} total)")
        summary.append(f"  in {human_size(totals.bytes_in)}")
        summary.append(f"  out {human_size(totals.bytes_out)}")
        summary.append(f"  ⇅ {human_rate(totals.rate_in + totals.rate_out)}", "bold")
        if totals.rejected:
            summary.append(f"  rejected {totals.rejected}", "yellow")
        if book.shut_down:
            summary.append("  SERVER STOPPED", "bold red")
        if paused:
            summary.append("  ⏸ PAUSED: display frozen, server running (p)", "bold")
        self.query_one("#summary", Static).update(summary)
        self.query_one(Sparkline).data = [float(v) for v in book.throughput]
        self.set_class(paused, "-paused")
