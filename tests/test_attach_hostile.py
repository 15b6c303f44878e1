"""Attach against a hostile or broken server (issue 16, findings 3 and 4).

A fake control server, written here, answers at a Unix socket with scripted
replies: missing or wrong fields, escape sequences, endless lines, a trickle of
bytes, silence. Attach must say what was wrong in words (escaped), exit 1 without a
traceback, keep its memory bounded, and end within a second or two on `q` or a
stop signal whatever the server does.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.helpers import COMMAND, DEADLINE, Terminal, wait_until
from tui_echo.events import ServerError
from tui_echo.pytest_plugin import EventRecorder
from tui_echo.sources.attached import (
    AttachCancelledError,
    AttachError,
    RemoteServer,
)

Answer = bytes | Callable[[socket.socket, threading.Event], None]

GOOD_LIST = (
    b"id=1 peer=127.0.0.1:5000 state=open age=1.0 idle=0.5 in=5 out=5 pending=0"
    b" seq=3 fault=-\n"
)
GOOD_STATS = (
    b"clients=1 total=1 rejected=0 bytes_in=5 bytes_out=5 pending=0 uptime=2.0"
    b" started=1000.000 seq=3 listener=off listening=127.0.0.1:9000 fault=-\n"
)
PYTHON_WORDS = ("Traceback", "invalid literal", "dictionary update", "Error:")
"""Python's own messages, which must never reach the operator."""


class FakeControl:
    """A Unix socket at `path` that answers each command line with its script
    entry: bytes to send, or a function that talks on the connection until the
    stop flag is set. Unscripted commands get `OK`."""

    def __init__(self, path: Path, **answers: Answer) -> None:
        self.path = path
        self.answers: dict[str, Answer] = {
            "EVENTS": b"OK\n",
            "LIST": GOOD_LIST + b"OK\n",
            "STATS": GOOD_STATS + b"OK\n",
            "HISTORY": b"OK\n",
            **answers,
        }
        self.stop = threading.Event()
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.listener.bind(str(path))
        self.listener.listen(8)
        self.listener.settimeout(0.05)
        self.connections: list[socket.socket] = []
        self.threads = [threading.Thread(target=self._accept, daemon=True)]
        self.threads[0].start()

    def _accept(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.connections.append(conn)
            thread = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            self.threads.append(thread)
            thread.start()

    def _serve(self, conn: socket.socket) -> None:
        conn.settimeout(0.05)
        pending = b""
        with contextlib.suppress(OSError):
            while not self.stop.is_set():
                try:
                    chunk = conn.recv(4096)
                except TimeoutError:
                    continue
                if not chunk:
                    return
                pending += chunk
                while b"\n" in pending:
                    line, pending = pending.split(b"\n", 1)
                    command = line.decode().split()[0].upper() if line.strip() else ""
                    answer = self.answers.get(command, b"OK\n")
                    if isinstance(answer, bytes):
                        conn.sendall(answer)
                    else:
                        conn.settimeout(None)
                        answer(conn, self.stop)
                        conn.settimeout(0.05)

    def close(self) -> None:
        self.stop.set()
        for conn in self.connections:  # a send blocked on a full socket returns
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        for thread in self.threads:
            thread.join(DEADLINE)
        self.listener.close()
        for conn in self.connections:
            conn.close()


@pytest.fixture
def fake(tmp_path: Path) -> Iterator[Callable[..., FakeControl]]:
    made: list[FakeControl] = []

    def make(**answers: Answer) -> FakeControl:
        server = FakeControl(tmp_path / f"fake{len(made)}.sock", **answers)
        made.append(server)
        return server

    yield make
    for server in made:
        server.close()


def attach_error(server: FakeControl, **options: float) -> str:
    """What attaching to `server` fails with."""
    with pytest.raises(AttachError) as caught:
        RemoteServer(str(server.path), **options).close()  # type: ignore[arg-type]
    return str(caught.value)


def run_attach(path: Path | str, timeout: float = DEADLINE) -> tuple[int, str]:
    """`tui-echo attach PATH` as a command (no terminal: it attaches first)."""
    result = subprocess.run(
        [*COMMAND, "attach", str(path)],
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )
    return result.returncode, result.stderr


def trickle(data: bytes, every: float = 0.5) -> Answer:
    """An answer that sends `data` a byte at a time, one per `every` seconds, then
    keeps the connection open doing nothing, until the fake server stops."""

    def send(conn: socket.socket, stop: threading.Event) -> None:
        for byte in data:
            if stop.wait(every):
                return
            conn.sendall(bytes([byte]))
        stop.wait()

    return send


def silence(conn: socket.socket, stop: threading.Event) -> None:
    stop.wait()


class Flood:
    """An answer that sends `head` then up to `total` bytes of `fill` with no
    newline; `sent` says how many the reader took before it hung up."""

    def __init__(self, head: bytes, total: int, fill: bytes = b"A") -> None:
        self.head, self.total, self.fill = head, total, fill
        self.sent = 0
        self.done = threading.Event()
        self.go = threading.Event()
        """Set: the flood follows `head` at once; else only once it is set."""
        self.go.set()

    def __call__(self, conn: socket.socket, stop: threading.Event) -> None:
        chunk = self.fill * max(1, (1 << 20) // len(self.fill))
        with contextlib.suppress(OSError):
            conn.sendall(self.head)
            self.go.wait(DEADLINE)
            while self.sent < self.total and not stop.is_set():
                conn.sendall(chunk)
                self.sent += len(chunk)
        self.done.set()


# ---- finding 3: answers that are wrong are said in words -----------------------------


BAD_STATS = [
    (
        b"clients=1 total=1 rejected=0 bytes_in=5 bytes_out=5 pending=0 uptime=2.0"
        b" started=1000.000 seq=3 fault=-\n",
        "no listening=",
    ),
    (GOOD_STATS.replace(b"clients=1", b"clients=nope"), "clients='nope', not a count"),
    (GOOD_STATS.replace(b"clients=1", b"clients=-1"), "clients='-1', not a count"),
    (GOOD_STATS.replace(b"uptime=2.0", b"uptime=1e400"), "uptime='1e400'"),
    (GOOD_STATS.replace(b"uptime=2.0", b"uptime=nan"), "uptime='nan'"),
    (GOOD_STATS.replace(b"fault=-", b"fault=delay=soon"), "fault='delay=soon'"),
    (GOOD_STATS.replace(b"total=1", "total=\u0661".encode()), "not ASCII"),
    (b"garbage\n", "no fault= in 'garbage'"),
    (GOOD_STATS.replace(b"clients=1", b"clients"), "not key=value ('clients')"),
    (GOOD_STATS.replace(b"listening=127.0.0.1:9000", b"listening=x"), "host:port"),
]


@pytest.mark.parametrize(("stats", "said"), BAD_STATS)
def test_a_wrong_stats_answer_is_named_in_words(
    fake: Callable[..., FakeControl], stats: bytes, said: str
) -> None:
    message = attach_error(fake(STATS=stats + b"OK\n"))
    assert said in message
    assert "STATS" in message
    assert not any(words in message for words in PYTHON_WORDS), message


BAD_LIST = [
    (GOOD_LIST.replace(b"id=1", b"id=nope"), "id='nope', not a count"),
    (GOOD_LIST.replace(b"age=1.0", b"age=1e400"), "age='1e400'"),
    (GOOD_LIST.replace(b"in=5", b"in=-5"), "in='-5', not a count"),
    (GOOD_LIST.replace(b"state=open", b"state=dancing"), "state='dancing'"),
    (GOOD_LIST.replace(b" seq=3", b""), "no seq="),
    (GOOD_LIST.replace(b"fault=-", b"fault=\x1b]0;PWNED\x07"), "\\x1b]0;PWNED\\x07"),
    (GOOD_LIST.replace(b"seq=3", b"seq=99"), "after STATS' seq=3"),
]


@pytest.mark.parametrize(("line", "said"), BAD_LIST)
def test_a_wrong_list_answer_is_named_in_words(
    fake: Callable[..., FakeControl], line: bytes, said: str
) -> None:
    message = attach_error(fake(LIST=line + b"OK\n"))
    assert said in message
    assert "\x1b" not in message
    assert "\x07" not in message
    assert not any(words in message for words in PYTHON_WORDS), message


def test_a_wrong_history_answer_is_named_in_words(
    fake: Callable[..., FakeControl],
) -> None:
    line = (
        b"id=4 peer=127.0.0.1:1 connected=1e300 closed=1.0 in=1 out=1 discarded=0"
        b" fault=- reason=peer closed\nOK\n"
    )
    message = attach_error(fake(HISTORY=line))
    assert "connected='1e300', not a number of seconds" in message


def test_the_command_says_a_bad_answer_in_one_line_and_exits_1(
    fake: Callable[..., FakeControl],
) -> None:
    stats = BAD_STATS[0][0] + b"OK\n"
    code, stderr = run_attach(fake(STATS=stats).path)
    assert code == 1
    assert stderr.count("\n") == 1, stderr
    assert stderr.startswith("tui-echo: error: cannot attach to '")
    assert "no listening=" in stderr
    assert "Traceback" not in stderr
    assert "KeyError" not in stderr


def test_an_err_with_escape_sequences_is_printed_escaped(
    fake: Callable[..., FakeControl],
) -> None:
    code, stderr = run_attach(fake(EVENTS=b"ERR \x1b]0;PWNED\x07\n").path)
    assert code == 1
    assert "\x1b" not in stderr
    assert "\x07" not in stderr
    assert "refused EVENTS: '\\x1b]0;PWNED\\x07'" in stderr


def test_a_file_name_with_escape_sequences_is_printed_escaped(tmp_path: Path) -> None:
    code, stderr = run_attach(tmp_path / "x\x1b]0;T\x07.sock")
    assert code == 1
    assert "\x1b" not in stderr
    assert "\x07" not in stderr
    assert "x\\x1b]0;T\\x07.sock" in stderr
    assert "no such file or directory" in stderr


def test_a_regular_file_is_not_a_socket(tmp_path: Path) -> None:
    plain = tmp_path / "plain.txt"
    plain.write_text("hello\n")
    with pytest.raises(AttachError, match="not a socket"):
        RemoteServer(str(plain))


# ---- every reader has a limit --------------------------------------------------------


def test_a_reply_with_no_newline_is_refused_after_64_kib(
    fake: Callable[..., FakeControl],
) -> None:
    flood = Flood(b"", total=256 << 20)
    started = time.monotonic()
    message = attach_error(fake(STATS=flood))
    assert "longer than 65,536 bytes" in message
    assert time.monotonic() - started < 5
    flood.done.wait(DEADLINE)  # the fake's send failed: the reader hung up
    # What the kernel's buffers hold, and no more: the line was not read whole.
    assert flood.sent < 32 << 20, flood.sent


def test_an_endless_reply_of_short_lines_is_refused(
    fake: Callable[..., FakeControl],
) -> None:
    line = (
        b"id=4 peer=127.0.0.1:1 connected=1.0 closed=2.0 in=1 out=1 discarded=0"
        b" fault=- reason=peer closed\n"
    )
    flood = Flood(b"", total=1 << 30, fill=line)
    assert "more than 10,000 lines" in attach_error(fake(HISTORY=flood))
    flood.done.wait(DEADLINE)
    assert flood.sent < 32 << 20, flood.sent


def test_an_endless_event_line_ends_the_source_with_words(
    fake: Callable[..., FakeControl],
) -> None:
    flood = Flood(b"OK\n", total=512 << 20, fill=b"{")
    flood.go.clear()  # once attached
    remote = RemoteServer(str(fake(EVENTS=flood).path))
    try:
        flood.go.set()
        said = EventRecorder(remote.feed).wait_for(ServerError)
        assert "longer than 65,536 bytes" in said.message
        flood.done.wait(DEADLINE)
        assert flood.sent < 32 << 20, flood.sent
        assert remote.cut_off
    finally:
        remote.close()


def test_an_endless_event_line_while_attaching_is_refused_in_words(
    fake: Callable[..., FakeControl],
) -> None:
    flood = Flood(b"OK\n", total=512 << 20)
    assert "longer than 65,536 bytes" in attach_error(fake(EVENTS=flood))
    flood.done.wait(DEADLINE)
    assert flood.sent < 32 << 20, flood.sent


# ---- a bad line mid-session ends the source, never crashes it ------------------------


def test_a_bad_event_line_while_attaching_is_said_quoted_and_escaped(
    fake: Callable[..., FakeControl],
) -> None:
    message = attach_error(fake(EVENTS=b"OK\nnot json \x1b]0;X\x07\n"))
    assert "not JSON: 'not json \\x1b]0;X\\x07'" in message
    assert "\x1b" not in message


def test_a_bad_event_line_later_ends_the_source_quoting_it_escaped(
    fake: Callable[..., FakeControl],
) -> None:
    attached = threading.Event()

    def events(conn: socket.socket, stop: threading.Event) -> None:
        conn.sendall(b"OK\n")
        attached.wait(DEADLINE)
        conn.sendall(b'{"event":"shutdown","ts":1e300,"seq":9}\n')
        stop.wait()

    remote = RemoteServer(str(fake(EVENTS=events).path))
    try:
        attached.set()
        said = EventRecorder(remote.feed).wait_for(ServerError)
        assert "'ts' out of range" in said.message
        assert '\'{"event":"shutdown","ts":1e300,"seq":9}\'' in said.message
        assert remote.cut_off
        assert remote.mode_detail() == "cut off"
    finally:
        remote.close()


def test_a_bad_command_answer_ends_the_source_quoting_it(
    fake: Callable[..., FakeControl],
) -> None:
    remote = RemoteServer(
        str(fake(KERNEL=b"id=1 recvq=nope\x1b[2J\nOK\n").path), reply_timeout=2.0
    )
    try:
        remote.watch_kernel([1])
        said = EventRecorder(remote.feed).wait_for(ServerError)
        assert "KERNEL answer has recvq='nope\\x1b[2J'" in said.message
    finally:
        remote.close()


# ---- a slow or silent server: deadlines, and stop always works -----------------------


def test_a_server_that_never_answers_times_out_in_words(
    fake: Callable[..., FakeControl],
) -> None:
    started = time.monotonic()
    message = attach_error(fake(EVENTS=silence), timeout=0.5)
    assert "the server did not answer within 0.5 s" in message
    assert time.monotonic() - started < 2


def test_a_trickling_server_is_given_up_on_at_the_deadline(
    fake: Callable[..., FakeControl],
) -> None:
    started = time.monotonic()
    message = attach_error(fake(STATS=trickle(GOOD_STATS, every=0.1)), timeout=1.0)
    assert "did not answer within 1 s" in message
    assert time.monotonic() - started < 2.5


def test_a_stop_request_ends_attaching_to_a_trickle_at_once(
    fake: Callable[..., FakeControl],
) -> None:
    server = fake(EVENTS=trickle(b"OK\n" * 100))
    cancel = threading.Event()
    threading.Timer(0.3, cancel.set).start()
    started = time.monotonic()
    with pytest.raises(AttachCancelledError):
        RemoteServer(str(server.path), cancel=cancel, timeout=60)
    assert time.monotonic() - started < 1.5


def test_detaching_returns_at_once_while_the_server_trickles(
    fake: Callable[..., FakeControl],
) -> None:
    # The stream trickles an endless line and a command's answer never ends:
    # both threads are blocked on their sockets when the monitor quits.
    server = fake(
        EVENTS=trickle(b"OK\n" + b"{" * 1000, every=0.05),
        KERNEL=trickle(b"id=1", every=0.5),
    )
    remote = RemoteServer(str(server.path), reply_timeout=60)
    remote.watch_kernel([1])
    wait_until(lambda: remote._requests.empty(), message="the worker to ask KERNEL")
    started = time.monotonic()
    remote.stop()
    assert time.monotonic() - started < 1.0
    assert not any(thread.is_alive() for thread in remote._threads)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_stop_signal_ends_the_attach_command_on_a_trickle(
    fake: Callable[..., FakeControl], sig: signal.Signals
) -> None:
    server = fake(LIST=trickle(GOOD_LIST * 100))
    with subprocess.Popen(
        [*COMMAND, "attach", str(server.path)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as proc:
        # Until it asked LIST, on its second connection: it is attaching.
        wait_until(lambda: len(server.connections) >= 2, message="two connections")
        started = time.monotonic()
        proc.send_signal(sig)
        try:
            _, stderr = proc.communicate(timeout=DEADLINE)
        finally:
            if proc.poll() is None:
                proc.kill()
        took = time.monotonic() - started
    assert took < 2.0, took
    assert proc.returncode == 0, stderr
    assert "Traceback" not in stderr


def test_q_leaves_an_attached_monitor_at_once_while_the_server_trickles(
    fake: Callable[..., FakeControl],
) -> None:
    server = fake(
        EVENTS=trickle(b"OK\n" + b"{" * 1000, every=0.05),
        KERNEL=trickle(b"id=1", every=0.5),
    )
    with Terminal("attach", str(server.path)) as term:
        term.wait_for(b"ATTACHED")
        started = time.monotonic()
        os.write(term.controller, b"q")
        code = term.proc.wait(DEADLINE)
        took = time.monotonic() - started
    assert code == 0
    assert took < 2.0, took
