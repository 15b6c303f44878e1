"""Helpers the tests share: waiting with deadlines, clients, recorders, factories."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import pty
import re
import selectors
import signal
import socket
import struct
import subprocess
import sys
import termios
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from queue import Empty, Queue
from typing import Any

import pytest

from tui_echo.control.protocol import REPLY_BACKLOG, Operator
from tui_echo.control.session import ControlSession
from tui_echo.engine.connection import CLOSE, SEND, Connection
from tui_echo.engine.poller import WRITE
from tui_echo.events import (
    ClientClosed,
    ClientConnected,
    ClientData,
    ClientState,
    Event,
    Listening,
    ShutdownComplete,
    to_json,
)
from tui_echo.faults import FaultSpec, FaultTarget
from tui_echo.faults.listener import ListenerFault
from tui_echo.pytest_plugin import EchoServerFixture

DEADLINE = 15.0
"""Seconds any single wait may take before the test fails (slow CI machines)."""

COMMAND = [sys.executable, "-m", "tui_echo"]
"""The `tui-echo` command, run from this interpreter."""


def wait_until(
    condition: Callable[[], Any], timeout: float = DEADLINE, message: str = ""
) -> Any:
    """Poll `condition` until it returns something truthy; fail after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            pytest.fail(
                f"timed out after {timeout}s waiting for {message or condition}"
            )
        time.sleep(0.005)


class RunningServer(EchoServerFixture):
    """The plugin's `echo_server`, plus clients with a chosen receive buffer."""

    def connect(  # type: ignore[override]
        self, *, rcvbuf: int | None = None, timeout: float = DEADLINE
    ) -> socket.socket:
        return open_client(self.address, rcvbuf=rcvbuf, timeout=timeout)


def open_client(
    address: tuple[str, int], *, rcvbuf: int | None = None, timeout: float = DEADLINE
) -> socket.socket:
    """A blocking client socket with a timeout, so a broken server fails, not hangs."""
    family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    if rcvbuf is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    sock.settimeout(timeout)
    sock.connect(address)
    return sock


def recv_exactly(sock: socket.socket, count: int) -> bytes:
    """Read exactly `count` bytes, failing on an early EOF."""
    chunks = bytearray()
    while len(chunks) < count:
        chunk = sock.recv(min(count - len(chunks), 1 << 20))
        if not chunk:
            pytest.fail(f"EOF after {len(chunks)} of {count} bytes")
        chunks += chunk
    return bytes(chunks)


def recv_until_eof(sock: socket.socket) -> bytes:
    data = bytearray()
    while chunk := sock.recv(1 << 20):
        data += chunk
    return bytes(data)


def echo_many(
    address: tuple[str, int], payloads: list[bytes], timeout: float = 60.0
) -> list[bytes]:
    """Open one connection per payload at once, send each, read each echo back.

    A single-threaded client loop over non-blocking sockets, so hundreds or
    thousands of concurrent clients cost the test no threads.
    """
    selector = selectors.DefaultSelector()
    sockets: list[socket.socket] = []
    received = [bytearray() for _ in payloads]
    try:
        for index, payload in enumerate(payloads):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sockets.append(sock)
            sock.setblocking(False)
            sock.connect_ex(address)
            selector.register(
                sock, selectors.EVENT_WRITE, [index, memoryview(payload), False]
            )
        remaining = len(payloads)
        deadline = time.monotonic() + timeout
        while remaining:
            if time.monotonic() > deadline:
                pytest.fail(f"{remaining} of {len(payloads)} clients unfinished")
            for key, mask in selector.select(0.5):
                sock, state = key.fileobj, key.data
                assert isinstance(sock, socket.socket)
                index, to_send, _ = state
                if mask & selectors.EVENT_WRITE and to_send:
                    state[1] = to_send = to_send[sock.send(to_send) :]
                    if not to_send:
                        selector.modify(sock, selectors.EVENT_READ, state)
                if mask & selectors.EVENT_READ:
                    chunk = sock.recv(65536)
                    received[index] += chunk
                    if not chunk or len(received[index]) >= len(payloads[index]):
                        selector.unregister(sock)
                        remaining -= 1
        return [bytes(r) for r in received]
    finally:
        selector.close()
        for sock in sockets:
            sock.close()


def data_event(
    client: int,
    bytes_in: int,
    bytes_out: int | None = None,
    *,
    step: int | None = None,
    pending: int = 0,
    state: ClientState = ClientState.OPEN,
    ts: float = 0.0,
) -> ClientData:
    """A data event; `bytes_out` defaults to `bytes_in`, `step` (new bytes) too."""
    return ClientData(
        client=client,
        bytes=bytes_in if step is None else step,
        bytes_in=bytes_in,
        bytes_out=bytes_in if bytes_out is None else bytes_out,
        pending=pending,
        state=state,
        ts=ts,
    )


class Headless:
    """A headless `tui-echo` process whose stdout lines are read on a thread."""

    def __init__(self, *args: str) -> None:
        self.proc = subprocess.Popen(
            [*COMMAND, "--no-ui", "--port", "0", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: Queue[str] = Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))

    def next_line(self, timeout: float = DEADLINE) -> str:
        try:
            return self.lines.get(timeout=timeout)
        except Empty:
            pytest.fail(f"no output line within {timeout}s")

    def read_until(self, text: str, timeout: float = DEADLINE) -> list[str]:
        """Lines up to and including the first one containing `text`."""
        deadline = time.monotonic() + timeout
        lines = []
        while not lines or text not in lines[-1]:
            lines.append(self.next_line(max(0.01, deadline - time.monotonic())))
        return lines

    def line_matching(self, text: str, timeout: float = DEADLINE) -> str:
        return self.read_until(text, timeout)[-1]

    def finish(self, sig: int | None = signal.SIGTERM) -> tuple[int, str]:
        """Send `sig`, wait for exit; return the code and stderr."""
        if sig is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
        self.proc.wait(timeout=DEADLINE)
        self._reader.join(DEADLINE)
        assert self.proc.stderr is not None
        return self.proc.returncode, self.proc.stderr.read()

    def close(self) -> None:
        """Kill the process if it still runs, and close its pipes."""
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(DEADLINE)
        self._reader.join(DEADLINE)
        for pipe in (self.proc.stdout, self.proc.stderr):
            if pipe is not None:
                pipe.close()

    def __enter__(self) -> Headless:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def remaining_lines(self) -> list[str]:
        lines = []
        while not self.lines.empty():
            lines.append(self.lines.get())
        return lines


class Terminal:
    """The command in a real pseudo-terminal (120x40) that is drained as a terminal
    would be; what it drew collects in `screen`."""

    RESTORED = (b"\x1b[?1049l", b"\x1b[?25h", b"\x1b[?1000l")
    """Leave the alternate screen, show the cursor, stop mouse reporting."""

    def __init__(self, *args: str) -> None:
        controller, terminal = pty.openpty()
        fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
        self.controller = controller
        self.screen = bytearray()
        self.proc = subprocess.Popen(
            [*COMMAND, *args],
            stdin=terminal,
            stdout=terminal,
            stderr=terminal,
            env={**os.environ, "TERM": "xterm-256color"},
        )
        os.close(terminal)
        self._reader = threading.Thread(target=self._drain, daemon=True)
        self._reader.start()

    def _drain(self) -> None:
        with contextlib.suppress(OSError):
            while chunk := os.read(self.controller, 65536):
                self.screen.extend(chunk)

    def wait_for(self, text: bytes) -> None:
        """Until the screen shows `text` (raw bytes, escape sequences included)."""
        wait_until(lambda: text in self.screen, message=f"{text!r} on the screen")

    def wait_for_port(self) -> int:
        """The port the monitor's status bar shows it listens on."""
        pattern = re.compile(rb"listening on 127\.0\.0\.1:(\d+)")
        found = wait_until(
            lambda: pattern.search(self.screen), message="the listening address"
        )
        return int(found.group(1))

    def assert_restored(self) -> None:
        self._reader.join(DEADLINE)  # everything it wrote has been read
        tail = bytes(self.screen[-4096:])
        for sequence in self.RESTORED:
            assert sequence in tail, (
                f"{sequence!r} missing: the terminal is left broken"
            )

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        with contextlib.suppress(OSError):
            os.close(self.controller)
        self._reader.join(DEADLINE)

    def __enter__(self) -> Terminal:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def write_log(path: Path, events: list[Event], tail: str = "") -> Path:
    """A JSON Lines log as `--no-ui --log-format json` records it, then `tail`."""
    path.write_text("".join(json.dumps(to_json(e)) + "\n" for e in events) + tail)
    return path


def ask_control(path: Path, command: str, timeout: float = DEADLINE) -> list[str]:
    """One command on a fresh control-socket connection: its reply lines, up to
    and including `OK` or `ERR ...`."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        sock.connect(str(path))
        sock.sendall(command.encode() + b"\n")
        with sock.makefile("rb") as reader:
            lines: list[str] = []
            while not lines or (lines[-1] != "OK" and not lines[-1].startswith("ERR")):
                raw = reader.readline()
                if not raw.endswith(b"\n"):
                    pytest.fail(f"{command!r}: reply cut short after {lines}")
                lines.append(raw.decode().rstrip("\n"))
            return lines


def ipv6_loopback_works() -> bool:
    """Whether this machine has `::1`: a plain socket binds to it."""
    if not socket.has_ipv6:
        return False
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as probe:
            probe.bind(("::1", 0))
    except OSError:
        return False
    return True


def recorded_session(
    *, reason: str = "peer closed", closed_at: float = 0.5, ended_at: float = 0.6
) -> list[Event]:
    """A short run as its log records it: listening at t=1000, client 1 connects
    (0.1 s later), sends and gets back 4 bytes (0.2 s), leaves for `reason` at
    `closed_at`, and the server shuts down at `ended_at` (seconds after 1000)."""
    start = 1000.0
    return [
        Listening(host="127.0.0.1", port=9000, ts=start),
        ClientConnected(client=1, peer="127.0.0.1:5", ts=start + 0.1),
        data_event(1, 4, ts=start + 0.2),
        ClientClosed(
            client=1,
            reason=reason,
            bytes_in=4,
            bytes_out=4,
            ts=start + closed_at,
        ),
        ShutdownComplete(ts=start + ended_at),
    ]


def session_said(session: ControlSession, data: bytes, operator: Operator) -> bytes:
    """Give a control session `data` and run what it asks to the end, as the loop
    would over as many turns as it takes; what the session has to send."""
    session.received(data, operator, 0.0)
    while session.has_waiting_lines and len(session.outbuf) < REPLY_BACKLOG:
        session.run_waiting(operator)
    return bytes(session.outbuf)


class IdleOperator:
    """A control socket's operator for a server that does nothing: no client is
    known, every answer is empty. Tests override what they need."""

    def list_lines(self) -> Iterable[str]:
        return []

    def stats_line(self) -> str:
        return "clients=0"

    def history_lines(self) -> Iterable[str]:
        return []

    def scenario_lines(self) -> Iterable[str]:
        return []

    def kick(self, client_id: int) -> bool:
        return False

    def kick_all(self) -> None: ...

    def reset(self, client_id: int) -> bool:
        return False

    def set_fault(self, target: FaultTarget, spec: FaultSpec | None) -> bool:
        return True

    def set_listener_fault(self, fault: ListenerFault | None) -> None: ...

    def inspect(self, client_id: int, enabled: bool) -> bool:
        return False

    def recent_line(self, client_id: int) -> str | None:
        return None

    def activity_line(self, client_id: int) -> str | None:
        return None

    def kernel_lines(self, client_ids: Sequence[int]) -> Iterable[str]:
        return []


def receive(conn: Connection, data: bytes | memoryview, now: float) -> int:
    """What the loop does when `data` arrives, up to its send: `received`, and on
    `SEND` a send that took nothing yet, so `WRITE` is of interest and `send_all`
    (or a test's own sends) send what the fault let go."""
    todo = conn.received(memoryview(data), now)
    return conn.flushed(0, now) if todo & SEND else todo


def fire_timer(conn: Connection, now: float) -> int:
    """What the loop does when `conn.deadline` comes, up to its send: `timer`, and
    on `SEND` a send that took nothing yet, so `WRITE` is of interest and
    `send_all` sends what was released."""
    todo = conn.timer(now)
    return conn.flushed(0, now) if todo & SEND else todo


def send_all(conn: Connection, now: float) -> list[bytes]:
    """What the loop sends while `WRITE` is of interest, piece by piece."""
    pieces = []
    for _ in range(10_000):
        if not conn.interest & WRITE:
            break
        piece = bytes(conn.outgoing())
        pieces.append(piece)
        if conn.flushed(len(piece), now) & CLOSE:
            break
    return pieces
