"""The charts (`g`): the server's last minutes from a `Trend` sampled at refreshes,
one client's from its timeline, each with its scale and its time axis."""

from __future__ import annotations

from tests.helpers import data_event
from tests.pilot import SMALL, screen_in_front, until
from tui_echo.book import ClientBook
from tui_echo.events import ClientClosed, ClientConnected, Listening
from tui_echo.ui.demo import FixedClock, make_demo_app
from tui_echo.ui.graphs import Trend, chart, client_rates
from tui_echo.ui.screens import ClientDetailScreen
from tui_echo.ui.screens.graphs import GraphScreen
from tui_echo.units import human_rate


def test_the_trend_counts_every_byte_of_each_second_gone() -> None:
    clock = FixedClock(1000.2)
    book = ClientBook(clock)
    trend = Trend()
    book.apply(Listening(host="127.0.0.1", port=7, ts=1000.0))
    trend.sample(book)
    book.apply(ClientConnected(client=1, peer="10.0.0.1:1", ts=1000.3))
    book.apply(data_event(1, 500, ts=1000.4))
    book.apply(
        ClientClosed(
            client=1, reason="peer closed", bytes_in=500, bytes_out=500, ts=1000.5
        )
    )
    clock.now = 1001.1
    trend.sample(book)
    clock.now = 1003.1  # two seconds with nothing
    trend.sample(book)
    assert list(trend.rate_in) == [500, 0, 0]
    assert list(trend.rate_out) == [500, 0, 0]
    assert list(trend.clients) == [0, 0, 0]


def test_a_chart_says_its_peak_and_its_time_axis() -> None:
    text = chart("in", [0, 512, 1024], 40, 4, human_rate).plain
    lines = text.splitlines()
    assert lines[0] == "in  (peak 1.0 KiB/s)"
    assert lines[1].startswith("1.0 KiB/s ┤")
    assert lines[1].endswith("█")  # the peak fills the top row
    assert lines[4].startswith("    0 B/s ┤")
    assert "-29s" in lines[6]
    assert lines[6].endswith("now")


def test_a_clients_rates_come_from_its_timeline() -> None:
    clock = FixedClock(1010.5)
    book = ClientBook(clock)
    book.apply(ClientConnected(client=1, peer="10.0.0.1:1", ts=1000.0))
    book.apply(data_event(1, 100, ts=1007.2))
    book.apply(data_event(1, 400, ts=1009.6))
    rate_in, rate_out = client_rates(book.clients[1], clock(), 5)
    assert rate_in == [0, 0, 100, 0, 300]  # 1005 .. 1009
    assert rate_out == rate_in


async def test_g_charts_the_server_and_the_selected_client_at_80x24() -> None:
    app = make_demo_app()
    async with app.run_test(size=SMALL) as pilot:
        await until(pilot, lambda: app.table.order, "rows")
        await pilot.press("g")
        screen = await screen_in_front(pilot, app, GraphScreen)
        await pilot.pause()
        text = str(screen.query_one("#graphs").render())
        assert "in  (peak " in text
        assert "clients connected  (peak 8)" in text
        assert "now" in text
        await pilot.press("escape")
        app.table.select_client(1)
        await pilot.press("enter")
        await screen_in_front(pilot, app, ClientDetailScreen)
        await pilot.press("g")
        screen = await screen_in_front(pilot, app, GraphScreen)
        await pilot.pause()
        assert screen.client_id == 1
        assert "client #1" in str(screen.query_one("#graph-title").render())
