"""Snapshots of every screen, from the demo scene: scripted events, a fixed clock.

No socket, port number or wall-clock time reaches these frames. After a deliberate
change of the screen: `pytest tests/test_snapshots.py --snapshot-update`, look at the
new SVGs, and regenerate `screenshots/` with `python -m tui_echo.ui.screenshots`.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

import pytest
from textual.pilot import Pilot

from tui_echo.text import _second
from tui_echo.ui.demo import DEMO_SIZE, make_demo_app, show_closing_client


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


def test_main_screen_with_clients_in_every_state(snap_compare) -> None:
    assert snap_compare(
        make_demo_app(), terminal_size=DEMO_SIZE, run_before=show_closing_client
    )


def test_main_screen_sorted_by_bytes_in_and_filtered(snap_compare) -> None:
    async def sort_and_filter(pilot: Pilot[None]) -> None:
        await pilot.press("s", "s", "s", "s", "slash", "5", "1", "2", "enter")

    assert snap_compare(
        make_demo_app(), terminal_size=DEMO_SIZE, run_before=sort_and_filter
    )


def test_detail_screen_shows_counters_timeline_and_escaped_bytes(snap_compare) -> None:
    async def open_detail(pilot: Pilot[None]) -> None:
        await show_closing_client(pilot)
        await pilot.press("enter")

    assert snap_compare(
        make_demo_app(), terminal_size=DEMO_SIZE, run_before=open_detail
    )


def test_help_screen(snap_compare) -> None:
    assert snap_compare(
        make_demo_app(), terminal_size=DEMO_SIZE, press=["question_mark"]
    )


def test_kick_all_confirmation_dialog(snap_compare) -> None:
    assert snap_compare(make_demo_app(), terminal_size=DEMO_SIZE, press=["K"])


def test_paused_display_says_so(snap_compare) -> None:
    assert snap_compare(make_demo_app(), terminal_size=DEMO_SIZE, press=["p"])
