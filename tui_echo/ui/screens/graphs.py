"""`GraphScreen`: the last minutes of in and out rates and clients connected, for the
whole server (`g` on the main screen) or one client (`g` on its detail screen)."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Static

from tui_echo.book import ClientBook
from tui_echo.ui.graphs import TREND_SECONDS, Trend, chart, client_rates
from tui_echo.units import human_rate
from tui_echo.words import escape

CHART_ROWS = (4, 8)
"""Rows of bars a chart gets: the smaller up to 30 terminal rows, then the larger."""


def _count(value: float) -> str:
    return f"{value:,.0f}"


class GraphScreen(Screen[None]):
    """Charts of the server (`client_id` None) or of one client; the app redraws
    them at each refresh."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,g", "dismiss", "Back", tooltip="Back to where you were"),
    ]

    def __init__(
        self, book: ClientBook, trend: Trend, client_id: int | None = None
    ) -> None:
        super().__init__()
        self.book = book
        self.trend = trend
        self.client_id = client_id
        self._title = Static(id="graph-title")
        self._charts = Static(id="graphs")

    def compose(self) -> ComposeResult:
        yield self._title
        with VerticalScroll(id="graph-body"):
            yield self._charts
        yield Footer()

    def on_mount(self) -> None:
        self.show()

    def on_resize(self) -> None:
        self.show()

    def show(self) -> None:
        """Draw the charts from the trend, or the client's timeline, now."""
        width = max(20, self.size.width - 2)
        rows = CHART_ROWS[0] if self.size.height < 30 else CHART_ROWS[1]
        book = self.book
        if self.client_id is None:
            self._title.update(" tui-echo · the server, the last minutes")
            series = [
                ("in", list(self.trend.rate_in), human_rate, "green"),
                ("out", list(self.trend.rate_out), human_rate, "cyan"),
                ("clients connected", list(self.trend.clients), _count, "yellow"),
            ]
        else:
            record = book.clients.get(self.client_id)
            peer = "" if record is None else escape(record.peer)
            self._title.update(
                f" client #{self.client_id} {peer} · the last minutes"
                " (from its recent events)"
            )
            rate_in, rate_out = (
                ([], [])
                if record is None
                else client_rates(record, book.clock(), min(TREND_SECONDS, width))
            )
            series = [
                ("in", rate_in, human_rate, "green"),
                ("out", rate_out, human_rate, "cyan"),
            ]
        text = chart(*series[0][:2], width, rows, series[0][2], series[0][3])
        for title, values, label, style in series[1:]:
            text.append("\n\n")
            text.append_text(chart(title, values, width, rows, label, style))
        self._charts.update(text)
