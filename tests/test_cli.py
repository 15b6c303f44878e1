"""The `tui-echo` command as a real subprocess: output, signals, exit codes."""

from __future__ import annotations

import json
import os
import resource
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator

import pytest

from tests.helpers import COMMAND, DEADLINE, Headless, Terminal, recv_exactly

DROP_BIND_RIGHT = ["setpriv", "--bounding-set", "-net_bind_service"]


@pytest.fixture
def headless_json() -> Iterator[Headless]:
    with Headless("--log-format", "json") as proc:
        yield proc


def test_json_lines_tell_a_whole_session(headless_json: Headless) -> None:
    listening = json.loads(headless_json.next_line())
    assert listening["event"] == "listening"
    assert listening["host"] == "127.0.0.1"
    assert isinstance(listening["ts"], float)
    port = listening["port"]
    assert port > 0

    with socket.create_connection(("127.0.0.1", port), timeout=DEADLINE) as client:
        client.sendall(b"\x00json\xff")
        assert recv_exactly(client, 6) == b"\x00json\xff"
    connect = json.loads(headless_json.line_matching('"connect"'))
    assert connect["client"] == 1
    assert connect["peer"].startswith("127.0.0.1:")
    close = json.loads(headless_json.line_matching('"close"'))
    assert close == {
        "event": "close",
        "ts": close["ts"],
        "client": 1,
        "reason": "peer closed",
        "bytes_in": 6,
        "bytes_out": 6,
        "discarded": 0,
    }

    code, stderr = headless_json.finish(signal.SIGTERM)
    assert code == 0
    assert stderr == ""
    lines = [json.loads(line) for line in headless_json.remaining_lines()]
    assert lines[-1]["event"] == "shutdown"
    with socket.create_server(("127.0.0.1", port)):
        pass  # the port is free again


def test_fault_delays_every_new_client_and_is_announced_after_listening() -> None:
    with Headless(
        "--log-format", "json", "--fault", "delay=300ms", "--seed", "7"
    ) as proc:
        port = json.loads(proc.next_line())["port"]
        announced = json.loads(proc.next_line())
        assert (announced["event"], announced["fault"]) == ("fault", "delay=300ms")
        assert "client" not in announced
        with socket.create_connection(("127.0.0.1", port), timeout=DEADLINE) as client:
            started = time.monotonic()
            client.sendall(b"slow")
            assert recv_exactly(client, 4) == b"slow"
            assert time.monotonic() - started >= 0.3
        code, _ = proc.finish()
    assert code == 0


def test_data_events_sum_to_the_bytes_in_at_close(headless_json: Headless) -> None:
    port = json.loads(headless_json.next_line())["port"]
    with socket.create_connection(("127.0.0.1", port), timeout=DEADLINE) as client:
        for _ in range(50):
            client.sendall(b"y" * 1000)
            recv_exactly(client, 1000)
    events = [json.loads(line) for line in headless_json.read_until('"close"')]
    assert [e["event"] for e in events][:1] == ["connect"]
    assert events[-1]["bytes_in"] == 50_000
    assert sum(e["bytes"] for e in events if e["event"] == "data") == 50_000
    assert all(e["client"] == 1 for e in events)


def test_sigint_stops_gracefully_and_closes_clients() -> None:
    with Headless() as proc:
        first = proc.next_line()
        assert "listening   on 127.0.0.1:" in first
        port = int(first.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port), timeout=DEADLINE) as client:
            proc.line_matching("connect")
            code, stderr = proc.finish(signal.SIGINT)
            assert client.recv(10) == b""
        assert code == 0
        assert "Traceback" not in stderr
        rest = proc.remaining_lines()
        assert "shutdown" in rest[-2]
        assert rest[-1].endswith("shutdown")


def test_text_lines_are_timestamped_and_name_the_peer() -> None:
    with Headless() as proc:
        port = int(proc.next_line().rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port), timeout=DEADLINE) as client:
            client.sendall(b"\x1b[2Jhi")
            recv_exactly(client, 6)
        close = proc.line_matching(" close ")
        proc.finish()
    date, clock, kind, who, peer, *_ = close.split()
    assert len(date) == 10
    assert len(clock) == 12
    assert kind == "close"
    assert who == "#1"
    assert peer.startswith("127.0.0.1:")
    assert f"{peer} peer closed  in 6 B  out 6 B  after " in close
    assert close.endswith("s")  # how long the client stayed, as 0.1s or 2m05s
    assert "\x1b" not in close


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*COMMAND, *args],
        capture_output=True,
        text=True,
        timeout=DEADLINE,
        stdin=subprocess.DEVNULL,
    )


def test_port_in_use_exits_1_with_one_clear_line() -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        result = run("--no-ui", "--port", str(port))
    assert result.returncode == 1
    assert result.stderr == (
        f"tui-echo: error: cannot listen on 127.0.0.1:{port}: address already in use\n"
    )
    assert result.stdout == ""


def test_unknown_host_exits_1_without_traceback() -> None:
    result = run("--no-ui", "--host", "no-such-host.invalid")
    assert result.returncode == 1
    assert result.stderr.startswith("tui-echo: error: cannot resolve host")
    assert "Traceback" not in result.stderr


@pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("setpriv") is None,
    reason="needs root and setpriv to drop the right to bind port 80",
)
def test_permission_denied_exits_1() -> None:
    # Root without CAP_NET_BIND_SERVICE is refused port 80 like any user.
    result = subprocess.run(
        [
            "setpriv",
            "--bounding-set",
            "-net_bind_service",
            *COMMAND,
            "--no-ui",
            "--port",
            "80",
        ],
        capture_output=True,
        text=True,
        timeout=DEADLINE,
    )
    assert result.returncode == 1, result.stderr
    assert result.stderr == (
        "tui-echo: error: cannot listen on 127.0.0.1:80: permission denied\n"
    )


@pytest.mark.parametrize(
    ("args", "complaint"),
    [
        (["--port", "70000"], "argument --port: must be in 0..65535, not 70000"),
        (["--port", "http"], "argument --port: not a port number: 'http'"),
        (["--max-buffer", "lots"], "argument --max-buffer: not a size"),
        (["--max-buffer", "100"], "--max-buffer: must be at least 1.0 KiB, not 100 B"),
        (["--max-buffer", "9" * 400], "argument --max-buffer: not a size"),
        (
            ["--max-buffer", "2000T"],
            "--max-buffer: 2000 TiB is too large to mean anything (at most 1024 TiB)",
        ),
        (["--max-clients", "0"], "argument --max-clients: must be at least 1"),
        (["--idle-timeout", "-1"], "argument --idle-timeout: not a duration"),
        (["--idle-timeout", "0"], "argument --idle-timeout: must be positive"),
        (["--idle-timeout", "1e999"], "argument --idle-timeout: not a duration"),
        (
            ["--idle-timeout", "99999h"],
            "--idle-timeout: 4166d15h is too long to mean anything (at most 30 days)",
        ),
        (["--log-format", "xml"], "invalid choice"),
        (["--fault", "delya=5ms"], "argument --fault: unknown fault item 'delya=5ms'"),
        (["--fault", "slice=0"], "argument --fault: fault item slice=0: must be at"),
        (["--seed", "x"], "argument --seed: not a whole number: 'x'"),
        (["--frobnicate"], "unrecognized arguments"),
    ],
)
def test_bad_arguments_exit_2_with_usage(args: list[str], complaint: str) -> None:
    result = run("--no-ui", *args)
    assert result.returncode == 2
    assert result.stderr.startswith("usage: tui-echo")
    assert complaint in result.stderr


def test_version_and_help() -> None:
    from tui_echo import __version__

    version = run("--version")
    assert version.returncode == 0
    assert version.stdout == f"tui-echo {__version__}\n"
    help_text = run("--help").stdout
    for option in (
        "--host",
        "--port",
        "--no-ui",
        "--log-format",
        "--max-clients",
        "--max-buffer",
        "--idle-timeout",
        "--version",
    ):
        assert option in help_text


def test_interactive_mode_without_a_terminal_says_to_use_no_ui() -> None:
    result = run("--port", "0")
    assert result.returncode == 1
    assert "use --no-ui" in result.stderr


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP])
def test_the_live_monitor_echoes_and_stops_on_a_signal_in_a_terminal(sig: int) -> None:
    """The default mode in a real pseudo-terminal: it serves; SIGTERM or SIGHUP
    stops it gracefully (exit 0, clients closed with a FIN, the terminal restored)."""
    with Terminal("--port", "0") as term:
        port = term.wait_for_port()
        with wait_for_listener(port) as client:
            client.sendall(b"through the monitor")
            assert recv_exactly(client, 19) == b"through the monitor"
            term.wait_for(b"listening on 127.0.0.1")
            term.proc.send_signal(sig)
            assert term.proc.wait(DEADLINE) == 0
            assert client.recv(10) == b""
        term.assert_restored()
    with socket.create_server(("127.0.0.1", port)):
        pass  # the port is free again


def wait_for_listener(port: int) -> socket.socket:
    """Connect once the server listens, within the deadline."""
    deadline = time.monotonic() + DEADLINE
    while True:
        try:
            return socket.create_connection(("127.0.0.1", port), timeout=DEADLINE)
        except ConnectionRefusedError:
            if time.monotonic() > deadline:
                pytest.fail(f"nothing listens on port {port}")
            time.sleep(0.02)


@pytest.mark.slow
def test_the_server_holds_more_clients_than_the_soft_descriptor_limit() -> None:
    """Started with a soft limit of 256 descriptors (the hard one higher), the
    server raises its own and echoes for 400 clients at once."""
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    if hard != resource.RLIM_INFINITY and hard < 1024:
        pytest.skip(f"the hard descriptor limit is {hard}")

    def low_soft_limit() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (256, hard))

    proc = subprocess.Popen(
        [*COMMAND, "--no-ui", "--port", "0", "--log-format", "json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=low_soft_limit,
    )
    clients: list[socket.socket] = []
    try:
        assert proc.stdout is not None
        port = json.loads(proc.stdout.readline())["port"]
        clients.extend(
            socket.create_connection(("127.0.0.1", port), DEADLINE) for _ in range(400)
        )
        for index, client in enumerate(clients):
            client.sendall(b"%d\n" % index)
        for index, client in enumerate(clients):
            assert recv_exactly(client, len(b"%d\n" % index)) == b"%d\n" % index
    finally:
        for client in clients:
            client.close()
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=DEADLINE)
    assert proc.returncode == 0, stderr
    assert "error" not in stderr


def test_a_bad_fault_is_said_on_stderr_with_its_escapes_escaped() -> None:
    """Issue 16, finding 4: `--fault` printed an escape sequence from its argument
    raw on stderr (it could retitle the terminal)."""
    result = subprocess.run(
        [*COMMAND, "--no-ui", "--fault", "delay=\x1b]0;PWNED\x07"],
        capture_output=True,
        text=True,
        timeout=DEADLINE,
    )
    assert result.returncode == 2
    assert "\x1b" not in result.stderr
    assert "\x07" not in result.stderr
    assert "delay=\\x1b]0;PWNED\\x07" in result.stderr
