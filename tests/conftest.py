"""Shared fixtures: real servers on 127.0.0.1 port 0, stopped after each test."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.helpers import RunningServer
from tui_echo.engine.config import ServerConfig
from tui_echo.engine.feed import EventFeed
from tui_echo.server import EchoServer


@pytest.fixture
def start_server() -> Iterator[Callable[..., RunningServer]]:
    """Start servers on 127.0.0.1 port 0 with any config; stop them all after."""
    servers: list[EchoServer] = []

    def start(feed: EventFeed | None = None, **config: Any) -> RunningServer:
        config.setdefault("host", "127.0.0.1")
        config.setdefault("port", 0)
        server = EchoServer(ServerConfig(**config), feed=feed)
        server.start()
        servers.append(server)
        return RunningServer(server)

    yield start
    for server in servers:
        server.stop()
        assert not server.running, "the loop thread did not stop"


@pytest.fixture
def echo_server(start_server: Callable[..., RunningServer]) -> RunningServer:
    """One server with the default limits."""
    return start_server()
