"""The monitor fed from elsewhere: attached to a server in another process, and
replaying a recorded log."""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path

from textual.widgets import Static

from tests.helpers import (
    DEADLINE,
    Headless,
    recorded_session,
    recv_exactly,
    write_log,
)
from tests.pilot import REFRESH, SIZE, until
from tui_echo.sources.attached import RemoteServer
from tui_echo.sources.replay import LogReplay
from tui_echo.ui.app import EchoApp
from tui_echo.ui.widgets import ClientTable


def status_text(app: EchoApp) -> str:
    """What the status bar's two lines say."""
    return " ".join(
        str(app.query_one(f"#{part}", Static).render())
        for part in ("summary", "traffic")
    )


async def test_attached_the_monitor_sees_and_acts_on_another_process(
    tmp_path: Path,
) -> None:
    path = tmp_path / "e.sock"
    with Headless("--log-format", "json", "--control", str(path)) as server:
        port = json.loads(server.next_line())["port"]
        remote = RemoteServer(str(path))
        app = EchoApp(remote, refresh_interval=REFRESH)
        async with app.run_test(size=SIZE) as pilot:
            table = app.query_one(ClientTable)
            with socket.create_connection(("127.0.0.1", port), timeout=DEADLINE) as c:
                c.sendall(b"over there")
                assert recv_exactly(c, 10) == b"over there"
                await until(pilot, lambda: table.order == [1], "the row, here")
                table.select_client(1)
                await pilot.press("k")
                assert c.recv(10) == b""  # kicked there, from here
                await until(
                    pilot,
                    lambda: app.book.clients[1].close_reason == "kicked",
                    "the close, here",
                )
            assert "ATTACHED" in status_text(app)
            await pilot.press("q")
        assert server.proc.poll() is None, "q leaves the server running"
        code, stderr = server.finish()
    assert (code, stderr) == (0, "")


RECORDED = recorded_session(reason="kicked", closed_at=1.0, ended_at=1.5)


async def test_a_replay_plays_pauses_and_speeds_up_on_keys(tmp_path: Path) -> None:
    replay = LogReplay(str(write_log(tmp_path / "run.jsonl", RECORDED)))
    app = EchoApp(replay, clock=replay.clock, refresh_interval=REFRESH)
    try:
        async with app.run_test(size=SIZE) as pilot:
            table = app.query_one(ClientTable)
            await until(pilot, lambda: table.order == [1], "the client of the log")
            await pilot.press("space")
            assert replay.paused
            frozen = replay.clock()
            await until(pilot, lambda: "x1, paused" in status_text(app), "paused")
            assert replay.clock() == frozen
            await pilot.press("plus", "plus", "space")
            assert (replay.speed, replay.paused) == (4.0, False)
            started = time.monotonic()
            await until(pilot, lambda: app.book.shut_down, "the end of the log")
            assert time.monotonic() - started < 1.4 / 2  # at 4x, not at 1x
            await until(pilot, lambda: "x4, at the end" in status_text(app), "end")
            assert "REPLAY" in status_text(app)
            await pilot.press("k")  # nothing to act on: no error, nothing changes
            assert app.book.clients[1].close_reason == "kicked"
    finally:
        replay.stop()
