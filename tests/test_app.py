"""The live monitor driven by Textual's pilot, against a real server on port 0."""

from __future__ import annotations

import asyncio
import socket
import threading

import pytest
from textual import events
from textual.binding import Binding
from textual.widgets import Static

from tests.helpers import DEADLINE, echo_many, open_client, recv_exactly
from tests.pilot import SIZE, Monitor, monitor, until
from tui_echo.cli import command as cli
from tui_echo.engine.config import ServerConfig
from tui_echo.events import ClientConnected, Listening
from tui_echo.server import EchoServer
from tui_echo.sources.live import LiveSource
from tui_echo.ui import app as app_module
from tui_echo.ui.app import EchoApp
from tui_echo.ui.demo import FixedClock, ScriptedServer
from tui_echo.ui.main_screen import MainScreen
from tui_echo.ui.screens import ClientDetailScreen, ConfirmScreen, HelpScreen
from tui_echo.ui.widgets import ClientTable

__all__ = ["monitor"]  # the fixture, shared with the other pilot tests


async def test_a_client_appears_with_its_port_and_its_byte_counts(
    monitor: Monitor,
) -> None:
    client = monitor.connect()
    port = client.getsockname()[1]
    row = await monitor.row_showing(1, f"127.0.0.1:{port}")
    assert "open" in row
    client.sendall(b"x" * 777)
    assert recv_exactly(client, 777) == b"x" * 777
    # RECV-Q may show the 777 B too, if sampled before the loop read them.
    await monitor.until(
        lambda: (monitor.cell(1, "in"), monitor.cell(1, "out")) == ("777 B", "777 B"),
        "777 B in and out",
    )


async def test_k_kicks_the_selected_client(monitor: Monitor) -> None:
    client = monitor.connect()
    await monitor.row_showing(1, "open")
    await monitor.pilot.press("k")
    assert client.recv(10) == b""
    await monitor.row_showing(1, "kicked")


async def test_r_resets_the_selected_client(monitor: Monitor) -> None:
    client = monitor.connect()
    await monitor.row_showing(1, "open")
    await monitor.pilot.press("r")
    with pytest.raises(ConnectionResetError):
        client.recv(10)
    await monitor.row_showing(1, "reset")


async def test_kick_all_asks_first_then_closes_every_client(monitor: Monitor) -> None:
    clients = [monitor.connect() for _ in range(3)]
    await monitor.until(lambda: len(monitor.table.order) == 3, "three rows")
    await monitor.pilot.press("K")
    await monitor.until(lambda: isinstance(monitor.app.screen, ConfirmScreen), "dialog")
    await monitor.pilot.press("n")
    await monitor.until(
        lambda: not isinstance(monitor.app.screen, ConfirmScreen), "no dialog"
    )
    assert monitor.server.client_count == 3, "cancel must kick nobody"
    await monitor.pilot.press("K")
    await monitor.until(lambda: isinstance(monitor.app.screen, ConfirmScreen), "dialog")
    await monitor.pilot.click("#yes")
    for client in clients:
        assert client.recv(10) == b""
    for client_id in (1, 2, 3):
        await monitor.row_showing(client_id, "kicked")


async def test_the_cursor_stays_on_its_client_as_others_come_and_go(
    monitor: Monitor,
) -> None:
    first, _second, _third = (monitor.connect() for _ in range(3))
    await monitor.until(lambda: len(monitor.table.order) == 3, "three rows")
    monitor.table.sort_by("id")  # now newest first: arrivals push rows down
    assert monitor.table.sort_descending
    monitor.table.select_client(2)
    monitor.connect()
    await monitor.until(lambda: len(monitor.table.order) == 4, "a fourth row")
    assert monitor.table.order == [4, 3, 2, 1]
    assert monitor.table.cursor_client == 2
    first.close()
    await monitor.row_showing(1, "peer closed")
    await monitor.until(lambda: 1 not in monitor.table.order, "client 1 to leave")
    assert monitor.table.cursor_client == 2
    assert monitor.table.order == [4, 3, 2]
    await monitor.pilot.press("up")
    assert monitor.table.cursor_client == 3


async def test_filter_narrows_the_rows(monitor: Monitor) -> None:
    clients = [monitor.connect() for _ in range(3)]
    await monitor.until(lambda: len(monitor.table.order) == 3, "three rows")
    port = clients[1].getsockname()[1]
    await monitor.pilot.press("slash", *str(port))
    await monitor.until(lambda: monitor.table.order == [2], "only client 2")
    await monitor.pilot.press("enter")
    assert monitor.table.has_focus
    assert monitor.table.order == [2]
    await monitor.pilot.press("escape")
    await monitor.until(lambda: len(monitor.table.order) == 3, "all rows back")


async def test_filter_text_is_not_markup(monitor: Monitor) -> None:
    monitor.connect()
    await monitor.row_showing(1, "open")
    await monitor.pilot.press("slash", "left_square_bracket", "slash", "r", "e", "d")
    await monitor.until(lambda: monitor.table.order == [], "no row matches")
    await monitor.pilot.pause()
    assert "[/red" in str(monitor.table.border_title)
    assert monitor.table.empty_hint == "No client matches the filter."
    assert monitor.app.is_running


async def test_pause_freezes_the_table_while_the_echo_goes_on(
    monitor: Monitor,
) -> None:
    client = monitor.connect()
    await monitor.row_showing(1, "open")
    await monitor.pilot.press("p")
    client.sendall(b"y" * 4321)
    assert recv_exactly(client, 4321) == b"y" * 4321  # the server keeps echoing
    frozen = monitor.row_text(1)
    refreshes = len(monitor.app.refresh_costs)
    await monitor.until(
        lambda: len(monitor.app.refresh_costs) >= refreshes + 5, "five refresh ticks"
    )
    assert monitor.row_text(1) == frozen
    assert "4.2 KiB" not in frozen
    await monitor.pilot.press("p")
    await monitor.row_showing(1, "4.2 KiB")


async def test_the_detail_screen_shows_the_bytes_the_client_sent(
    monitor: Monitor,
) -> None:
    client = monitor.connect()
    await monitor.row_showing(1, "open")
    await monitor.pilot.press("enter")
    screen = await monitor.until(
        lambda: (
            isinstance(monitor.app.screen, ClientDetailScreen) and monitor.app.screen
        ),
        "the detail screen",
    )
    await monitor.until(lambda: monitor.server.recent_bytes(1) == b"", "inspection")
    client.sendall(b"hello\x1b[2J\x00")
    recv_exactly(client, 10)
    shown = await monitor.until(
        lambda: (
            "hello\\x1b[2J\\x00" in str(screen.query_one("#bytes", Static).content)
            and str(screen.query_one("#bytes", Static).content)
        ),
        "the bytes in the detail screen",
    )
    assert "68 65 6c 6c 6f 1b 5b 32 4a 00" in shown
    assert "\x1b" not in shown
    await monitor.pilot.press("escape")
    await monitor.until(lambda: monitor.server.recent_bytes(1) is None, "inspect off")


async def test_help_opens_and_closes(monitor: Monitor) -> None:
    await monitor.pilot.press("question_mark")
    await monitor.until(lambda: isinstance(monitor.app.screen, HelpScreen), "help")
    await monitor.pilot.press("escape")
    await monitor.until(
        lambda: not isinstance(monitor.app.screen, HelpScreen), "help to close"
    )


@pytest.mark.parametrize("key", ["q", "ctrl+c"])
async def test_q_and_ctrl_c_quit_and_free_the_port(key: str) -> None:
    server = EchoServer(ServerConfig(port=0)).start()
    port = server.address[1]
    app = EchoApp(LiveSource(server), refresh_interval=0.05, linger=0.5)
    with open_client(server.address) as client:
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press(key)
        assert app.return_code == 0
        assert not server.running
        assert client.recv(10) == b""
    with socket.create_server(("127.0.0.1", port)):
        pass


async def test_the_port_opens_once_the_monitor_is_on_screen(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(app_module, "SHOWN_AT_THE_LATEST", 3600)  # Ready, not this
    server = EchoServer(ServerConfig(port=0)).bind()
    port = server.address[1]
    drawn_when_called: list[bool] = []

    def serve() -> str | None:
        drawn_when_called.append(app.table.size.height > 0)
        return cli.serve_now(server)

    # A tick once a minute: what shows soon was shown by the start itself.
    app = EchoApp(LiveSource(server), refresh_interval=60, linger=0.5, when_shown=serve)
    try:
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(server.address, timeout=DEADLINE).close()
        async with app.run_test(size=SIZE) as pilot:
            await until(
                pilot,
                lambda: f"listening on 127.0.0.1:{port}" in summary_text(app),
                "the address in the status bar",
            )
            assert drawn_when_called == [True]
            assert echo_many(server.address, [b"hello"]) == [b"hello"]
    finally:
        server.stop()


async def test_the_port_opens_anyway_should_textual_never_say_it_is_ready(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    class NeverReady(EchoApp):
        def on_ready(self, event: events.Ready) -> None:
            event.prevent_default()  # EchoApp's handler does not run

    monkeypatch.setattr(app_module, "SHOWN_AT_THE_LATEST", 0.2)
    server = EchoServer(ServerConfig(port=0)).bind()
    served: list[str | None] = []

    def serve() -> str | None:
        served.append(cli.serve_now(server))
        return served[-1]

    app = NeverReady(
        LiveSource(server), refresh_interval=60, linger=0.5, when_shown=serve
    )
    try:
        async with app.run_test(size=SIZE) as pilot:
            await until(pilot, lambda: server.running, "the server to start")
            assert served == [None]
            assert echo_many(server.address, [b"late"]) == [b"late"]
    finally:
        server.stop()


async def test_a_port_taken_since_bind_ends_the_monitor_with_the_reason() -> None:
    server = EchoServer(ServerConfig(port=0)).bind()
    address = server.address
    try:
        with socket.socket() as other:  # beside a bound socket that does not listen
            other.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            other.bind(address)
            other.listen()
            app = EchoApp(
                LiveSource(server),
                linger=0.5,
                when_shown=lambda: cli.serve_now(server),
            )
            async with app.run_test(size=SIZE) as pilot:
                await until(pilot, lambda: app.return_code is not None, "the end")
    finally:
        server.stop()
    assert app.return_code == 1
    where = f"127.0.0.1:{address[1]}"
    assert app.start_failure == f"cannot listen on {where}: address already in use"
    assert not server.running


def summary_text(app: EchoApp) -> str:
    return str(app.query_one("#summary", Static).render())


async def test_every_key_is_in_the_command_palette_and_the_help(
    monitor: Monitor,
) -> None:
    app = monitor.app
    commands = {c.title: c for c in app.get_system_commands(app.screen)}
    every = [
        b
        for b in MainScreen.BINDINGS
        if isinstance(b, Binding) and b.action != "clear_filter"
    ]
    for binding in every:
        if binding.action.startswith("app.playback_"):  # a replay's keys only
            assert binding.description not in commands
            continue
        assert commands[binding.description].help == binding.tooltip
    help_keys = {key for _, rows in app.key_help() for key, _ in rows}
    keys = ["k", "r", "f", "F", "K", "⏎", "/", "s", "S", "l", "h", "p", "?", "q ^c"]
    keys += ["↑", "↓", "pgup", "pgdn", "home", "end", "^p", "tab / shift+tab"]
    keys += ["esc", "1", "0"]  # the fault dialog's
    for key in keys:
        assert key in help_keys, (key, help_keys)
    sections = [title for title, _ in app.key_help()]
    assert sections == [
        "Clients",
        "Actions",
        "Client details",
        "History",
        "Fault dialog",
        "Anywhere",
    ]
    client = monitor.connect()
    await monitor.row_showing(1, "open")
    await commands["Kick"].callback()  # the palette runs what the key runs
    assert client.recv(10) == b""


async def test_clicking_a_header_sorts_by_it_and_again_reverses(
    monitor: Monitor,
) -> None:
    small, big = monitor.connect(), monitor.connect()
    big.sendall(b"b" * 5000)
    recv_exactly(big, 5000)
    small.sendall(b"s")
    recv_exactly(small, 1)
    await monitor.row_showing(2, "4.9 KiB")
    await monitor.row_showing(1, "1 B")
    layout = monitor.table._columns()
    in_column = [column.key for column, _ in layout].index("in")
    x = sum(width + 1 for _, width in layout[:in_column]) + 1
    region = monitor.table.content_region
    offset = (region.x - monitor.table.region.x + x, region.y - monitor.table.region.y)
    await monitor.pilot.click(ClientTable, offset=offset)
    assert (monitor.table.sort_column, monitor.table.sort_descending) == ("in", True)
    await monitor.until(lambda: monitor.table.order == [2, 1], "biggest first")
    await monitor.pilot.click(ClientTable, offset=offset)
    assert monitor.table.sort_descending is False
    await monitor.until(lambda: monitor.table.order == [1, 2], "smallest first")


async def test_the_status_bar_warns_when_every_address_is_bound() -> None:
    clock = FixedClock()
    server = ScriptedServer([Listening(host="0.0.0.0", port=9000, ts=clock())], clock)
    app = EchoApp(server, clock=clock, refresh_interval=0.05)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        summary = str(app.query_one("#summary", Static).render())
        assert "listening on 0.0.0.0:9000 (not only loopback!)" in summary


async def test_a_paused_display_still_takes_the_events_so_accepting_never_waits() -> (
    None
):
    clock = FixedClock()
    server = ScriptedServer([Listening(host="127.0.0.1", port=9000, ts=clock())], clock)
    server.feed.backlog_limit = 3
    app = EchoApp(server, clock=clock, refresh_interval=0.05)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("p")
        for client in range(1, 11):
            server.feed.publish(ClientConnected(client=client, peer="127.0.0.1:1"))
        await until(pilot, lambda: len(app.book.clients) == 10, "the events taken")
        assert not server.feed.backlogged
        table = app.query_one(ClientTable)
        assert table.order == []  # the screen stays frozen
        await pilot.press("p")
        await until(pilot, lambda: len(table.order) == 10, "the rows, on resume")


async def test_a_growing_backlog_is_taken_before_the_tick() -> None:
    clock = FixedClock()
    server = ScriptedServer([Listening(host="127.0.0.1", port=9000, ts=clock())], clock)
    app = EchoApp(server, clock=clock, refresh_interval=60)  # no tick in this test
    app.cadence.early_backlog = 5
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.book.address is not None, "the first refresh")
        await until(pilot, lambda: not app.cadence.waiting, "the start's refreshes")
        loop = asyncio.get_running_loop()
        assert loop is app._event_loop  # where the backlog alarm asks for a refresh
        published = asyncio.Event()

        def publish(first: int, count: int) -> None:  # as the loop thread would
            for client in range(first, first + count):
                server.feed.publish(ClientConnected(client=client, peer="127.0.0.1:1"))
            # Behind whatever the alarm put on the app's loop while publishing.
            loop.call_soon_threadsafe(published.set)

        publisher = threading.Thread(target=publish, args=(1, 4))
        publisher.start()
        publisher.join()
        await until(pilot, published.is_set, "the app's loop past the publishing")
        # The alarm had its chance: it would have asked for a refresh by now.
        assert not app.cadence.waiting, "no early refresh asked for"
        assert server.feed.backlog == 4  # below the mark: they wait for the tick
        publisher = threading.Thread(target=publish, args=(5, 3))
        publisher.start()
        publisher.join()
        await until(pilot, lambda: server.feed.backlog == 0, "an early refresh")
        assert len(app.book.clients) == 7


async def test_the_status_bar_says_when_the_display_holds_up_accepting() -> None:
    clock = FixedClock()
    server = ScriptedServer([Listening(host="127.0.0.1", port=9000, ts=clock())], clock)
    server.feed.backlog_limit = 0  # as if the display had fallen far behind
    app = EchoApp(server, clock=clock, refresh_interval=0.05)
    async with app.run_test(size=SIZE) as pilot:
        now_line = app.query_one("#traffic", Static)
        await until(
            pilot,
            lambda: "not accepting new clients" in str(now_line.render()),
            "the notice",
        )
