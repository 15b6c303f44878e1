"""The refresh cadence (SPEC "Interactive mode", DESIGN "Cadence"): about once an
interval while nobody touches the app, at once on input, in batches however fast
the keys come, and no repaint when nothing shown changed."""

from __future__ import annotations

import time

from textual import events

from tests.test_ui_pilot import SIZE, until
from tui_echo.events import ClientConnected, Listening
from tui_echo.ui.app import REFRESH_INTERVAL, EchoApp
from tui_echo.ui.demo import FixedClock, ScriptedServer
from tui_echo.ui.widgets import ClientTable


def quiet_server(clock: FixedClock) -> ScriptedServer:
    return ScriptedServer(
        [
            Listening(host="127.0.0.1", port=9000, ts=clock() - 10),
            ClientConnected(client=1, peer="127.0.0.1:5", ts=clock() - 9),
        ],
        clock,
    )


def test_the_app_refreshes_about_once_a_second_by_default() -> None:
    assert 0.5 <= REFRESH_INTERVAL <= 2.0


async def test_a_quiet_app_refreshes_once_an_interval_not_more() -> None:
    clock = FixedClock()
    app = EchoApp(quiet_server(clock), clock=clock, refresh_interval=0.2)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.refresh_costs, "the first refresh")
        await pilot.pause()  # the start's resize asks for one at once
        refreshes = len(app.refresh_costs)
        started = time.monotonic()
        await until(
            pilot, lambda: len(app.refresh_costs) >= refreshes + 5, "five refreshes"
        )
        elapsed = time.monotonic() - started
        # Five ticks of the interval timer: four intervals between them at least.
        assert elapsed >= 4 * 0.2 * 0.9, elapsed


async def test_input_refreshes_at_once() -> None:
    clock = FixedClock()
    server = quiet_server(clock)
    # An hour between ticks: only input can make the app refresh.
    app = EchoApp(server, clock=clock, refresh_interval=3600.0)
    async with app.run_test(size=SIZE) as pilot:
        table = app.query_one(ClientTable)
        await until(pilot, lambda: table.order == [1], "the first refresh")
        server.feed.publish(ClientConnected(client=2, peer="127.0.0.1:6"))
        refreshes = len(app.refresh_costs)
        await pilot.press("down")
        await until(pilot, lambda: table.order == [1, 2], "the new client")
        assert len(app.refresh_costs) > refreshes


async def test_a_burst_of_keys_refreshes_in_batches() -> None:
    clock = FixedClock()
    app = EchoApp(quiet_server(clock), clock=clock, refresh_interval=3600.0)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        refreshes = len(app.refresh_costs)
        for _ in range(25):  # a held key, faster than any refresh
            app.post_message(events.Key("down", None))
            app.post_message(events.Key("up", None))
        await pilot.pause()
        await until(pilot, lambda: len(app.refresh_costs) > refreshes, "a refresh")
        await until(pilot, lambda: not app._soon, "no refresh waiting")
        assert len(app.refresh_costs) - refreshes <= 3, "not one refresh a key"


async def test_no_repaint_when_nothing_shown_changed() -> None:
    clock = FixedClock()
    app = EchoApp(quiet_server(clock), clock=clock, refresh_interval=0.02)
    async with app.run_test(size=SIZE) as pilot:
        table = app.query_one(ClientTable)
        await until(pilot, lambda: table.order == [1], "the row")
        # The start's layout and resize repaint, rightly; wait until that is over.
        quiet_since = [len(app.refresh_costs), table.repaints]

        def settled() -> bool:
            if table.repaints != quiet_since[1]:
                quiet_since[:] = [len(app.refresh_costs), table.repaints]
            return len(app.refresh_costs) >= quiet_since[0] + 5

        await until(pilot, settled, "a settled screen")
        repaints = table.repaints
        refreshes = len(app.refresh_costs)
        await until(pilot, lambda: len(app.refresh_costs) >= refreshes + 10, "ticks")
        assert table.repaints == repaints, "a still scene: frames skipped"
        clock.now += 1.0  # AGE and IDLE move on
        await until(pilot, lambda: table.repaints > repaints, "a repaint")
