"""The listener fault in the monitor: `L` opens its dialog, a preset is one key
away, a bad SPEC is refused in the dialog, the status bar says what the door does
(with the time a `for=` has left), and a client feels it (real sockets)."""

from __future__ import annotations

import errno
import socket

from textual.widgets import Static

from tests.helpers import DEADLINE
from tests.pilot import Monitor, monitor, running_monitor
from tui_echo.faults.listener import ListenerFault
from tui_echo.ui.screens.listener import PRESETS, ListenerScreen

__all__ = ["monitor"]  # the fixture

REFUSE = next(p for p in PRESETS if p.spec == "refuse")
OFF = next(p for p in PRESETS if p.spec == "off")


def status(monitor: Monitor) -> str:
    return str(monitor.app.query_one("#summary", Static).render())


def connect_errno(address: tuple[str, int]) -> int:
    with socket.socket() as client:
        client.settimeout(DEADLINE)
        return client.connect_ex(address)


async def open_listener_dialog(monitor: Monitor) -> ListenerScreen:
    await monitor.pilot.press("L")
    return await monitor.screen_is(ListenerScreen)


async def test_l_and_a_preset_refuse_connects_and_the_status_bar_says_so(
    monitor: Monitor,
) -> None:
    assert "door" not in status(monitor)
    dialog = await open_listener_dialog(monitor)
    assert "now: off" in str(dialog.query_one("#fault-current").render())
    await monitor.pilot.press(REFUSE.key)
    await monitor.until(lambda: "door: refusing connects" in status(monitor), "door")
    assert connect_errno(monitor.server.address) == errno.ECONNREFUSED
    await monitor.until(
        lambda: any("listener    refuse" in line for line in monitor.log_lines()),
        "the listener event in the log",
    )
    dialog = await open_listener_dialog(monitor)
    assert "now: refuse" in str(dialog.query_one("#fault-current").render())
    await monitor.pilot.press(OFF.key)
    await monitor.until(lambda: "door" not in status(monitor), "the door open")
    assert connect_errno(monitor.server.address) == 0


async def test_a_typed_spec_with_for_shows_the_time_left(monitor: Monitor) -> None:
    await open_listener_dialog(monitor)
    await monitor.pilot.press("tab", *"accept-delay=200ms,for=1m", "enter")
    shown = await monitor.until(
        lambda: "door: accept-delay 200ms (" in status(monitor) and status(monitor),
        "the door's delay and time left",
    )
    assert "s left)" in shown
    assert monitor.app.book.door.fault == ListenerFault("accept-delay", 0.2, 60.0)


async def test_a_bad_spec_shows_its_error_in_the_dialog_and_applies_nothing(
    monitor: Monitor,
) -> None:
    dialog = await open_listener_dialog(monitor)
    await monitor.pilot.press("tab", *"refuse,drop", "enter")
    error = dialog.query_one("#fault-error", Static)
    message = await monitor.until(lambda: str(error.render()), "an error")
    assert "listener items 'refuse' and 'drop'" in message
    assert monitor.app.screen is dialog, "the dialog stays open"
    await monitor.pilot.press("escape")
    await monitor.until(
        lambda: not isinstance(monitor.app.screen, ListenerScreen), "gone"
    )
    assert monitor.app.book.door.open
    assert connect_errno(monitor.server.address) == 0


async def test_a_narrow_status_bar_still_says_the_door_is_shut() -> None:
    async with running_monitor(
        (80, 24), listener_fault=ListenerFault("drop", lasting=600.0)
    ) as running:
        shown = await running.until(
            lambda: "dropping" in status(running) and status(running), "the door"
        )
        assert "dropping" in shown
