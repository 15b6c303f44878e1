"""The control socket with a raw Unix socket: every command, every error, its bounds."""

from __future__ import annotations

import json
import os
import socket
import stat
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.helpers import DEADLINE, RunningServer, recv_exactly, wait_until
from tui_echo.control import socket_server
from tui_echo.control.protocol import MAX_SESSIONS, STREAM_BACKLOG
from tui_echo.engine.config import ServerConfig
from tui_echo.events import ClientClosed, ClientConnected, FaultChanged
from tui_echo.server import EchoServer, ServerStartError

StartServer = Callable[..., RunningServer]


class Control:
    """A control connection that says a line and reads the reply up to OK/ERR."""

    def __init__(self, path: Path) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(DEADLINE)
        self.sock.connect(str(path))
        self.reader = self.sock.makefile("rb")

    def line(self) -> str:
        raw = self.reader.readline()
        assert raw.endswith(b"\n"), f"cut short: {raw!r}"
        return raw.decode().rstrip("\n")

    def ask(self, command: str | bytes) -> list[str]:
        raw = command if isinstance(command, bytes) else command.encode() + b"\n"
        self.sock.sendall(raw)
        lines = [self.line()]
        while lines[-1] != "OK" and not lines[-1].startswith("ERR"):
            lines.append(self.line())
        return lines

    def close(self) -> None:
        self.reader.close()
        self.sock.close()


@pytest.fixture
def control_path(tmp_path: Path) -> Path:
    return tmp_path / "echo.sock"


@pytest.fixture
def served(start_server: StartServer, control_path: Path) -> RunningServer:
    return start_server(control=str(control_path))


@pytest.fixture
def control(served: RunningServer, control_path: Path) -> Iterator[Control]:
    conn = Control(control_path)
    yield conn
    conn.close()


def test_the_socket_is_private_and_removed_at_shutdown(
    start_server: StartServer, control_path: Path
) -> None:
    running = start_server(control=str(control_path))
    assert stat.S_ISSOCK(control_path.lstat().st_mode)
    assert stat.S_IMODE(control_path.lstat().st_mode) == 0o600
    running.server.stop()
    assert not control_path.exists()


def test_list_and_stats_describe_the_clients(
    served: RunningServer, control: Control
) -> None:
    assert control.ask("LIST") == ["OK"]
    with served.connect() as client:
        client_id = served.next_client()
        client.sendall(b"12345")
        assert recv_exactly(client, 5) == b"12345"
        wait_until(lambda: "in=5 out=5" in control.ask("LIST")[0])
        line, ok = control.ask("list")  # commands are not case-sensitive
        port = client.getsockname()[1]
        assert line.startswith(f"id={client_id} peer=127.0.0.1:{port} state=open age=")
        head, _, fault = line.partition(" seq=")
        assert head.endswith(" in=5 out=5 pending=0 proto=tcp")
        seq, _, fault = fault.partition(" fault=")
        assert int(seq) >= 2  # at least its connect and its data event
        assert fault == "-"
        assert ok == "OK"
        stats, ok = control.ask("STATS")
    assert stats.startswith("clients=1 total=1 rejected=0 bytes_in=5 bytes_out=5")
    assert "pending=0 uptime=" in stats
    host, port = served.address
    assert stats.endswith(f" listening={host}:{port} fault=-")


def test_history_tells_the_clients_that_left_and_stats_when_it_started(
    served: RunningServer, control: Control
) -> None:
    """What an attached monitor starts from: the server's start and the clients
    that left before it came, each with its fault and its close reason."""
    before = time.time()
    with served.connect() as client:
        client_id = served.next_client()
        assert control.ask(f"FAULT {client_id} slice=4") == ["OK"]
        served.events.wait_for(FaultChanged, client=client_id)
        client.sendall(b"123456")
        assert recv_exactly(client, 6) == b"123456"
    served.events.wait_for(ClientClosed, client=client_id)
    with served.connect():
        kicked = served.next_client()
        assert control.ask(f"KICK {kicked}") == ["OK"]
        served.events.wait_for(ClientClosed, client=kicked)
    first, second, ok = control.ask("HISTORY")
    assert ok == "OK"
    assert first.startswith(f"id={client_id} peer=127.0.0.1:")
    fields = dict(word.split("=", 1) for word in first.partition(" reason=")[0].split())
    assert before - 1 < float(fields["connected"]) <= float(fields["closed"])
    assert float(fields["closed"]) <= time.time()
    assert (fields["in"], fields["out"], fields["discarded"]) == ("6", "6", "0")
    assert fields["fault"] == "slice=4"
    assert first.endswith(" reason=peer closed")
    assert second.startswith(f"id={kicked} ")
    assert second.endswith(" fault=- reason=kicked")
    stats = control.ask("STATS")[0]
    started = float(stats.partition(" started=")[2].split()[0])
    assert served.server.running
    assert before - 60 < started <= before


def test_kick_reset_and_fault_act_on_clients(
    served: RunningServer, control: Control
) -> None:
    with served.connect() as first, served.connect() as second:
        first_id, second_id = served.next_client(), served.next_client()
        assert control.ask(f"FAULT {first_id} delay=200ms") == ["OK"]
        served.events.wait_for(FaultChanged, client=first_id, fault="delay=200ms")
        assert "fault=delay=200ms" in control.ask("LIST")[0]
        assert control.ask(f"KICK {first_id}") == ["OK"]
        assert first.recv(10) == b""
        assert control.ask(f"RESET {second_id}") == ["OK"]
        with pytest.raises(ConnectionResetError):
            second.recv(10)
    assert control.ask("KICK 42") == ["ERR no client 42"]
    assert control.ask("RESET 42") == ["ERR no client 42"]
    assert control.ask("FAULT new slice=1") == ["OK"]
    served.events.wait_for(FaultChanged, client=None, fault="slice=1")


def test_kick_all_closes_every_client(served: RunningServer, control: Control) -> None:
    with served.connect() as first, served.connect() as second:
        served.next_client()
        served.next_client()
        assert control.ask("KICK all") == ["OK"]
        assert (first.recv(1), second.recv(1)) == (b"", b"")


@pytest.mark.parametrize(
    ("command", "error"),
    [
        ("FROB", "ERR unknown command 'FROB' (HELP lists the commands)"),
        ("", "ERR empty line (HELP lists the commands)"),
        ("KICK", "ERR usage: KICK ID | KICK all"),
        ("KICK x", "ERR not a client id: 'x'"),
        ("FAULT 1", "ERR usage: FAULT ID|all|new SPEC"),
        ("FAULT new delya=1s", "ERR unknown fault item 'delya=1s'"),
        ("INSPECT 1 maybe", "ERR usage: INSPECT ID on|off"),
        ("LIST everything", "ERR usage: LIST"),
    ],
)
def test_bad_commands_get_err(control: Control, command: str, error: str) -> None:
    assert control.ask(command)[0].startswith(error)
    assert control.ask("STATS")[-1] == "OK"  # the session goes on


def test_help_lists_the_commands(control: Control) -> None:
    reply = control.ask("HELP")
    assert reply[-1] == "OK"
    for command in ("LIST", "STATS", "KICK", "RESET", "FAULT", "EVENTS", "HELP"):
        assert any(line.startswith(command) for line in reply), command


def test_a_line_over_4_kib_and_binary_get_err_and_nothing_else(
    served: RunningServer, control: Control
) -> None:
    assert control.ask(b"LIST" + b" x" * 3000 + b"\n") == [
        "ERR line longer than 4096 bytes"
    ]
    assert control.ask(b"\xff\xfe\x00KICK all\n") == [
        "ERR not ASCII: commands are lines of ASCII text"
    ]
    assert control.ask("STATS")[-1] == "OK"


def test_a_flood_of_commands_is_answered_in_order(control: Control) -> None:
    control.sock.sendall(b"STATS\n" * 2000 + b"HELP\n")
    for _ in range(2000):
        assert control.line().startswith("clients=")
        assert control.line() == "OK"
    assert control.line().startswith("LIST")


def test_inspection_recent_bytes_activity_and_kernel(
    served: RunningServer, control: Control
) -> None:
    with served.connect() as client:
        client_id = served.next_client()
        assert control.ask(f"INSPECT {client_id} on") == ["OK"]
        wait_until(lambda: served.server.recent_bytes(client_id) is not None)
        client.sendall(b"\x1b[2Jhi")
        recv_exactly(client, 6)
        assert control.ask(f"RECENT {client_id}") == ["hex=1b5b324a6869", "OK"]
        assert control.ask(f"ACTIVITY {client_id}") == ["fault=-", "OK"]
        kernel = control.ask(f"KERNEL {client_id} 999")
        assert kernel[-1] == "OK"
        if len(kernel) == 2:  # Linux: one line for the client there is
            assert kernel[0].startswith(f"id={client_id} recvq=0 sendq=")
    assert control.ask("RECENT 999") == ["ERR no client 999"]


def test_events_stream_json_lines_with_a_running_seq(
    served: RunningServer, control: Control
) -> None:
    assert control.ask("EVENTS") == ["OK"]
    with served.connect() as client:
        client.sendall(b"hey")
        recv_exactly(client, 3)
    served.events.wait_for(ClientClosed)
    events = []
    while not events or events[-1]["event"] != "close":
        events.append(json.loads(control.line()))
    kinds = [e["event"] for e in events]
    assert kinds == ["connect", "data", "close"]
    seqs = [e["seq"] for e in events]
    assert seqs == list(range(seqs[0], seqs[0] + 3))
    assert seqs[0] > 1  # listening was 1
    assert events[1]["bytes"] == 3


def test_the_17th_control_connection_is_refused(
    served: RunningServer, control_path: Path
) -> None:
    sessions = [Control(control_path) for _ in range(MAX_SESSIONS)]
    try:
        for session in sessions:
            assert session.ask("STATS")[-1] == "OK"
        extra = Control(control_path)
        assert extra.line() == f"ERR too many control connections ({MAX_SESSIONS})"
        assert extra.reader.readline() == b""
        extra.close()
    finally:
        for session in sessions:
            session.close()


def test_a_session_silent_past_the_idle_limit_is_closed_saying_so(
    served: RunningServer, control: Control, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 16, finding 7: a session that sends nothing cannot hold its place
    forever (the limit is 5 minutes; here a fraction of a second)."""
    monkeypatch.setattr(socket_server, "IDLE_LIMIT", 0.3)
    assert control.ask("STATS")[-1] == "OK"
    control.sock.settimeout(DEADLINE)
    assert control.line() == "ERR closed: silent for 0.3 s"
    assert control.reader.readline() == b""


def test_a_newcomer_takes_the_place_of_the_session_silent_longest(
    served: RunningServer, control_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """All 16 places taken by silent sessions no longer lock everyone out: the
    one silent longest (5 s at least; here 0.2 s) gives its place up."""
    monkeypatch.setattr(socket_server, "EVICT_AFTER", 0.2)
    sessions = [Control(control_path) for _ in range(MAX_SESSIONS)]
    try:
        for session in sessions:
            assert session.ask("STATS")[-1] == "OK"
        talking = time.monotonic()
        for session in sessions[1:]:  # all but the first keep talking
            assert session.ask("STATS")[-1] == "OK"
        wait_until(lambda: time.monotonic() - talking > 0.25, message="silence")
        for session in sessions[1:]:
            assert session.ask("STATS")[-1] == "OK"
        newcomer = Control(control_path)
        assert newcomer.ask("STATS")[-1] == "OK"
        newcomer.close()
        evicted = sessions[0]
        evicted.sock.settimeout(DEADLINE)
        assert evicted.line() == "ERR closed: silent while another session waited"
        assert evicted.reader.readline() == b""
    finally:
        for session in sessions:
            session.close()


@pytest.mark.slow
def test_a_cut_off_reader_that_reads_late_still_gets_its_last_line(
    start_server: StartServer, control_path: Path
) -> None:
    """Issue 16, finding 7: a cut-off EVENTS reader that did not read within 5 s
    was closed without its "too slow" line; it keeps it for a minute now."""
    running = start_server(control=str(control_path))
    stuck = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stuck.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    stuck.connect(str(control_path))
    stuck.sendall(b"EVENTS\n")
    try:
        for _ in range(6000):  # some 2 MiB of events: the reader is cut off
            with running.connect() as client:
                client.sendall(b"x")
                recv_exactly(client, 1)
        cut_off = time.monotonic()
        wait_until(lambda: time.monotonic() - cut_off > 6, timeout=10, message="6 s")
        stuck.setblocking(True)
        stuck.settimeout(DEADLINE)
        received = b""
        while chunk := stuck.recv(65536):
            received += chunk
        assert received.rstrip(b"\n").rsplit(b"\n", 1)[-1].startswith(b"ERR too slow")
    finally:
        stuck.close()


def test_an_events_reader_that_never_reads_is_cut_off_and_echo_goes_on(
    start_server: StartServer, control_path: Path
) -> None:
    running = start_server(control=str(control_path))
    stuck = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stuck.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    stuck.connect(str(control_path))
    stuck.sendall(b"EVENTS\n")
    try:
        # Churn makes events; the stuck reader's backlog grows past the bound.
        started = time.monotonic()
        made = 0
        while made < 5000:
            with running.connect() as client:
                client.sendall(b"x" * 100)
                recv_exactly(client, 100)
            made += 1
            if made % 500 == 0 and stream_closed(stuck):
                break
        churn_rate = made / (time.monotonic() - started)
        assert churn_rate > 100, "the echo slowed down behind the stuck reader"
        stuck.setblocking(True)
        stuck.settimeout(DEADLINE)
        received = b""
        while chunk := stuck.recv(65536):
            received += chunk
        last = received.rstrip(b"\n").rsplit(b"\n", 1)[-1]
        assert last.startswith(b"ERR too slow: ")
        assert last.endswith(b"bytes of events unread; disconnected")
        assert len(received) < STREAM_BACKLOG * 4
    finally:
        stuck.close()


def stream_closed(sock: socket.socket) -> bool:
    """True once the server has given up on this reader: after what it holds,
    its stream ends (a peek sees the end only when nothing else waits)."""
    sock.setblocking(False)
    try:
        peeked = sock.recv(1, socket.MSG_PEEK)
    except BlockingIOError:
        return False
    return peeked == b""


def test_a_stale_socket_is_replaced(control_path: Path) -> None:
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(str(control_path))
    stale.close()  # the file stays, nobody listens: as after a crash
    server = EchoServer(ServerConfig(port=0, control=str(control_path))).start()
    try:
        control = Control(control_path)
        assert control.ask("STATS")[-1] == "OK"
        control.close()
    finally:
        server.stop()


@pytest.mark.parametrize("what", ["a file", "a live server"])
def test_another_file_or_a_live_server_is_never_touched(
    control_path: Path, what: str
) -> None:
    if what == "a file":
        control_path.write_text("precious")
        expected = f"{control_path} exists and is not a socket; not touching it"
        other = None
    else:
        other = EchoServer(ServerConfig(port=0, control=str(control_path))).start()
        expected = f"{control_path} is in use by a running server"
    try:
        server = EchoServer(ServerConfig(port=0, control=str(control_path)))
        with pytest.raises(ServerStartError) as caught:
            server.start()
        assert str(caught.value) == expected
        if other is None:
            assert control_path.read_text() == "precious"
    finally:
        if other is not None:
            other.stop()


def test_a_directory_others_may_write_to_is_refused(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(shared, 0o777)  # writable by all, not sticky
    server = EchoServer(ServerConfig(port=0, control=str(shared / "e.sock")))
    with pytest.raises(ServerStartError, match="writable by others"):
        server.start()
    os.chmod(shared, 0o1777)  # sticky, as /tmp: others cannot swap our file
    server = EchoServer(ServerConfig(port=0, control=str(shared / "e.sock")))
    server.start()
    server.stop()


def test_events_of_every_kind_reach_the_stream(
    served: RunningServer, control: Control
) -> None:
    control.ask("EVENTS")
    with served.connect():
        served.events.wait_for(ClientConnected)
    event = json.loads(control.line())
    assert (event["event"], event["client"]) == ("connect", 1)
