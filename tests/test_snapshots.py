"""Snapshots of every screen, from the demo scene: scripted events, a fixed clock.

No socket, port number or wall-clock time reaches these frames. The monitor is
designed at 80x24 first, so most screens are pinned there as well as at the demo's
120x36 and at 160x48. After a deliberate change of the screen:
`pytest tests/test_snapshots.py --snapshot-update`, look at the new SVGs, and
regenerate `screenshots/` with `python -m tui_echo.ui.screenshots`.
"""

from __future__ import annotations

import os
import time
from collections.abc import Awaitable, Callable, Iterator

import pytest
from textual.pilot import Pilot

from tui_echo.ui.app import EchoApp
from tui_echo.ui.demo import (
    DEMO_SIZE,
    FixedClock,
    make_demo_app,
    make_demo_server,
    show_closing_client,
)
from tui_echo.ui.demo_tls import make_tls_demo_app
from tui_echo.words import _second

SMALL = (80, 24)
LARGE = (160, 48)

RunBefore = Callable[[Pilot[None]], Awaitable[None]]


@pytest.fixture(autouse=True)
def utc() -> Iterator[None]:
    """Log timestamps are local time: pin the zone so frames match everywhere."""
    before = os.environ.get("TZ")
    os.environ["TZ"] = "UTC"
    time.tzset()
    _second.cache_clear()  # seconds formatted before the zone changed
    yield
    if before is None:
        del os.environ["TZ"]
    else:
        os.environ["TZ"] = before
    time.tzset()
    _second.cache_clear()


def keys(*pressed: str, closing: bool = True) -> RunBefore:
    """Kick client 5 (so a row is `closing`), then press the keys."""

    async def run_before(pilot: Pilot[None]) -> None:
        if closing:
            await show_closing_client(pilot)
            # Let the kick's log line reach the screen (its scrollbar too)
            # before a dialog covers it.
            await pilot.pause()
        await pilot.press(*pressed)
        await pilot.pause()

    return run_before


def replay_app() -> EchoApp:
    server = make_demo_server(mode="replay")
    return EchoApp(server, clock=FixedClock(), refresh_interval=3600.0)


SCENES: dict[str, tuple[Callable[[], EchoApp], tuple[int, int], RunBefore]] = {
    # The main screen: every state, faults, the kernel's queues.
    "main_120x36": (make_demo_app, DEMO_SIZE, keys()),
    "main_80x24": (make_demo_app, SMALL, keys()),
    "main_160x48": (make_demo_app, LARGE, keys()),
    "sorted_by_in_and_filtered": (
        make_demo_app,
        DEMO_SIZE,
        keys("s", "s", "s", "slash", "5", "1", "2", "enter", closing=False),
    ),
    "sort_reversed_80x24": (make_demo_app, SMALL, keys("S")),
    "log_lifecycle_only_80x24": (make_demo_app, SMALL, keys("l")),
    "paused": (make_demo_app, DEMO_SIZE, keys("p", closing=False)),
    "replay_80x24": (replay_app, SMALL, keys(closing=False)),
    # One client up close, at every size.
    "detail_120x36": (make_demo_app, DEMO_SIZE, keys("enter")),
    "detail_80x24": (make_demo_app, SMALL, keys("enter")),
    "detail_100x30": (make_demo_app, (100, 30), keys("enter")),
    "detail_160x48_with_fault": (make_demo_app, LARGE, keys("down", "enter")),
    # A --tls server: the handshake state, the TLS column, a TLS client up close.
    "tls_main_120x36": (make_tls_demo_app, DEMO_SIZE, keys()),
    "tls_main_80x24": (make_tls_demo_app, SMALL, keys()),
    "tls_main_160x48": (make_tls_demo_app, LARGE, keys()),
    "tls_detail_120x36": (make_tls_demo_app, DEMO_SIZE, keys("enter")),
    "tls_detail_80x24": (make_tls_demo_app, SMALL, keys("enter")),
    # Dialogs and other screens.
    "help": (make_demo_app, DEMO_SIZE, keys("question_mark", closing=False)),
    "help_80x24": (make_demo_app, SMALL, keys("question_mark", closing=False)),
    "kick_all_dialog": (make_demo_app, DEMO_SIZE, keys("K", closing=False)),
    "kick_shown_dialog_80x24": (
        make_demo_app,
        SMALL,
        keys("slash", "o", "p", "e", "n", "enter", "K", closing=False),
    ),
    "fault_dialog_80x24": (make_demo_app, SMALL, keys("f")),
    "fault_dialog_bad_spec": (
        make_demo_app,
        DEMO_SIZE,
        keys("f", "tab", "ctrl+u", *"delay=soon", "enter"),
    ),
    "fault_new_dialog": (make_demo_app, DEMO_SIZE, keys("F")),
    "history_80x24": (make_demo_app, SMALL, keys("h")),
    # The door: the listener fault's dialog, and the status bar saying it.
    "listener_dialog": (make_demo_app, DEMO_SIZE, keys("L", closing=False)),
    "listener_refusing_for_120x36": (
        make_demo_app,
        DEMO_SIZE,
        keys("L", "2", closing=False),
    ),
    "listener_accept_delay_80x24": (make_demo_app, SMALL, keys("L", "4")),
    # The charts: the server's last minutes, one client's.
    "graphs_80x24": (make_demo_app, SMALL, keys("g")),
    "graphs_160x48": (make_demo_app, LARGE, keys("g")),
    "client_graphs_120x36": (make_demo_app, DEMO_SIZE, keys("enter", "g")),
}


@pytest.mark.parametrize("scene", SCENES)
def test_screen(snap_compare, scene: str) -> None:
    factory, size, run_before = SCENES[scene]
    assert snap_compare(factory(), terminal_size=size, run_before=run_before)
