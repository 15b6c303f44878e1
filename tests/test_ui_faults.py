"""Issue 10 in the monitor: `f` and `F` open the fault dialog, a preset is one key
away, a bad SPEC is refused in the dialog, and the client feels what was chosen
(measured from a real socket)."""

from __future__ import annotations

import time

from textual.widgets import Input, OptionList, Static

from tests.helpers import recv_exactly, recv_until_eof
from tests.pilot import Monitor, monitor
from tui_echo.events import FaultChanged
from tui_echo.ui.screens import ClientDetailScreen, FaultScreen
from tui_echo.ui.screens.fault import PRESETS

__all__ = ["monitor"]  # the fixture

SLOW_LINK = next(p for p in PRESETS if p.name == "slow link")


async def open_fault_dialog(monitor: Monitor, key: str = "f") -> FaultScreen:
    await monitor.pilot.press(key)
    return await monitor.screen_is(FaultScreen)


async def test_a_preset_makes_the_echo_arrive_late_and_k_still_kicks(
    monitor: Monitor,
) -> None:
    client = monitor.connect()
    await monitor.row_showing(1, "open")
    client.sendall(b"before")
    started = time.monotonic()
    assert recv_exactly(client, 6) == b"before"
    assert time.monotonic() - started < 0.4, "no delay without a fault"
    dialog = await open_fault_dialog(monitor)
    assert "client #1 127.0.0.1:" in str(dialog.query_one("#fault-title").render())
    await monitor.pilot.press(SLOW_LINK.key)
    await monitor.until(lambda: not isinstance(monitor.app.screen, FaultScreen), "done")
    await monitor.row_showing(1, "delay=500")  # the FAULT column, from the event
    assert monitor.app.book.clients[1].fault == SLOW_LINK.spec
    client.sendall(b"ping")
    started = time.monotonic()
    assert recv_exactly(client, 4) == b"ping"
    assert time.monotonic() - started >= 0.45, "half a second late"
    await monitor.pilot.press("k")
    assert recv_until_eof(client) == b""
    await monitor.row_showing(1, "kicked")
    assert any(
        "fault" in line and SLOW_LINK.spec in line for line in monitor.log_lines()
    )


async def test_a_typed_spec_applies_close_after(monitor: Monitor) -> None:
    client = monitor.connect()
    await monitor.row_showing(1, "open")
    await open_fault_dialog(monitor)
    await monitor.pilot.press("tab", *"close-after=4", "enter")
    await monitor.until(
        lambda: monitor.app.book.clients[1].fault == "close-after=4", "the fault"
    )
    client.sendall(b"0123456789")
    assert recv_until_eof(client) == b"0123", "four bytes echoed, then a FIN"
    await monitor.row_showing(1, "close-after")


async def test_a_bad_spec_shows_its_error_in_the_dialog_and_applies_nothing(
    monitor: Monitor,
) -> None:
    client = monitor.connect()
    await monitor.row_showing(1, "open")
    dialog = await open_fault_dialog(monitor)
    await monitor.pilot.press("tab", *"delay=soon", "enter")
    error = dialog.query_one("#fault-error", Static)
    message = await monitor.until(lambda: str(error.render()), "an error")
    assert "delay=soon" in message
    assert monitor.app.screen is dialog, "the dialog stays open"
    await monitor.pilot.press("escape")
    await monitor.until(lambda: not isinstance(monitor.app.screen, FaultScreen), "gone")
    assert monitor.server.fault_activity(1) is None
    assert monitor.app.book.clients[1].fault is None
    client.sendall(b"x")
    started = time.monotonic()
    assert recv_exactly(client, 1) == b"x"
    assert time.monotonic() - started < 0.4


async def test_f_shows_the_current_fault_and_off_clears_it(monitor: Monitor) -> None:
    client = monitor.connect()
    monitor.server.set_fault(1, "stall")
    await monitor.row_showing(1, "stall")
    dialog = await open_fault_dialog(monitor)
    assert dialog.query_one("#spec", Input).value == "stall"
    assert "now: stall" in str(dialog.query_one("#fault-current").render())
    assert dialog.query_one(OptionList).has_focus, "presets first: one key away"
    await monitor.pilot.press("0")
    await monitor.until(lambda: monitor.app.book.clients[1].fault is None, "cleared")
    client.sendall(b"moving again")
    assert recv_exactly(client, 12) == b"moving again"


async def test_shift_f_sets_the_fault_new_clients_get(monitor: Monitor) -> None:
    old = monitor.connect()
    await monitor.row_showing(1, "open")
    dialog = await open_fault_dialog(monitor, "F")
    assert "new clients" in str(dialog.query_one("#fault-title").render())
    await monitor.pilot.press(SLOW_LINK.key)
    status = monitor.app.query_one("#traffic", Static)
    await monitor.until(
        lambda: f"new clients' fault: {SLOW_LINK.spec}" in str(status.render()),
        "the status bar to show the default",
    )
    new = monitor.connect()
    await monitor.row_showing(2, "delay=500")
    assert monitor.app.book.clients[1].fault is None, "clients already there: as is"
    new.sendall(b"late")
    started = time.monotonic()
    assert recv_exactly(new, 4) == b"late"
    assert time.monotonic() - started >= 0.45
    old.sendall(b"soon")
    started = time.monotonic()
    assert recv_exactly(old, 4) == b"soon"
    assert time.monotonic() - started < 0.4


async def test_the_detail_screen_says_when_the_fault_was_set_and_what_it_did(
    monitor: Monitor,
) -> None:
    client = monitor.connect()
    await monitor.row_showing(1, "open")
    monitor.server.set_fault(1, "delay=100ms,slice=2")
    await monitor.row_showing(1, "delay=100")
    client.sendall(b"abcdefgh")
    assert recv_exactly(client, 8) == b"abcdefgh"
    await monitor.pilot.press("enter")
    await monitor.screen_is(ClientDetailScreen)
    text = await monitor.until(
        lambda: "pieces" in monitor.screen_text() and monitor.screen_text(),
        "the fault's activity",
    )
    assert "delay=100ms,slice=2" in text
    assert "set at" in text, "when it was set"
    assert "delayed   8 B" in text
    assert "pieces    4" in text


async def test_a_fault_event_is_logged_and_timed() -> None:
    """The `fault` event reaches the log like any lifecycle event."""
    from tui_echo.ui.app import EchoApp
    from tui_echo.ui.demo import FixedClock, ScriptedServer

    clock = FixedClock()
    server = ScriptedServer([FaultChanged(fault="stall", ts=clock())], clock)
    app = EchoApp(server, clock=clock, refresh_interval=0.05)
    async with app.run_test() as pilot:
        await pilot.pause()
        assert app.book.default_fault == "stall"
        assert any("fault       new clients: stall" in x for x in app.event_log.lines)
