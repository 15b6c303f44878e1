"""Stopping and failing to write, as the command does it: exit codes, stderr, FIN."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time

import pytest

from tests.helpers import (
    COMMAND,
    DEADLINE,
    Headless,
    Terminal,
    recv_exactly,
    wait_until,
)
from tui_echo.cli.stop_signals import leave_if_stuck


def port_of(server: Headless) -> int:
    return int(json.loads(server.next_line())["port"])


def test_sighup_stops_a_headless_server_like_sigterm() -> None:
    with Headless("--log-format", "json") as server:
        port = port_of(server)
        with socket.create_connection(("127.0.0.1", port), timeout=DEADLINE) as client:
            client.sendall(b"unread echo")
            server.line_matching('"connect"')
            code, stderr = server.finish(signal.SIGHUP)
            # A FIN after the echo, not an RST that would wipe it.
            assert recv_exactly(client, 11) == b"unread echo"
            assert client.recv(10) == b""
        assert (code, stderr) == (0, "")
        assert json.loads(server.remaining_lines()[-1])["event"] == "shutdown"


@pytest.mark.parametrize(
    ("second", "delay"),
    [
        (signal.SIGINT, 0.001),
        (signal.SIGTERM, 0.001),
        (signal.SIGINT, 0.005),
        (signal.SIGTERM, 0.01),
        (signal.SIGHUP, 0.003),
    ],
)
def test_a_second_signal_during_shutdown_still_exits_0(
    second: int, delay: float
) -> None:
    with Headless("--log-format", "json") as server:
        port = port_of(server)
        with socket.create_connection(("127.0.0.1", port), timeout=DEADLINE):
            server.line_matching('"connect"')
            server.proc.send_signal(signal.SIGINT)
            time.sleep(delay)  # the gap between the signals under test, not a wait
            code, stderr = server.finish(second)
        assert code == 0
        assert stderr == ""


@pytest.mark.slow
def test_a_second_signal_while_the_monitor_quits_still_exits_0() -> None:
    with Terminal("--port", "0") as term:
        term.wait_for_port()
        term.proc.send_signal(signal.SIGINT)
        time.sleep(0.002)  # the gap between the signals under test, not a wait
        term.proc.send_signal(signal.SIGTERM)
        assert term.proc.wait(DEADLINE) == 0
        term.assert_restored()
        assert b"Traceback" not in term.screen


def test_closed_stdout_exits_1_with_one_line() -> None:
    result = subprocess.run(
        ["sh", "-c", 'exec "$@" >&-', "sh", *COMMAND, "--no-ui", "--port", "0"],
        capture_output=False,
        stderr=subprocess.PIPE,
        text=True,
        timeout=DEADLINE,
    )
    assert result.returncode == 1
    assert result.stderr == (
        "tui-echo: error: stdout is closed: there is nowhere to write the log\n"
    )


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
def test_a_full_disk_warns_once_keeps_serving_and_counts_the_lines_lost() -> None:
    with socket.create_server(("127.0.0.1", 0)) as probe:
        port = probe.getsockname()[1]
    with open("/dev/full", "w") as full:
        proc = subprocess.Popen(
            [*COMMAND, "--no-ui", "--port", str(port)],
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
        )
    try:
        client = wait_until(lambda: _connect(port), message="the server to listen")
        with client:
            for _ in range(3):  # each exchange makes log lines that cannot be written
                client.sendall(b"still serving")
                assert recv_exactly(client, 13) == b"still serving"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(DEADLINE) == 0
        assert proc.stderr is not None
        lines = proc.stderr.read().splitlines()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if proc.stderr is not None:
            proc.stderr.close()
    assert lines[0] == (
        "tui-echo: warning: cannot write the log: no space left on device;"
        " the server keeps serving and counts the lines lost"
    )
    assert len(lines) == 2
    lost = int(lines[1].split()[2])
    assert lost >= 4  # listening, connect, data, close, shutdown: all lost
    assert lines[1] == (
        f"tui-echo: warning: {lost} log lines could not be written"
        " (no space left on device)"
    )


def test_when_the_log_reader_goes_away_the_server_stops_with_0() -> None:
    proc = subprocess.Popen(
        [*COMMAND, "--no-ui", "--port", "0", "--log-format", "json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        port = json.loads(proc.stdout.readline())["port"]
        proc.stdout.close()  # as `| head -1` does
        # The next line it writes finds nobody reading: it stops by itself.
        with socket.create_connection(("127.0.0.1", port), timeout=DEADLINE) as client:
            client.sendall(b"x")
            assert proc.wait(DEADLINE) == 0
            assert client.recv(10) in (b"x", b"")
        assert proc.stderr is not None
        assert proc.stderr.read() == ""
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if proc.stderr is not None:
            proc.stderr.close()


def test_binding_every_address_warns_on_stderr() -> None:
    with Headless("--host", "0.0.0.0", "--log-format", "json") as server:
        port = port_of(server)
        code, stderr = server.finish(signal.SIGTERM)
    assert code == 0
    assert stderr == (
        f"tui-echo: warning: listening on 0.0.0.0:{port}, not only loopback:"
        " anyone who can reach this port can use the server\n"
    )


def _connect(port: int) -> socket.socket | None:
    try:
        return socket.create_connection(("127.0.0.1", port), timeout=DEADLINE)
    except ConnectionRefusedError:
        return None


def test_python_m_is_the_same_program() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "tui_echo", "--version"],
        capture_output=True,
        text=True,
        timeout=DEADLINE,
    )
    assert result.stdout.startswith("tui-echo ")


def test_a_monitor_stuck_after_a_stop_signal_is_left_after_the_grace() -> None:
    done, steps = threading.Event(), []
    watcher = leave_if_stuck(
        done, lambda: steps.append("cleanup"), grace=0.05, leave=steps.append
    )
    watcher.join(DEADLINE)
    assert steps == ["cleanup", 0]  # the server stopped first, then exit status 0


def test_a_monitor_that_closes_in_time_is_left_alone() -> None:
    done, steps = threading.Event(), []
    done.set()
    watcher = leave_if_stuck(done, lambda: steps.append("cleanup"), leave=steps.append)
    watcher.join(DEADLINE)
    assert not watcher.is_alive()
    assert steps == []


def test_a_failing_cleanup_does_not_keep_the_process() -> None:
    def cleanup() -> None:
        raise OSError("the terminal is gone")

    steps: list[object] = []
    watcher = leave_if_stuck(threading.Event(), cleanup, grace=0.01, leave=steps.append)
    watcher.join(DEADLINE)
    assert steps == [0]


def test_a_monitor_that_closes_during_the_cleanup_keeps_its_exit_status() -> None:
    done, steps = threading.Event(), []

    def cleanup() -> None:  # meanwhile, the app returns on the main thread
        steps.append("cleanup")
        done.set()

    watcher = leave_if_stuck(done, cleanup, grace=0.01, leave=steps.append)
    watcher.join(DEADLINE)
    assert steps == ["cleanup"]


# A stop signal sent to the process itself the moment the command's heavy modules
# start to load: the window in which, before, nothing handled it yet.
SIGNAL_WHILE_IMPORTING = """
import builtins, os, signal, sys
load = builtins.__import__
def importing(name, *args, **kwargs):
    if name == "tui_echo.cli.command":
        os.kill(os.getpid(), signal.{sig})
    return load(name, *args, **kwargs)
builtins.__import__ = importing
from tui_echo import cli
sys.exit(cli.main(["--no-ui", "--port", "0"]))
"""


@pytest.mark.parametrize(
    ("sig", "status"), [("SIGINT", 130), ("SIGTERM", 143), ("SIGHUP", 129)]
)
def test_a_stop_signal_while_the_program_loads_ends_it_in_one_line(
    sig: str, status: int
) -> None:
    """Before, the handlers came after the heavy imports: SIGINT there gave a
    KeyboardInterrupt traceback, SIGTERM and SIGHUP killed the process."""
    result = subprocess.run(
        [sys.executable, "-c", SIGNAL_WHILE_IMPORTING.format(sig=sig)],
        capture_output=True,
        text=True,
        timeout=DEADLINE,
    )
    assert result.returncode == status, result.stderr
    assert result.stderr == f"tui-echo: stopped by {sig} before it started\n"
    assert result.stdout == ""  # nothing was bound, nothing logged
