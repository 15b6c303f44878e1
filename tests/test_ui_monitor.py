"""Issue 11, item by item: what a new user found wrong with the monitor, and what
users of htop, k9s and lazygit reached for. Pilot tests, against a real server
where a socket matters and the scripted server where exact events do."""

from __future__ import annotations

import time

import pytest
from textual.widgets import Input, Static

from tests.helpers import data_event, recv_exactly
from tests.pilot import (
    LINGER,
    REFRESH,
    SIZE,
    SMALL,
    Monitor,
    monitor,
    screen_in_front,
    small_monitor,
    until,
)
from tui_echo.events import ClientClosed, ClientConnected, Event, Listening
from tui_echo.ui.app import EchoApp
from tui_echo.ui.demo import (
    FixedClock,
    ScriptedServer,
    make_demo_app,
    make_demo_server,
)
from tui_echo.ui.screens import (
    ClientDetailScreen,
    ConfirmScreen,
    HistoryScreen,
)
from tui_echo.ui.widgets import ClientTable, EventLog
from tui_echo.ui.widgets.key_footer import KeyCap, KeyFooter

__all__ = ["monitor", "small_monitor"]  # fixtures


def connect(client: int, ts: float) -> ClientConnected:
    return ClientConnected(client=client, peer=f"127.0.0.1:{50000 + client}", ts=ts)


# ---- 80x24 first ------------------------------------------------------------------


async def test_at_80x24_the_columns_that_matter_stay_and_nothing_scrolls_sideways() -> (
    None
):
    server = make_demo_server()
    app = make_demo_app(server)
    async with app.run_test(size=SMALL) as pilot:
        await pilot.pause()
        table = app.query_one(ClientTable)
        shown = table.visible_columns()
        for column in ("id", "peer", "state", "in", "out", "pending"):
            assert column in shown, shown
        assert table.virtual_size.width <= table.scrollable_content_region.width
        assert table.max_scroll_x == 0
        header = table.render_line(0).text
        assert "PENDING" in header
        assert len(header.rstrip()) <= table.scrollable_content_region.width
        row = table.render_line(1).text
        assert "127.0.0.1:51234" in row  # the whole peer, port included
        summary = str(app.query_one("#summary", Static).render())
        assert "127.0.0.1:9000" in summary
        assert "6 connected" in summary
        footer = [key.description for key in app.screen.query(KeyCap)]
        assert "Help" in footer
        assert "Quit" in footer


async def test_keys_grey_out_and_back_in_place_without_a_new_footer() -> None:
    clock = FixedClock()
    server = ScriptedServer([Listening(host="127.0.0.1", port=9000, ts=clock())], clock)
    app = EchoApp(server, clock=clock, refresh_interval=3600.0, linger=LINGER)
    async with app.run_test(size=SIZE) as pilot:

        def kick_key() -> KeyCap | None:
            keys = [k for k in app.screen.query(KeyCap) if k.description == "Kick"]
            return keys[0] if keys else None

        def kick_disabled() -> bool | None:
            key = kick_key()
            return None if key is None else key.has_class("-disabled")

        footer = app.query_one(KeyFooter)

        def settled() -> bool:  # composed for its width (a resize recomposes)
            width = footer.size.width
            return bool(width) and footer.composed_for == width

        await until(pilot, lambda: settled() and kick_disabled(), "no one to kick")
        before = kick_key()
        server.feed.publish(connect(1, clock()))
        app.refresh_view()
        await until(pilot, lambda: kick_disabled() is False, "kickable")
        assert kick_key() is before, "the same key, not a recomposed footer"
        assert before is not None
        assert before.enabled  # a click kicks too
        server.feed.publish(
            ClientClosed(client=1, reason="peer closed", bytes_in=0, bytes_out=0)
        )
        app.refresh_view()
        await until(pilot, lambda: kick_disabled() is True, "gone again")
        assert kick_key() is before


async def test_wider_terminals_bring_columns_back_by_priority() -> None:
    server = make_demo_server()
    app = make_demo_app(server)
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause()
        table = app.query_one(ClientTable)
        assert table.visible_columns() == [
            "id",
            "peer",
            "state",
            "in",
            "out",
            "recv_q",
            "pending",
            "send_q",
            "rate_in",
            "rate_out",
            "age",
            "idle",
            "fault",
        ]
        await pilot.resize_terminal(*SMALL)
        await pilot.pause()
        assert "age" not in table.visible_columns()
        assert "pending" in table.visible_columns()


@pytest.mark.parametrize("size", [SMALL, (100, 30)])
async def test_the_detail_screen_shows_everything_at_80x24_and_100_columns(
    size: tuple[int, int],
) -> None:
    server = make_demo_server()
    app = make_demo_app(server)
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        await pilot.press("enter")
        screen = await screen_in_front(pilot, app, ClientDetailScreen)
        assert screen.has_class("-narrow")
        counters = screen.query_one("#counters", Static)
        assert counters.region.right <= size[0], "nothing runs off the screen"
        text = app.screen._compositor.render_strips()
        shown = "\n".join(strip.text for strip in text)
        for label in ("connected", "pending", "RECV-Q", "SEND-Q", "rtt", "cwnd"):
            assert label in shown, label
        assert "co…" not in shown
        assert "by…" not in shown
        assert "47 45 54 20" in shown, "the bytes, in hex"


# ---- the event log -----------------------------------------------------------------


async def test_close_lines_keep_the_peer_after_a_pause(monitor: Monitor) -> None:
    await monitor.pilot.press("p")
    client = monitor.connect()
    port = client.getsockname()[1]
    client.close()
    await monitor.until(lambda: monitor.server.client_count == 0, "the close")
    closed_at = time.time()
    # The paused display resumes after the closed row's linger is over: the row
    # is pruned in the same refresh that writes the close line.
    await monitor.until(lambda: time.time() - closed_at > 2 * LINGER, "the linger")
    await monitor.pilot.press("p")
    line = await monitor.until(
        lambda: next((x for x in monitor.log_lines() if " close " in x), None),
        "the close line",
    )
    assert f"#1 127.0.0.1:{port} peer closed" in line


async def test_the_log_is_in_event_order_with_each_events_own_time() -> None:
    clock = FixedClock()
    server = ScriptedServer([], clock)
    feed = server.feed
    now = clock()
    feed.publish(connect(5, now - 2.0))
    feed.publish(connect(6, now - 1.9))
    # Merged data waits apart from the lifecycle events, so the feed hands the
    # later close over before the earlier data.
    feed.publish_data([data_event(6, 10, ts=now - 1.0)])
    feed.publish(
        ClientClosed(client=5, reason="peer closed", bytes_in=0, bytes_out=0, ts=now)
    )
    app = EchoApp(server, clock=clock, refresh_interval=REFRESH)
    async with app.run_test(size=SIZE) as pilot:
        log = app.query_one(EventLog)
        await until(pilot, lambda: len(log.lines) == 4, "four lines")
        kinds = [line.split()[1] for line in log.lines]
        assert kinds == ["connect", "connect", "data", "close"]
        times = [line.split()[0] for line in log.lines]
        assert times == sorted(times)


async def test_l_shows_lifecycle_events_only_with_the_data_kept_apart() -> None:
    server = make_demo_server()
    app = make_demo_app(server)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        log = app.query_one(EventLog)
        assert any(" data " in line for line in log.lines)
        await pilot.press("l")
        assert log.lifecycle_only
        assert log.lines, "the lifecycle lines stay"
        assert not any(" data " in line for line in log.lines)
        assert "8 clients +71.8 MiB" in str(log.border_subtitle)
        assert "lifecycle only" in str(log.border_title)
        await pilot.press("l")
        assert any(" data " in line for line in log.lines)
        assert not log.border_subtitle


# ---- the table ---------------------------------------------------------------------


async def test_the_selected_row_stays_visible_when_the_sort_order_churns() -> None:
    clock = FixedClock()
    now = clock()
    count = 60
    events: list[Event] = [connect(c, now - 10) for c in range(1, count + 1)]
    server = ScriptedServer(events, clock)
    app = EchoApp(server, clock=clock, refresh_interval=REFRESH)
    async with app.run_test(size=SMALL) as pilot:
        table = app.query_one(ClientTable)
        await until(pilot, lambda: len(table.order) == count, "every row")
        table.sort_by("in")  # biggest first
        table.select_client(1)
        totals = dict.fromkeys(range(1, count + 1), 0)
        rows_of_the_selected: set[int] = set()
        for sample in range(40):
            # Every client sends; the selected one jumps from top to bottom and
            # back (as a client does, sorted by IDLE, among busy ones).
            for client in totals:
                totals[client] += 1000 + (client * 7919 + sample * 104729) % 5000
            totals[1] = 10**9 if sample % 2 else 1
            server.feed.publish_data(
                [data_event(c, b, ts=now - 5 + sample / 100) for c, b in totals.items()]
            )
            refreshes = len(app.refresh_costs)
            await until(
                pilot,
                lambda n=refreshes: len(app.refresh_costs) > n,  # type: ignore[misc]
                "a refresh",
            )
            index = table.cursor_index
            assert table.cursor_client == 1
            assert index is not None
            rows_of_the_selected.add(index)
            top = round(table.scroll_y)
            assert top <= index < top + table.scrollable_content_region.height - 1, (
                f"sample {sample}: row {index} off screen (top {top})"
            )
        assert min(rows_of_the_selected) < 5 < 50 < max(rows_of_the_selected)


async def test_s_cycles_the_sort_and_shift_s_reverses_it() -> None:
    server = make_demo_server()
    app = make_demo_app(server)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        table = app.query_one(ClientTable)
        assert table.order == [1, 2, 3, 4, 5, 6, 7, 8]
        await pilot.press("S")
        assert table.order == [8, 7, 6, 5, 4, 3, 2, 1]
        assert "sorted by ID ▼" in str(table.border_title)
        await pilot.press("s")
        assert table.sort_column == "peer"
        await pilot.press("S")
        assert table.sort_descending


async def test_no_wrong_hint_while_filtering(monitor: Monitor) -> None:
    monitor.connect()
    await monitor.row_showing(1, "open")
    await monitor.pilot.press("slash")
    for key in "zzz":
        await monitor.pilot.press(key)
        for y in range(4):
            assert "No clients yet" not in monitor.table.render_line(y).text
    await monitor.until(lambda: monitor.table.order == [], "no row matches")
    assert "No client matches the filter." in monitor.table.render_line(2).text


async def test_no_clients_yet_is_not_said_after_clients_came_and_went() -> None:
    clock = FixedClock()
    now = clock()
    events: list[Event] = []
    for client in range(1, 8):
        events.append(connect(client, now - 20))
        events.append(
            ClientClosed(
                client=client, reason="peer closed", bytes_in=0, bytes_out=0, ts=now - 9
            )
        )
    server = ScriptedServer(
        [Listening(host="127.0.0.1", port=9000, ts=now - 30), *events], clock
    )
    app = EchoApp(server, clock=clock, refresh_interval=REFRESH, linger=LINGER)
    async with app.run_test(size=SIZE) as pilot:
        table = app.query_one(ClientTable)
        await until(pilot, lambda: app.book.totals.clients_total == 7, "the events")
        assert table.order == []
        hint = table.render_line(2).text
        assert "No clients yet" not in hint
        assert "No client connected now (7 came and went" in hint


async def test_the_table_title_and_the_status_bar_say_what_they_count() -> None:
    clock = FixedClock()
    now = clock()
    events: list[Event] = [connect(c, now - 5) for c in (1, 2, 3, 4)]
    events += [
        ClientClosed(client=c, reason="kicked", bytes_in=0, bytes_out=0, ts=now)
        for c in (1, 2, 3)
    ]
    server = ScriptedServer(
        [Listening(host="127.0.0.1", port=9000, ts=now - 30), *events], clock
    )
    app = EchoApp(server, clock=clock, refresh_interval=3600.0, linger=LINGER)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        title = str(app.query_one(ClientTable).border_title)
        summary = str(app.query_one("#summary", Static).render())
        assert title.startswith("1 connected, 3 closed")
        assert "1 connected (4 since start)" in summary


async def test_the_filter_says_what_it_matches_and_matches_it() -> None:
    server = make_demo_server()
    app = make_demo_app(server)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        placeholder = app.query_one("#filter", Input).placeholder
        for what in ("id", "peer", "state", "fault", "close reason"):
            assert what in placeholder
        table = app.query_one(ClientTable)
        await pilot.press("slash", *"by peer")
        assert table.order == [7], "a close reason matches"
        await pilot.press("escape", "slash", *"rate=")
        assert table.order == [2], "a fault matches"


# ---- acting -----------------------------------------------------------------------


async def test_kick_all_with_a_filter_kicks_the_clients_shown(monitor: Monitor) -> None:
    clients = [monitor.connect() for _ in range(3)]
    await monitor.until(lambda: len(monitor.table.order) == 3, "three rows")
    for client_id in (1, 3):
        monitor.server.set_fault(client_id, "delay=1ms")
    await monitor.row_showing(3, "delay=1ms")
    await monitor.pilot.press("slash", *"delay", "enter")
    await monitor.until(lambda: monitor.table.order == [1, 3], "two rows shown")
    await monitor.pilot.press("K")
    dialog = await monitor.screen_is(ConfirmScreen)
    assert dialog.question == "Kick the 2 clients shown?"
    await monitor.pilot.press("y")
    assert clients[0].recv(10) == b""
    assert clients[2].recv(10) == b""
    await monitor.until(lambda: monitor.server.client_count == 1, "one left")
    clients[1].sendall(b"still here")
    assert recv_exactly(clients[1], 10) == b"still here"


async def test_the_confirmation_says_which_keys_answer_it() -> None:
    server = make_demo_server()
    app = make_demo_app(server)
    async with app.run_test(size=SMALL) as pilot:
        await pilot.pause()
        await pilot.press("K")
        dialog = await screen_in_front(pilot, app, ConfirmScreen)
        hint = str(dialog.query_one("#keys-hint", Static).render())
        assert "y" in hint
        assert "n or esc" in hint
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, ConfirmScreen), "gone")
        assert server.kicked == []


async def test_h_shows_the_closed_clients_with_their_story(monitor: Monitor) -> None:
    first, second = monitor.connect(), monitor.connect()
    first.sendall(b"a" * 300)
    recv_exactly(first, 300)
    await monitor.row_showing(1, "300 B")
    first.close()
    # Client 1's close must reach the server before the kick, or the order is a race.
    await monitor.until(lambda: monitor.table.order == [2], "client 1 to leave")
    monitor.table.select_client(2)
    await monitor.row_showing(2, "open")
    await monitor.pilot.press("k")
    assert second.recv(10) == b""
    await monitor.until(lambda: not monitor.table.order, "both rows gone")
    await monitor.pilot.press("h")
    screen = await monitor.screen_is(HistoryScreen)
    rows = screen.table.rows
    assert [(r.id, r.reason) for r in rows] == [(2, "kicked"), (1, "peer closed")]
    assert rows[1].bytes_in == 300
    lines = [screen.table.render_line(y).text for y in range(3)]
    assert "REASON" in lines[0]
    assert "DISCARDED" in lines[0]
    assert "peer closed" in lines[2]
    assert "300 B" in lines[2]
    await monitor.pilot.press("escape")
    await monitor.until(
        lambda: not isinstance(monitor.app.screen, HistoryScreen), "back"
    )
