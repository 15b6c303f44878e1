"""Numbers out of range in a replayed log never crash the monitor (issue 16,
finding 2): a timestamp of 1e300 or -1e18, a byte count of 10^400. Before, each
ended the app with a traceback (`OverflowError` in `time.localtime`, `OSError` 75,
`OverflowError` in `human_size`); now the replay stops at that line and says so,
and the screen stays up."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import recorded_session, write_log
from tests.pilot import SIZE, until
from tui_echo.sources.replay import LogReplay
from tui_echo.ui.app import EchoApp

HOSTILE_LINES = [
    '{"event":"shutdown","ts":1e300}',
    '{"event":"shutdown","ts":-1e18}',
    '{"event":"shutdown","ts":1e18}',
    '{"event":"data","ts":1000.9,"client":1,"bytes":1,"bytes_in":1'
    + "0" * 400
    + ',"bytes_out":0,"pending":0,"state":"open"}',
    '{"event":"connect","ts":1000.9,"client":2,"peer":"' + "p" * 100_000 + '"}',
]


@pytest.mark.parametrize(
    "line", HOSTILE_LINES, ids=["1e300", "-1e18", "1e18", "10^400", "long"]
)
async def test_a_log_with_a_number_out_of_range_stops_there_and_the_monitor_stays(
    tmp_path: Path, line: str
) -> None:
    events = recorded_session()[:-1]  # without its shutdown
    path = write_log(tmp_path / "hostile.jsonl", events, line + "\n")
    replay = LogReplay(str(path), speed=64)
    app = EchoApp(replay, clock=replay.clock, refresh_interval=0.05)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await until(pilot, lambda: replay.finished, "the replay reached the line")
            await until(pilot, lambda: app.book.totals.errors > 0, "the stop shown")
            assert replay.stopped_at is not None
            assert replay.stopped_at.startswith(f"line {len(events) + 1}:")
            assert app.is_running
    finally:
        replay.stop()
