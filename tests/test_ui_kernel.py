"""Kernel truth per client (issue 11): RECV-Q and SEND-Q columns, TCP_INFO in the
detail screen, sampled for the visible rows only, n/a where the kernel cannot be
asked."""

from __future__ import annotations

import pytest

from tests.pilot import REFRESH, SIZE, SMALL, Monitor, monitor, until
from tui_echo.events import KERNEL_SUPPORTED, ClientConnected, Listening
from tui_echo.sources.live import LiveSource
from tui_echo.ui.app import EchoApp
from tui_echo.ui.demo import FixedClock, ScriptedServer
from tui_echo.ui.screens import ClientDetailScreen
from tui_echo.ui.widgets import ClientTable

__all__ = ["monitor"]  # the fixture

linux_only = pytest.mark.skipif(not KERNEL_SUPPORTED, reason="SIOCINQ is Linux's")


@linux_only
async def test_recv_q_shows_what_the_kernel_holds_for_a_stalled_client(
    monitor: Monitor,
) -> None:
    client = monitor.connect()
    await monitor.row_showing(1, "open")
    assert "RECV-Q" in monitor.table.render_line(0).text
    monitor.server.set_fault(1, "stall")  # tui-echo stops reading
    await monitor.until(lambda: monitor.app.book.clients[1].fault, "the fault")
    client.sendall(b"q" * 1000)
    # The kernel holds the 1000 bytes; tui-echo has read none of them.
    await monitor.until(
        lambda: (stats := monitor.server.kernel_stats(1)) and stats.recv_q == 1000,
        "the sample",
    )
    row = await monitor.row_showing(1, "1000 B")
    assert row.count("0 B") >= 2, row  # IN and PENDING: nothing read


@linux_only
async def test_the_detail_screen_shows_tcp_info(monitor: Monitor) -> None:
    monitor.connect()
    await monitor.row_showing(1, "open")
    await monitor.pilot.press("enter")
    await monitor.screen_is(ClientDetailScreen)
    text = await monitor.until(
        lambda: "cwnd" in monitor.screen_text() and monitor.screen_text(),
        "TCP_INFO",
    )
    for label in ("RECV-Q", "SEND-Q", "rtt", "rttvar", "retrans", "cwnd", "lost"):
        assert label in text, label
    assert "segments" in text
    assert isinstance(monitor.app.source, LiveSource)


async def test_only_the_visible_rows_and_the_inspected_client_are_sampled() -> None:
    clock = FixedClock()
    events = [
        ClientConnected(client=c, peer=f"127.0.0.1:{c}", ts=clock() - 9)
        for c in range(1, 101)
    ]
    server = ScriptedServer(events, clock)
    app = EchoApp(server, clock=clock, refresh_interval=REFRESH)
    async with app.run_test(size=SMALL) as pilot:
        table = app.query_one(ClientTable)
        await until(pilot, lambda: len(table.order) == 100, "every row")
        visible = tuple(table.visible_clients())
        assert 5 < len(visible) < 30
        await until(pilot, lambda: server.watched[-1:] == [visible], "a watch")
        await pilot.press("end")
        await until(pilot, lambda: server.watched[-1][-1] == 100, "the last rows")
        assert len(server.watched[-1]) == len(visible)
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, ClientDetailScreen), "it")
        await until(pilot, lambda: 100 in server.watched[-1], "the inspected client")


async def test_the_kernel_columns_say_n_a_where_the_kernel_cannot_be_asked() -> None:
    clock = FixedClock()
    server = ScriptedServer(
        [
            Listening(host="127.0.0.1", port=9000, ts=clock() - 10),
            ClientConnected(client=1, peer="127.0.0.1:5", ts=clock() - 9),
        ],
        clock,
        with_kernel=False,
    )
    app = EchoApp(server, clock=clock, refresh_interval=REFRESH)
    async with app.run_test(size=SIZE) as pilot:
        table = app.query_one(ClientTable)
        await until(pilot, lambda: table.order == [1], "the row")
        assert "recv_q" in table.visible_columns()
        assert table.render_line(1).text.count("n/a") == 2
        assert server.watched == [], "nothing to sample"
