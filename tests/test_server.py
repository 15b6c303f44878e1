"""The echo core against real sockets on 127.0.0.1, port 0."""

from __future__ import annotations

import contextlib
import random
import resource
import socket
import struct
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.helpers import (
    DEADLINE,
    RunningServer,
    echo_many,
    ipv6_loopback_works,
    open_client,
    recv_exactly,
    recv_until_eof,
    wait_until,
)
from tui_echo.engine.config import ServerConfig
from tui_echo.engine.feed import EventFeed
from tui_echo.events import (
    KERNEL_SUPPORTED,
    ClientClosed,
    ClientConnected,
    ClientData,
    FaultChanged,
    KernelStats,
    Listening,
    Rejected,
    ShutdownComplete,
)
from tui_echo.server import EchoServer, ServerStartError

MiB = 1024 * 1024


def send_in_thread(sock: socket.socket, data: bytes) -> threading.Thread:
    """Send `data` from a helper thread, so the test can read at the same time."""
    errors: list[BaseException] = []

    def run() -> None:
        try:
            sock.sendall(data)
        except BaseException as exc:  # reported by join_sender
            errors.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.errors = errors  # type: ignore[attr-defined]
    thread.start()
    return thread


def join_sender(thread: threading.Thread) -> None:
    thread.join(30)
    assert not thread.is_alive(), "the sender is stuck"
    assert not thread.errors, thread.errors  # type: ignore[attr-defined]


def fill_until_pending(
    running: RunningServer, sock: socket.socket, client: int
) -> None:
    """Send without reading until the server holds pending bytes for `client`."""
    sock.setblocking(False)
    chunk = bytes(256 * 1024)

    def pending() -> bool:
        with contextlib.suppress(BlockingIOError):
            while True:
                sock.send(chunk)
        data = running.events.of(ClientData, client=client)
        return any(e.pending > 0 for e in data)

    wait_until(pending, message=f"pending bytes for client {client}")


@pytest.fixture
def more_descriptors() -> Iterator[None]:
    """Raise RLIMIT_NOFILE to its hard limit for tests with many connections."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < 2200:
        pytest.skip(f"the hard descriptor limit ({hard}) is too low")
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    yield
    resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


# ---- echo -------------------------------------------------------------------


def test_small_message_is_echoed(echo_server: RunningServer) -> None:
    with echo_server.connect() as client:
        client.sendall(b"hello, echo\n")
        assert recv_exactly(client, 12) == b"hello, echo\n"


def test_listening_event_reports_the_real_port(echo_server: RunningServer) -> None:
    listening = echo_server.events.wait_for(Listening)
    assert listening.port == echo_server.address[1] != 0
    assert listening.host == "127.0.0.1"


def test_binary_data_with_nul_and_invalid_utf8_is_echoed_untouched(
    echo_server: RunningServer,
) -> None:
    payload = bytes(range(256)) * 64 + b"\x00\xff\xfe\xc3\x28\x00\x1b[2J"
    with echo_server.connect() as client:
        client.sendall(payload)
        assert recv_exactly(client, len(payload)) == payload


@pytest.mark.slow
def test_urgent_out_of_band_bytes_are_echoed_inline_in_order(
    echo_server: RunningServer,
) -> None:
    with echo_server.connect() as client:
        client.sendall(b"abc")
        assert recv_exactly(client, 3) == b"abc"
        client.send(b"!", socket.MSG_OOB)
        client.sendall(b"def")
        assert recv_exactly(client, 4) == b"!def"


def test_16_mib_of_random_bytes_sent_and_read_concurrently(
    echo_server: RunningServer,
) -> None:
    payload = random.Random(16).randbytes(16 * MiB)
    with echo_server.connect() as client:
        sender = send_in_thread(client, payload)
        assert recv_exactly(client, len(payload)) == payload
        join_sender(sender)


def test_200_concurrent_clients_each_get_their_own_bytes(
    echo_server: RunningServer,
) -> None:
    payloads = [f"client {i}:".encode() * (i + 1) for i in range(200)]
    assert echo_many(echo_server.address, payloads) == payloads


@pytest.mark.slow
@pytest.mark.usefixtures("more_descriptors")
def test_1000_concurrent_connections(echo_server: RunningServer) -> None:
    payloads = [i.to_bytes(4, "big") * 16 for i in range(1000)]
    assert echo_many(echo_server.address, payloads) == payloads
    wait_until(lambda: len(echo_server.events.of(ClientClosed)) == 1000)


def test_ipv6_loopback_peer_is_bracketed(
    start_server: Callable[..., RunningServer],
) -> None:
    if not ipv6_loopback_works():
        pytest.skip("no IPv6 loopback here: a plain socket cannot bind ::1")
    running = start_server(host="::1")  # ::1 exists: a bind failure is a bug
    with running.connect() as client:
        client.sendall(b"six")
        assert recv_exactly(client, 3) == b"six"
        connected = running.events.wait_for(ClientConnected)
    assert connected.peer.startswith("[::1]:")
    assert running.events.wait_for(Listening).host == "::1"


# ---- flow control -------------------------------------------------------------


@pytest.mark.slow
def test_half_close_sends_everything_pending_then_closes(
    start_server: Callable[..., RunningServer],
) -> None:
    # Far more than any kernel's socket buffers hold, so that at least 1 MiB is
    # still in the server's own buffer when the EOF arrives.
    running = start_server(max_buffer=32 * MiB)
    payload = random.Random(2).randbytes(24 * MiB)
    # A small receive window keeps most of the echo in the server's own buffer.
    with running.connect(rcvbuf=64 * 1024) as client:
        client.sendall(payload)
        client.shutdown(socket.SHUT_WR)
        half_closed = running.events.wait_for(
            ClientData, lambda e: e.state == "half-closed"
        )
        assert half_closed.pending >= MiB, "the scenario needs 1 MiB still pending"
        assert recv_until_eof(client) == payload
    closed = running.events.wait_for(ClientClosed)
    assert closed.reason == "peer closed"
    assert closed.bytes_in == closed.bytes_out == len(payload)
    assert closed.discarded == 0


@pytest.mark.slow
def test_slow_reader_is_paused_at_max_buffer_and_loses_nothing(
    start_server: Callable[..., RunningServer],
) -> None:
    max_buffer = MiB
    running = start_server(max_buffer=max_buffer)
    payload = random.Random(64).randbytes(64 * MiB)
    with running.connect(rcvbuf=64 * 1024) as client:
        sender = send_in_thread(client, payload)
        paused = running.events.wait_for(ClientData, lambda e: e.state == "paused")
        assert paused.pending >= max_buffer // 2
        # Only now start reading: every byte must come back, in order.
        assert recv_exactly(client, len(payload)) == payload
        join_sender(sender)
    running.events.wait_for(ClientClosed)
    data = running.events.of(ClientData)
    assert max(e.pending for e in data) <= max_buffer
    assert sum(e.bytes for e in data) == len(payload)


def test_reset_by_peer_mid_stream_closes_only_that_client(
    echo_server: RunningServer,
) -> None:
    with echo_server.connect() as bystander, echo_server.connect(rcvbuf=4096) as rude:
        fill_until_pending(echo_server, rude, client=2)
        rude.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        rude.close()
        closed = echo_server.events.wait_for(ClientClosed, client=2)
        assert closed.reason in {"reset by peer", "broken pipe"}
        bystander.sendall(b"still here")
        assert recv_exactly(bystander, 10) == b"still here"


# ---- kick and reset -------------------------------------------------------------


def test_kick_from_another_thread_sends_eof(echo_server: RunningServer) -> None:
    with echo_server.connect() as client:
        client.sendall(b"x")
        assert recv_exactly(client, 1) == b"x"
        connected = echo_server.events.wait_for(ClientConnected)
        kicker = threading.Thread(
            target=echo_server.server.kick, args=(connected.client,)
        )
        kicker.start()
        kicker.join()
        assert client.recv(10) == b""
    closed = echo_server.events.wait_for(ClientClosed)
    assert closed.reason == "kicked"
    assert closed.bytes_in == closed.bytes_out == 1


def test_kick_discards_and_counts_pending_bytes(echo_server: RunningServer) -> None:
    with echo_server.connect(rcvbuf=4096) as client:
        fill_until_pending(echo_server, client, client=1)
        echo_server.server.kick(1)
        closed = echo_server.events.wait_for(ClientClosed)
    assert closed.reason == "kicked"
    assert closed.discarded > 0
    assert closed.bytes_in == closed.bytes_out + closed.discarded


def test_reset_from_another_thread_sends_rst(echo_server: RunningServer) -> None:
    with echo_server.connect() as client:
        client.sendall(b"x")
        assert recv_exactly(client, 1) == b"x"
        connected = echo_server.events.wait_for(ClientConnected)
        threading.Thread(
            target=echo_server.server.reset, args=(connected.client,)
        ).start()
        with pytest.raises(ConnectionResetError):
            client.recv(10)
    assert echo_server.events.wait_for(ClientClosed).reason == "reset"


def test_kick_all_closes_every_client(echo_server: RunningServer) -> None:
    clients = [echo_server.connect() for _ in range(3)]
    try:
        wait_until(lambda: len(echo_server.events.of(ClientConnected)) == 3)
        echo_server.server.kick_all()
        for client in clients:
            assert client.recv(10) == b""
    finally:
        for client in clients:
            client.close()
    wait_until(lambda: len(echo_server.events.of(ClientClosed, reason="kicked")) == 3)
    kicked = {e.client for e in echo_server.events.of(ClientClosed, reason="kicked")}
    assert kicked == {e.client for e in echo_server.events.of(ClientConnected)}
    assert echo_server.server.client_count == 0


def test_kick_of_an_unknown_client_is_harmless(echo_server: RunningServer) -> None:
    echo_server.server.kick(999)
    echo_server.server.reset(999)
    with echo_server.connect() as client:
        client.sendall(b"ok")
        assert recv_exactly(client, 2) == b"ok"


def test_inspected_client_keeps_its_last_bytes(echo_server: RunningServer) -> None:
    with echo_server.connect() as client:
        client.sendall(b"a")
        recv_exactly(client, 1)
        assert echo_server.server.recent_bytes(1) is None, "not inspected yet"
        echo_server.server.inspect(1)
        wait_until(lambda: echo_server.server.recent_bytes(1) == b"")
        payload = bytes(range(256)) * 20
        client.sendall(payload)
        recv_exactly(client, len(payload))
        recent = wait_until(lambda: echo_server.server.recent_bytes(1))
        assert recent == payload[-4096:]
        echo_server.server.inspect(1, enabled=False)
        wait_until(lambda: echo_server.server.recent_bytes(1) is None)


# ---- limits -------------------------------------------------------------------------


def test_max_clients_rejects_the_extra_connection(
    start_server: Callable[..., RunningServer],
) -> None:
    running = start_server(max_clients=2)
    first, second = running.connect(), running.connect()
    try:
        wait_until(lambda: len(running.events.of(ClientConnected)) == 2)
        with running.connect() as third, contextlib.suppress(ConnectionResetError):
            assert third.recv(10) == b""  # EOF; a reset is also a refusal
        rejected = running.events.wait_for(Rejected)
        assert rejected.reason == "max clients (2) reached"
        assert rejected.peer.startswith("127.0.0.1:")
        for client in (first, second):
            client.sendall(b"served")
            assert recv_exactly(client, 6) == b"served"
    finally:
        first.close()
        second.close()


def test_idle_timeout_closes_a_silent_client(
    start_server: Callable[..., RunningServer],
) -> None:
    running = start_server(idle_timeout=0.3)
    with running.connect() as client:
        assert client.recv(10) == b""
    closed = running.events.wait_for(ClientClosed)
    assert closed.reason == "idle timeout"


def test_accept_pauses_while_the_consumer_is_backlogged(
    start_server: Callable[..., RunningServer],
) -> None:
    running = start_server(feed=EventFeed(backlog_limit=4))
    # The listening event and three connects reach the limit: the fourth client
    # waits in the kernel's backlog until the consumer drains.
    clients = [running.connect() for _ in range(5)]
    try:
        wait_until(lambda: running.server.client_count == 3)
        assert running.server.feed.backlogged
        running.events.poll()
        wait_until(lambda: running.server.client_count == 5)
        for client in clients:
            client.sendall(b"late")
            assert recv_exactly(client, 4) == b"late"
    finally:
        for client in clients:
            client.close()


# ---- events --------------------------------------------------------------------------


def test_events_come_in_order_with_exact_byte_totals(
    echo_server: RunningServer,
) -> None:
    with echo_server.connect() as client:
        for size in (1, 10, 100, 1000, 10000):
            client.sendall(b"z" * size)
            recv_exactly(client, size)
    closed = echo_server.events.wait_for(ClientClosed)
    kinds = [e.kind for e in echo_server.events.events if getattr(e, "client", 0) == 1]
    assert kinds[0] == "connect"
    assert kinds[-1] == "close"
    assert set(kinds[1:-1]) == {"data"}
    data = echo_server.events.of(ClientData)
    assert sum(e.bytes for e in data) == closed.bytes_in == 11111
    assert closed.bytes_out == 11111


@pytest.mark.slow
def test_100k_small_messages_are_coalesced_into_few_data_events(
    echo_server: RunningServer,
) -> None:
    message = b"0123456789"
    with echo_server.connect() as client:
        reader_total = [0]

        def read_all() -> None:
            while reader_total[0] < 100_000 * len(message):
                reader_total[0] += len(client.recv(1 << 20))

        reader = threading.Thread(target=read_all, daemon=True)
        reader.start()
        for _ in range(100_000):
            client.send(message)
        reader.join(60)
        assert reader_total[0] == 100_000 * len(message)
    closed = echo_server.events.wait_for(ClientClosed)
    data = echo_server.events.of(ClientData)
    assert closed.bytes_in == 1_000_000
    assert sum(e.bytes for e in data) == 1_000_000
    assert len(data) < 1000, f"{len(data)} data events for 100,000 messages"


def test_stop_closes_clients_frees_the_port_and_ends_with_shutdown() -> None:
    server = EchoServer(ServerConfig(port=0)).start()
    port = server.address[1]
    client = open_client(server.address)
    try:
        wait_until(lambda: server.client_count == 1)
        server.stop()
        server.stop()  # idempotent
        assert not server.running
        assert client.recv(10) == b""
    finally:
        client.close()
    events = server.feed.drain()
    assert isinstance(events[-1], ShutdownComplete)
    assert [e.reason for e in events if isinstance(e, ClientClosed)] == ["shutdown"]
    with socket.create_server(("127.0.0.1", port)):
        pass  # the port is free again


def test_start_fails_cleanly_when_the_port_is_taken() -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        server = EchoServer(ServerConfig(port=port))
        with pytest.raises(ServerStartError, match="address already in use"):
            server.start()
        server.stop()  # harmless after a failed start


def test_a_bound_server_refuses_clients_until_it_starts() -> None:
    server = EchoServer(ServerConfig(port=0)).bind()
    try:
        address = server.address
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(address, timeout=DEADLINE).close()
        assert server.feed.drain() == []  # not listening, so nothing to say yet
        server.start()
        assert server.address == address
        assert echo_many(address, [b"at last"]) == [b"at last"]
        assert isinstance(server.feed.drain()[0], Listening)
    finally:
        server.stop()


def test_a_bound_server_never_started_gives_back_its_port_and_control_socket(
    tmp_path: Path,
) -> None:
    path = tmp_path / "control.sock"
    server = EchoServer(ServerConfig(port=0, control=str(path))).bind()
    port = server.address[1]
    assert path.exists()
    server.stop()
    assert not path.exists()
    with socket.socket() as plain:  # no SO_REUSEADDR: a bound socket would clash
        plain.bind(("127.0.0.1", port))


def test_start_fails_cleanly_when_another_server_listens_there_since_bind(
    tmp_path: Path,
) -> None:
    path = tmp_path / "control.sock"
    server = EchoServer(ServerConfig(port=0, control=str(path))).bind()
    address = server.address
    with socket.socket() as other:  # binding beside a socket that does not listen
        other.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        other.bind(address)
        other.listen()
        with pytest.raises(ServerStartError, match="address already in use"):
            server.start()
    assert not server.running
    assert not path.exists()  # given back, as after any failed start
    with pytest.raises(RuntimeError, match="not started"):
        _ = server.address
    server.stop()  # harmless after a failed start
    with socket.socket() as plain:  # and the port is free
        plain.bind(address)


def test_a_loop_thread_that_cannot_start_is_a_clean_start_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def no_thread(self: threading.Thread) -> None:
        raise RuntimeError("can't start new thread")

    server = EchoServer(ServerConfig(port=0)).bind()
    address = server.address
    monkeypatch.setattr(threading.Thread, "start", no_thread)
    with pytest.raises(ServerStartError, match="cannot start the server: can't start"):
        server.start()
    monkeypatch.undo()
    assert not server.running
    with socket.socket() as plain:  # the port was given back
        plain.bind(address)


def test_start_fails_cleanly_for_an_unknown_host() -> None:
    server = EchoServer(ServerConfig(host="no-such-host.invalid", port=0))
    with pytest.raises(ServerStartError, match="cannot resolve host"):
        server.start()


def test_out_of_descriptors_pauses_accepting_then_recovers(tmp_path) -> None:
    """EMFILE must not spin the loop, must be reported, and must heal."""
    import subprocess
    import sys

    probe = tmp_path / "emfile_probe.py"
    probe.write_text(EMFILE_PROBE)
    result = subprocess.run(
        [sys.executable, str(probe)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "accept failed: too many open files" in result.stdout
    assert "recovered" in result.stdout


EMFILE_PROBE = r"""
import resource, socket, sys, time
from tui_echo.engine.config import ServerConfig
from tui_echo.events import ServerError
from tui_echo.server import EchoServer

hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
resource.setrlimit(resource.RLIMIT_NOFILE, (40, hard))
events = []
server = EchoServer(ServerConfig(port=0)).start()
clients = []
try:
    deadline = time.monotonic() + 20
    error = None
    while error is None:
        if time.monotonic() > deadline:
            sys.exit("no error event")
        try:
            clients.append(socket.create_connection(server.address, timeout=5))
        except OSError:
            pass  # the test process ran out of descriptors itself: wait for the event
        server.feed.wait(0.05)
        events += server.feed.drain()
        error = next((e for e in events if isinstance(e, ServerError)), None)
    print(error.message)
    # While out of descriptors the loop must not spin.
    cpu = time.process_time()
    wall = time.monotonic()
    while time.monotonic() - wall < 1.0:
        server.feed.wait(0.1)
        events += server.feed.drain()
    used = time.process_time() - cpu
    if used > 0.5:
        sys.exit(f"the loop spins: {used:.2f}s of CPU in 1s")
    # Free descriptors: the waiting connection is accepted and echoed.
    for sock in clients[:10]:
        sock.close()
    late = socket.create_connection(server.address, timeout=10)
    clients.append(late)
    late.sendall(b"late")
    late.settimeout(10)
    if late.recv(4) != b"late":
        sys.exit("no echo after recovery")
    print("recovered")
finally:
    for sock in clients:
        sock.close()
    server.stop()
"""


@pytest.mark.skipif(not KERNEL_SUPPORTED, reason="kernel queues are read on Linux")
def test_the_kernel_queues_show_where_a_slow_readers_bytes_wait(
    start_server: Callable[..., RunningServer],
) -> None:
    running = start_server(max_buffer=64 * 1024)
    with running.connect(rcvbuf=4096) as client:
        client_id = running.next_client()
        running.server.set_fault(client_id, "stall")
        running.events.wait_for(FaultChanged, client=client_id)
        client.sendall(b"q" * 2000)  # unread by the stalled server: RECV-Q
        server = running.server

        def sampled() -> KernelStats | None:
            server.watch_kernel([client_id, 999])  # 999: no such client, no sample
            stats = server.kernel_stats(client_id)
            return stats if stats is not None and stats.recv_q == 2000 else None

        stats = wait_until(sampled, message="a kernel sample with RECV-Q 2000")
        assert stats.send_q == 0
        assert stats.cwnd > 0
        assert server.kernel_stats(999) is None
