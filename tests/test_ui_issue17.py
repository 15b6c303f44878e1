"""Issue 17, item by item: numbers and keys of the monitor that were not so. Pilot
tests over the scripted server (exact events) or a real one (where a socket
matters); the book alone where the number is the book's."""

from __future__ import annotations

import re

import pytest
from textual import events
from textual.widgets import Static

from tests.helpers import data_event
from tests.pilot import SMALL, running_monitor, screen_in_front, until
from tui_echo.book import ClientBook, ClientRecord
from tui_echo.events import (
    ClientClosed,
    ClientConnected,
    ClientState,
    Event,
    FaultChanged,
    KernelStats,
    Listening,
    ServerError,
)
from tui_echo.faults import FaultActivity
from tui_echo.ui.app import EchoApp
from tui_echo.ui.demo import FixedClock, ScriptedServer, make_demo_app
from tui_echo.ui.screens import ClientDetailScreen, ConfirmScreen, FaultScreen
from tui_echo.ui.screens.help import STATE_MEANINGS, key_sections
from tui_echo.ui.widgets import ClientTable, EventLog
from tui_echo.ui.widgets.columns import BY_KEY, RowView, layout_columns
from tui_echo.ui.widgets.event_log import DataSummary, by_fields, event_lines
from tui_echo.ui.widgets.rows import header_text, row_cells
from tui_echo.words import clock_time

# ---- 2: rates count every byte -----------------------------------------------------


def churn(start: float, clients: range, size: int) -> list[Event]:
    """Clients that connect, echo `size` bytes and close, 1 ms apart."""
    out: list[Event] = []
    for n, client in enumerate(clients):
        ts = start + n / 1000
        out += [
            ClientConnected(client=client, peer=f"10.0.0.1:{client}", ts=ts),
            data_event(client, size, ts=ts + 0.0002),
            ClientClosed(
                client=client,
                reason="peer closed",
                bytes_in=size,
                bytes_out=size,
                discarded=0,
                ts=ts + 0.0005,
            ),
        ]
    return out


def test_the_server_rate_counts_clients_that_came_and_went_between_refreshes() -> None:
    clock = FixedClock(1000.0)
    book = ClientBook(clock)
    book.apply(Listening(host="127.0.0.1", port=7, ts=1000.0))
    book.refresh()
    for second in range(1, 4):
        # 400 clients of 1,000 bytes each second, none of them left at the refresh.
        start = 1000.0 + second - 1
        book.apply_all(churn(start, range(second * 1000, second * 1000 + 400), 1000))
        clock.now = 1000.0 + second
        book.refresh()
        assert book.totals.clients_now == 0
        # 400,000 bytes in and as many out each second.
        assert book.totals.rate_in == 400_000, second
        assert book.totals.rate_out == 400_000, second


def test_a_young_client_rate_is_never_more_than_its_bytes_over_the_window() -> None:
    clock = FixedClock(1000.0)
    book = ClientBook(clock)
    book.apply(ClientConnected(client=1, peer="10.0.0.1:1", ts=1000.0))
    book.apply(data_event(1, 27, ts=1000.05))
    clock.now = 1000.2
    book.refresh()
    record = book.clients[1]
    assert record.rate_in <= 27
    assert book.totals.rate_in <= 27


# ---- 3: the log keeps following after the terminal shrinks -------------------------


def scene_of(count: int, clock: FixedClock) -> list[Event]:
    return [
        ClientConnected(client=n, peer=f"10.0.0.1:{n}", ts=clock() - 60 + n / 10)
        for n in range(1, count + 1)
    ]


async def test_the_log_follows_new_lines_after_the_terminal_shrinks() -> None:
    clock = FixedClock()
    server = ScriptedServer(scene_of(8, clock), clock)
    app = EchoApp(server, clock=clock, refresh_interval=0.05)
    async with app.run_test(size=(200, 50)) as pilot:
        log = app.query_one(EventLog)
        await until(pilot, lambda: len(log.lines) >= 8, "the first lines")
        assert log.max_scroll_y == 0  # everything fits
        await pilot.resize_terminal(80, 24)
        await until(pilot, lambda: log.size.height < 10, "the smaller log")
        server.feed.publish(ClientConnected(client=99, peer="10.9.9.9:9", ts=clock()))
        await until(pilot, lambda: "#99" in log.lines[-1], "the new line written")
        await until(
            pilot, lambda: log.is_vertical_scroll_end, "the view on the newest line"
        )
        assert log.max_scroll_y > 0


# ---- 4: keys typed right after / are the filter's ----------------------------------


async def test_keys_typed_at_once_after_slash_go_to_the_filter() -> None:
    app = make_demo_app()
    async with app.run_test(size=SMALL) as pilot:
        table = app.query_one(ClientTable)
        await until(pilot, lambda: table.order, "rows")
        # All at once, as fast typing or a paste delivers them: no wait in between.
        for key, char in [("slash", "/"), *((c, c) for c in "open")]:
            app.post_message(events.Key(key, char))
        await until(pilot, lambda: table.filter_text == "open", "the filter typed")
        assert not app.main.paused, "p went to the main screen"


# ---- 5: dialogs show their own keys only -------------------------------------------


def shown_text(app: EchoApp) -> str:
    strips = app.screen._compositor.render_strips()
    return "\n".join(strip.text for strip in strips)


async def test_dialogs_show_their_own_keys_and_not_help_or_quit() -> None:
    app = make_demo_app()
    async with app.run_test(size=SMALL) as pilot:
        table = app.query_one(ClientTable)
        await until(pilot, lambda: table.order, "rows")
        await pilot.press("K")
        await screen_in_front(pilot, app, ConfirmScreen)
        await pilot.pause()
        footer = shown_text(app).splitlines()[-1]
        assert "Help" not in footer, footer
        assert "Quit" not in footer, footer
        assert "Yes" in footer, footer
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, ConfirmScreen), "gone")
        await pilot.press("f")
        await screen_in_front(pilot, app, FaultScreen)
        await pilot.pause()
        footer = shown_text(app).splitlines()[-1]
        assert "Help" not in footer, footer
        assert "Quit" not in footer, footer
        assert "Cancel" in footer, footer
        assert "Type a SPEC" in footer, footer


# ---- 6 and 8: the queues at 80 columns; headers and log lines cut whole ------------


def test_at_80_columns_the_queues_stay_when_a_client_has_a_fault() -> None:
    keys = [c.key for c, _ in layout_columns(78, 2, faults_in_play=True)]
    assert "recv_q" in keys
    assert "send_q" in keys
    assert "pending" in keys


def test_a_sorted_header_keeps_its_arrow_whole() -> None:
    layout = [(BY_KEY["pending"], 4), (BY_KEY["recv_q"], 5)]
    for column in ("pending", "recv_q"):
        for descending in (True, False):
            header = header_text(layout, column, descending)
            arrow = "▼" if descending else "▲"
            assert arrow in header, header
            assert "…" not in header, header


def test_a_long_log_line_loses_whole_fields_not_half_a_word() -> None:
    line = (
        "10:00:01.250 data        #3 127.0.0.1:50003 +4.0 KiB  in 4.0 MiB"
        "  out 4.0 MiB  pending 12 KiB  open"
    )
    assert by_fields(line, 80) == (
        "10:00:01.250 data        #3 127.0.0.1:50003 +4.0 KiB  in 4.0 MiB"
        "  out 4.0 MiB …"
    )
    for width in range(30, len(line)):
        cut = by_fields(line, width)
        assert len(cut) <= width
        kept = cut.removesuffix(" …")
        assert line.startswith(kept)
        assert line[len(kept)] == " ", (width, cut)  # at a gap, not in a word


async def test_the_log_shows_a_long_line_cut_at_a_field_at_80_columns() -> None:
    clock = FixedClock()
    events: list[Event] = [
        ClientConnected(client=3, peer="127.0.0.1:50003", ts=clock() - 1),
        data_event(3, 4 * 1024**2, step=4096, pending=12 * 1024, ts=clock() - 0.5),
    ]
    app = EchoApp(ScriptedServer(events, clock), clock=clock, refresh_interval=0.05)
    async with app.run_test(size=SMALL) as pilot:
        log = app.query_one(EventLog)
        await until(pilot, lambda: len(log.lines) >= 2, "the data line")
        await pilot.pause()
        shown = [log.render_line(y).text.rstrip() for y in range(log.size.height)]
        data = next(line for line in shown if " data " in line)
        assert data.endswith(" …"), data
        assert "pendi" not in data or "pending 12" in data, data


# ---- 11: the log's words, and keys that can do nothing now ---------------------------


def test_a_data_event_with_no_new_bytes_makes_no_line() -> None:
    book = ClientBook(lambda: 0.0)
    events: list[Event] = [
        ClientConnected(client=1, peer="127.0.0.1:5", ts=0.0),
        data_event(1, 100, 0, ts=0.1),
        data_event(1, 100, 100, step=0, ts=0.3),  # the delayed echo went out
    ]
    book.apply_all(events)
    lines = [text for _, text in event_lines(events, book, DataSummary())]
    assert len(lines) == 2, lines
    assert "+0 B" not in "\n".join(lines)


async def test_kick_all_is_logged_before_the_closes_it_caused() -> None:
    async with running_monitor() as monitor:
        for _ in range(3):
            monitor.connect()
        await monitor.until(lambda: len(monitor.table.order) == 3, "three rows")
        await monitor.pilot.press("K")
        await monitor.screen_is(ConfirmScreen)
        await monitor.pilot.press("y")

        def closes() -> list[str]:
            return [t for t in monitor.log_lines() if " close " in f" {t} "]

        await monitor.until(lambda: len(closes()) == 3, "three close lines")
        lines = monitor.log_lines()
        kick = next(i for i, t in enumerate(lines) if "kick all" in t)
        assert all(lines.index(close) > kick for close in closes()), lines


async def test_keys_that_can_do_nothing_now_say_why() -> None:
    clock = FixedClock()
    app = EchoApp(ScriptedServer([], clock), clock=clock, refresh_interval=3600.0)
    async with app.run_test(size=SMALL) as pilot:
        await pilot.pause()
        for key, why in [
            ("k", "No client selected"),
            ("r", "No client selected"),
            ("f", "No client selected"),
            ("enter", "No client selected"),
            ("K", "No client to kick"),
        ]:
            app.clear_notifications()
            await pilot.press(key)
            await until(
                pilot,
                lambda why=why: any(why in n.message for n in app._notifications),
                f"{key}: {why}",
            )


# ---- 10: the sparkline's scale, its current second, its length -------------------


def traffic_line(app: EchoApp) -> str:
    return str(app.query_one("#traffic", Static).render())


async def test_the_sparkline_claims_no_history_before_the_server_started() -> None:
    clock = FixedClock()
    started = [Listening(host="127.0.0.1", port=7, ts=clock() - 0.1)]
    app = EchoApp(ScriptedServer(started, clock), clock=clock, refresh_interval=3600.0)
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause()
        assert "last" not in traffic_line(app), traffic_line(app)


async def test_the_sparkline_shows_its_peak_and_leaves_the_filling_second_out() -> None:
    clock = FixedClock(1000.5)
    scene: list[Event] = [
        Listening(host="127.0.0.1", port=7, ts=990.0),
        ClientConnected(client=1, peer="10.0.0.1:1", ts=990.0),
        data_event(1, 100, ts=995.5),  # 200 B/s in the second 995
        data_event(1, 1100, step=1000, ts=998.5),  # 2,000 B/s in 998
        data_event(1, 51100, step=50000, ts=1000.2),  # the second still filling
    ]
    app = EchoApp(ScriptedServer(scene, clock), clock=clock, refresh_interval=3600.0)
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause()
        line = traffic_line(app)
        assert "last 10s" in line, line  # up 10.5 s: ten whole seconds
        assert "peak 2.0 KiB/s" in line, line  # not the 100,000 B of 1000


# ---- 12: words -----------------------------------------------------------------------


async def test_help_names_max_memory_for_paused_and_tab_and_enter_in_the_dialog() -> (
    None
):
    assert "--max-memory" in STATE_MEANINGS[ClientState.PAUSED]
    app = make_demo_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        sections = dict(key_sections(app, [], quit_text="quit", commands=True))
        dialog = dict(sections["Fault dialog"])
        assert "tab" in dialog
        assert dialog["enter"] == "apply the preset under the cursor, or the SPEC typed"


def test_a_rate_keeps_its_space_at_every_width() -> None:
    record = ClientRecord(id=1, peer="10.0.0.1:1", connected_at=0.0)
    record.rate_in = 22 * 1024 * 1024
    for available in range(60, 240):
        layout = layout_columns(available, 3, faults_in_play=True)
        texts = row_cells(record, layout, RowView())
        cells = dict(zip([c.key for c, _ in layout], texts, strict=True))
        if "rate_in" in cells:
            assert cells["rate_in"].strip() == "22 MiB/s", (available, cells)


# ---- 9: the detail screen ---------------------------------------------------------


async def detail_text(
    size: tuple[int, int], recent: bytes = b""
) -> tuple[EchoApp, str]:
    """The detail screen of a client with a fault set 64 s ago, as text."""
    clock = FixedClock()
    scene: list[Event] = [
        ClientConnected(client=1, peer="127.0.0.1:51234", ts=clock() - 90),
        data_event(1, 4096, ts=clock() - 80),
        FaultChanged(client=1, fault="delay=500ms,rate=64K", ts=clock() - 64),
    ]
    server = ScriptedServer(scene, clock)
    server.recent[1] = recent
    server.kernel_numbers[1] = KernelStats(0, 0, 48, 12, 0, 10, 0)
    # Its rows' labels (`discarded`) leave the values 19 cells of a group.
    server.activity[1] = FaultActivity(delayed=4096, pieces=12, discarded=0)
    app = EchoApp(server, clock=clock, refresh_interval=3600.0)
    async with app.run_test(size=size) as pilot:
        await until(pilot, lambda: app.table.order, "the row")
        await pilot.press("enter")
        await screen_in_front(pilot, app, ClientDetailScreen)
        await pilot.pause()
        return shown_text(app)


@pytest.mark.parametrize("size", [SMALL, (100, 30)])
async def test_the_fault_block_does_not_wrap_into_a_narrow_column(
    size: tuple[int, int],
) -> None:
    text = await detail_text(size)
    assert "discarded" in text, text
    at = clock_time(FixedClock()() - 64)[:8]
    assert re.search(rf"set at +{at} ", text), text
    assert re.search(r"for +1m04s ", text), text
    assert not any(line.strip(" │") == "ago)" for line in text.splitlines()), text


async def test_the_text_view_shows_utf8_as_text_and_controls_escaped() -> None:
    text = await detail_text((120, 36), "café \x1b]0;X\x07".encode())
    assert "café \\x1b]0;X\\x07" in text, text


async def test_the_timeline_fills_120x36_and_scrolls_into_view_at_80x24() -> None:
    clock = FixedClock()
    server = ScriptedServer(
        [ClientConnected(client=1, peer="127.0.0.1:5", ts=clock() - 9)], clock
    )
    server.recent[1] = bytes(range(256)) * 2
    app = EchoApp(server, clock=clock, refresh_interval=3600.0)
    async with app.run_test(size=(120, 36)) as pilot:
        await until(pilot, lambda: app.table.order, "the row")
        await pilot.press("enter")
        screen = await screen_in_front(pilot, app, ClientDetailScreen)
        await pilot.pause()
        box = screen.query_one("#timeline-box")
        assert box.region.bottom >= 36 - 1 - 1, box.region  # down to the footer
        await pilot.resize_terminal(80, 24)
        await pilot.pause()
        await pilot.press("end")
        await pilot.pause()
        box = screen.query_one("#timeline-box")
        assert box.region.y >= 0
        assert box.region.bottom <= 24 - 1, box.region  # on screen, above the footer


async def test_text_from_outside_reaches_the_table_and_the_log_escaped() -> None:
    clock = FixedClock()
    hostile = "\x1b]0;PWNED\x07"
    scene: list[Event] = [
        ClientConnected(client=1, peer=f"10.0.0.1:1{hostile}", ts=clock() - 2),
        ServerError(message=f"replay stopped at line 3 of {hostile}", ts=clock() - 1),
    ]
    app = EchoApp(ScriptedServer(scene, clock), clock=clock, refresh_interval=3600.0)
    async with app.run_test(size=(160, 48)) as pilot:
        await until(pilot, lambda: app.table.order, "the row")
        log = app.query_one(EventLog)
        await until(pilot, lambda: len(log.lines) >= 2, "the log lines")
        shown = shown_text(app)
        assert "\x1b" not in shown
        assert "\x07" not in shown
        assert "\\x1b]0;PWNED\\x07" in app.table.render_line(1).text
        assert all("\x1b" not in line for line in log.lines)
