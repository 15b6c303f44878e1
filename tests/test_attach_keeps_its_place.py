"""An attached monitor's command connection keeps its place at the server while
nobody presses a key: the server closes sessions that stay silent (5 minutes) and
gives the place of one silent for 5 s to a newcomer when all 16 are taken; before,
kick, reset and fault from `tui-echo attach` then did nothing, silently."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.helpers import RunningServer, wait_until
from tui_echo.control import socket_server
from tui_echo.sources import attached
from tui_echo.sources.attached import RemoteServer

StartServer = Callable[..., RunningServer]


def test_a_silent_attached_monitor_still_kicks_after_the_idle_limit(
    start_server: StartServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(socket_server, "IDLE_LIMIT", 0.5)
    monkeypatch.setattr(attached, "KEEPALIVE", 0.1)
    served = start_server(control=str(tmp_path / "e.sock"))
    remote = RemoteServer(str(tmp_path / "e.sock"))
    try:
        quiet_since = time.monotonic()
        wait_until(lambda: time.monotonic() - quiet_since > 1.5, message="silence")
        with served.connect() as client:
            client_id = served.next_client()
            remote.kick(client_id)
            client.settimeout(5)
            assert client.recv(10) == b""  # kicked: the command got through
        assert not remote.gone
    finally:
        remote.close()
