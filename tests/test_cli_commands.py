"""The `tui-echo` command end to end (issue 21): `attach` and `replay` run as
commands on a real pseudo-terminal, and `--max-clients` reaching the server.

Every process here is started by the test and ended by it (by its own PID);
every wait has a deadline and fails at once if the process it waits on died.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import socket
from pathlib import Path

import pytest

from tests.helpers import (
    DEADLINE,
    Headless,
    Terminal,
    open_client,
    recv_exactly,
    wait_until,
)


def on_screen(term: Terminal, *texts: bytes) -> None:
    """Until the monitor has drawn every one of `texts`; fails at once if it
    exited instead (a command the command line did not dispatch, say)."""

    def shown() -> bool:
        if all(text in term.screen for text in texts):
            return True
        if term.proc.poll() is not None:
            tail = bytes(term.screen[-2000:])
            pytest.fail(f"exited {term.proc.returncode} before drawing: {tail!r}")
        return False

    wait_until(shown, message=f"{texts!r} on the screen")


def quit_monitor(term: Terminal) -> int:
    """Press `q`; the monitor's exit status."""
    os.write(term.controller, b"q")
    return term.proc.wait(DEADLINE)


def port_of(server: Headless) -> int:
    listening = json.loads(server.line_matching('"listening"'))
    return int(listening["port"])


def peer_of(client: socket.socket) -> bytes:
    host, port = client.getsockname()[:2]
    return f"{host}:{port}".encode()


@pytest.mark.slow
def test_attach_as_a_command_shows_the_server_and_q_leaves_it_running(
    tmp_path: Path,
) -> None:
    path = tmp_path / "echo.sock"
    with Headless("--log-format", "json", "--control", str(path)) as server:
        port = port_of(server)
        with open_client(("127.0.0.1", port)) as client:
            client.sendall(b"seen by the monitor")
            assert recv_exactly(client, 19) == b"seen by the monitor"
            with Terminal("attach", str(path)) as term:
                on_screen(term, f"127.0.0.1:{port}".encode(), peer_of(client))
                assert quit_monitor(term) == 0
                term.assert_restored()
                assert b"Traceback" not in term.screen
            assert server.proc.poll() is None, "q in attach stopped the server"
            client.sendall(b"still echoing")
            assert recv_exactly(client, 13) == b"still echoing"
        code, stderr = server.finish()
    assert (code, stderr) == (0, "")


def recorded_log(tmp_path: Path) -> tuple[Path, int, bytes]:
    """A log recorded by `--no-ui --log-format json`, up to a client's first data
    event (so the replay ends with that client still connected); the port and
    the client's peer."""
    with Headless("--log-format", "json") as server:
        listening = server.line_matching('"listening"')
        port = int(json.loads(listening)["port"])
        with open_client(("127.0.0.1", port)) as client:
            client.sendall(b"recorded")
            assert recv_exactly(client, 8) == b"recorded"
            lines = [listening, *server.read_until('"data"')]
            peer = peer_of(client)
        code, _ = server.finish()
    assert code == 0
    assert [json.loads(line)["event"] for line in lines] == [
        "listening",
        "connect",
        "data",
    ]
    log = tmp_path / "recorded.jsonl"
    log.write_text("".join(line + "\n" for line in lines))
    return log, port, peer


@pytest.mark.slow
def test_replay_as_a_command_shows_the_recorded_session_until_q(
    tmp_path: Path,
) -> None:
    log, port, peer = recorded_log(tmp_path)
    with Terminal("replay", str(log)) as term:
        on_screen(term, f"127.0.0.1:{port}".encode(), peer)
        assert term.proc.poll() is None, "the replay left before q"
        assert quit_monitor(term) == 0
        term.assert_restored()
        assert b"Traceback" not in term.screen


def next_of(server: Headless, kinds: set[str]) -> dict[str, object]:
    """The next JSON log line whose event is one of `kinds`."""
    for _ in range(1000):  # bounded: each line comes within the deadline
        event: dict[str, object] = json.loads(server.next_line())
        if event["event"] in kinds:
            return event
    pytest.fail(f"no {kinds} event in 1000 lines")


def closed_at_once(sock: socket.socket) -> bool:
    """Whether the server closed this connection (EOF or a reset) unasked."""
    sock.settimeout(DEADLINE)
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True


def test_max_clients_on_the_command_line_rejects_the_one_too_many() -> None:
    with Headless("--log-format", "json", "--max-clients", "2") as server:
        port = port_of(server)
        with contextlib.ExitStack() as stack:
            first, second = (
                stack.enter_context(open_client(("127.0.0.1", port))) for _ in range(2)
            )
            for _ in range(2):
                server.line_matching('"connect"')
            third = stack.enter_context(open_client(("127.0.0.1", port)))
            answer = next_of(server, {"rejected", "connect"})
            assert answer["event"] == "rejected", f"the third was served: {answer}"
            assert answer["peer"] == peer_of(third).decode()
            assert closed_at_once(third)
            for client, word in ((first, b"first"), (second, b"second")):
                client.sendall(word)
                assert recv_exactly(client, len(word)) == word
        code, stderr = server.finish()
        assert (code, stderr) == (0, "")
        clients = [
            json.loads(line)
            for line in server.remaining_lines()
            if re.search(r'"event":\s*"connect"', line)
        ]
        assert clients == [], "the rejected client was never served"
