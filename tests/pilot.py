"""The harness of the monitor's pilot tests: the app over a real server (port 0) or
the scripted demo server, with short refresh intervals, and waits with deadlines.

The `test_ui_*` modules and `test_app.py` import it (`test_ui_pilot.py` checks the
harness itself).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from textual.app import App
from textual.pilot import Pilot

from tests.helpers import DEADLINE, open_client
from tui_echo.engine.config import ServerConfig
from tui_echo.server import EchoServer
from tui_echo.sources.live import LiveSource
from tui_echo.ui.app import EchoApp
from tui_echo.ui.widgets import ClientTable

SIZE = (120, 36)
SMALL = (80, 24)
REFRESH = 0.05
"""Seconds between refreshes in pilot tests: live, and fast to wait for."""
LINGER = 0.5


async def until(pilot: Pilot[None], condition: Callable[[], Any], what: str) -> Any:
    """Let the app run until `condition()` is truthy, or fail after a deadline."""
    deadline = time.monotonic() + DEADLINE
    while not (result := condition()):
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        await pilot.pause(0.02)
    return result


async def screen_in_front(pilot: Pilot[None], app: App[Any], kind: type) -> Any:
    """Let the app run until a screen of this kind is in front; return it."""
    return await until(
        pilot,
        lambda: isinstance(app.screen, kind) and app.screen,
        f"a {kind.__name__} in front",
    )


class Monitor:
    """A running app over a real server, with helpers to wait and look."""

    def __init__(self, app: EchoApp, pilot: Pilot[None], server: EchoServer) -> None:
        self.app = app
        self.pilot = pilot
        self.server = server
        self.table = app.query_one(ClientTable)
        self.clients: list[socket.socket] = []

    def connect(self) -> socket.socket:
        client = open_client(self.server.address)
        self.clients.append(client)
        return client

    async def until(self, condition: Callable[[], Any], what: str) -> Any:
        """Let the app run until `condition()` is truthy, or fail after a deadline."""
        return await until(self.pilot, condition, what)

    def row_text(self, client_id: int) -> str:
        """The client's row as the screen shows it ('' when it has no row)."""
        if client_id not in self.table.order:
            return ""
        line = self.table.order.index(client_id) + 1 - round(self.table.scroll_y)
        return self.table.render_line(line).text

    def cell(self, client_id: int, column: str) -> str:
        """What one cell of the client's row shows ('' when it has no row)."""
        layout = self.table._columns()
        cells = self.table._painter.cells(client_id, layout)  # [] if it has no row
        keys = [c.key for c, _ in layout]
        return cells[keys.index(column)].strip() if cells else ""

    async def row_showing(self, client_id: int, text: str) -> str:
        return await self.until(
            lambda: text in self.row_text(client_id) and self.row_text(client_id),
            f"client {client_id}'s row to show {text!r}",
        )

    async def screen_is(self, kind: type) -> Any:
        """Wait for a screen of this kind to be in front; return it."""
        return await screen_in_front(self.pilot, self.app, kind)

    def screen_text(self) -> str:
        """The screen in front, as text, line by line."""
        strips = self.app.screen._compositor.render_strips()
        return "\n".join(strip.text for strip in strips)

    def log_lines(self) -> list[str]:
        """What the event log shows (written lines)."""
        return [str(line) for line in self.app.event_log.lines]


@contextlib.asynccontextmanager
async def running_monitor(
    size: tuple[int, int] = SIZE, **config: Any
) -> AsyncIterator[Monitor]:
    """The app over a started server on 127.0.0.1 port 0; everything closed after."""
    server = EchoServer(ServerConfig(port=0, **config)).start()
    app = EchoApp(LiveSource(server), refresh_interval=REFRESH, linger=LINGER)
    clients: list[socket.socket] = []
    try:
        async with app.run_test(size=size) as pilot:
            running = Monitor(app, pilot, server)
            running.clients = clients
            yield running
            # Textual's Log measures new lines on a thread worker that needs the app
            # when it ends: an app torn down first fails it (NoActiveAppError, seen
            # once in CI), so those end while the app still runs.
            await asyncio.wait_for(app.workers.wait_for_complete(), DEADLINE)
    finally:
        # Clients close after the app is gone, so no event reaches a widget
        # that is being torn down.
        server.stop()
        for client in clients:
            client.close()


@pytest.fixture
async def monitor() -> AsyncIterator[Monitor]:
    async with running_monitor() as running:
        yield running


@pytest.fixture
async def small_monitor() -> AsyncIterator[Monitor]:
    async with running_monitor(SMALL) as running:
        yield running
