"""The pilot harness itself (tests/pilot.py): a real client shows in the app."""

from __future__ import annotations

from tests.pilot import REFRESH, Monitor, monitor

__all__ = ["monitor"]  # the fixture


async def test_the_harness_sees_a_real_client(monitor: Monitor) -> None:
    client = monitor.connect()
    port = client.getsockname()[1]
    await monitor.row_showing(1, f"127.0.0.1:{port}")
    assert monitor.app.refresh_interval == REFRESH
