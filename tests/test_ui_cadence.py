"""The refresh cadence (SPEC "Interactive mode", DESIGN "Cadence"): about once an
interval while nobody touches the app, at once on input, in batches however fast
the keys come, and no repaint when nothing shown changed."""

from __future__ import annotations

import time

import pytest
from textual import events

from tests.pilot import SIZE, until
from tui_echo.events import ClientConnected, Listening
from tui_echo.ui.app import EchoApp
from tui_echo.ui.cadence import Cadence
from tui_echo.ui.demo import FixedClock, ScriptedServer
from tui_echo.ui.widgets import ClientTable

# ---- the cadence's decisions (no app, a clock the test moves) ----------------------


def refreshes_when_untouched(cadence: Cadence, seconds: float) -> list[float]:
    """When a quiet app refreshes over `seconds`: at each tick the cadence allows."""
    times = []
    tick = cadence.interval
    while tick <= seconds:
        if cadence.tick_refreshes(tick):
            cadence.refreshed(tick, taken=1)
            times.append(tick)
        tick += cadence.interval
    return times


def test_untouched_the_app_refreshes_about_once_a_second() -> None:
    cadence = Cadence()
    cadence.refreshed(0.0, taken=1)
    times = refreshes_when_untouched(cadence, 10.0)
    gaps = [b - a for a, b in zip([0.0, *times], times, strict=False)]
    assert min(gaps) >= 0.5, gaps
    assert max(gaps) <= 2.0, gaps  # htop 1.5 s, k9s 2 s
    assert 5 <= len(times) <= 20


def test_a_tick_right_after_an_input_refresh_is_skipped() -> None:
    cadence = Cadence(interval=1.0)
    cadence.refreshed(0.0, taken=1)
    cadence.refreshed(0.9, taken=1)  # input asked for one
    assert not cadence.tick_refreshes(1.0), "it would show nothing new"
    assert cadence.tick_refreshes(2.0)
    cadence.refreshed(2.0, taken=1)
    assert cadence.tick_refreshes(2.5), "half an interval on, the tick shows"


def test_input_refreshes_at_once_after_a_quiet_spell() -> None:
    cadence = Cadence(interval=1.0, input_gap=0.1)
    cadence.refreshed(0.0, taken=1)
    wait = cadence.ask(0.7)
    assert wait is not None
    assert wait <= 0, "now, not at the next tick"


def test_keys_faster_than_the_gap_make_one_refresh_a_gap_apart() -> None:
    cadence = Cadence(interval=1.0, input_gap=0.1)
    cadence.refreshed(5.0, taken=1)
    first = cadence.ask(5.02)
    assert first == pytest.approx(0.08), "not before the gap since the last"
    for key_time in (5.03, 5.05, 5.07):  # a held key: one refresh waits for all
        assert cadence.ask(key_time) is None
    cadence.asked_refresh_runs()
    cadence.refreshed(5.1, taken=1)
    assert cadence.ask(5.11) == pytest.approx(0.09)


def test_a_command_waits_its_settle_time_even_right_after_a_gap() -> None:
    cadence = Cadence(interval=1.0, input_gap=0.1)
    cadence.refreshed(0.0, taken=1)
    assert cadence.ask(3.0, delay=0.05) == pytest.approx(0.05)


def test_a_full_batch_asks_for_the_rest_soon_not_at_the_tick() -> None:
    cadence = Cadence(interval=1.0, input_gap=0.1, batch_limit=100)
    assert cadence.refreshed(1.0, taken=99) is None, "all taken: the tick will do"
    assert cadence.refreshed(2.0, taken=100) == pytest.approx(0.1)
    assert cadence.waiting
    assert cadence.refreshed(2.1, taken=100) is None, "one already on its way"


# ---- the app keeps to it ---------------------------------------------------------


def quiet_server(clock: FixedClock) -> ScriptedServer:
    return ScriptedServer(
        [
            Listening(host="127.0.0.1", port=9000, ts=clock() - 10),
            ClientConnected(client=1, peer="127.0.0.1:5", ts=clock() - 9),
        ],
        clock,
    )


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
        await until(pilot, lambda: not app.cadence.waiting, "no refresh waiting")
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
