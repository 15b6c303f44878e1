"""UDP echo (`--udp`) with real sockets on 127.0.0.1: boundaries, peers as rows,
idle and kick, reset refused, the peer limit, a flood, the command line."""

from __future__ import annotations

import resource
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.helpers import DEADLINE, Headless, ask_control, wait_until
from tests.pilot import running_monitor
from tui_echo.book import ClientBook
from tui_echo.book.seed import SeedClient, Snapshot, seed_book
from tui_echo.control.answers import parse_list, parse_stats
from tui_echo.control.client import BadAnswerError
from tui_echo.engine.config import ServerConfig
from tui_echo.engine.listener import ServerStartError
from tui_echo.engine.peers import Peer
from tui_echo.events import (
    ClientClosed,
    ClientConnected,
    ClientData,
    ClientState,
    Listening,
    json_line,
)
from tui_echo.events_parse import from_json_line
from tui_echo.faults import FaultSpec
from tui_echo.pytest_plugin import EchoServerFixture
from tui_echo.server import EchoServer

StartServer = Callable[..., EchoServerFixture]

pytest_plugins = ["pytester"]


def udp_client(address: tuple[str, int], timeout: float = DEADLINE) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.settimeout(timeout)
    sock.connect(address)
    return sock


@pytest.fixture
def clients() -> Iterator[list[socket.socket]]:
    made: list[socket.socket] = []
    yield made
    for sock in made:
        sock.close()


def peer_of(server: EchoServerFixture, client_id: int) -> Peer:
    loop = server.server._loop
    assert loop is not None
    peer = loop.peer(client_id)
    assert peer is not None
    return peer


def test_each_datagram_comes_back_whole_with_its_boundaries_kept(
    start_server: StartServer, clients: list[socket.socket]
) -> None:
    server = start_server(udp=True)
    sock = udp_client(server.udp_address)
    clients.append(sock)
    sizes = [0, 1, 1472, 65_507]
    sent = [bytes((size + i) % 256 for i in range(size)) for size in sizes]
    for data in sent:  # back to back: the echoes must not run together
        sock.send(data)
    assert [sock.recv(70_000) for _ in sizes] == sent
    # ... and from the server's own address and port, the one it listens on
    sock2 = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    clients.append(sock2)
    sock2.settimeout(DEADLINE)
    sock2.sendto(b"where from", server.udp_address)
    data, source = sock2.recvfrom(100)
    assert (data, source) == (b"where from", server.udp_address)


def test_a_peer_is_a_client_with_proto_udp_and_datagram_counts(
    start_server: StartServer, clients: list[socket.socket], tmp_path: Path
) -> None:
    path = tmp_path / "echo.sock"
    server = start_server(udp=True, control=str(path))
    listening = server.events.wait_for(Listening)
    assert listening.udp_port == listening.port == server.address[1]
    sock = udp_client(server.udp_address)
    clients.append(sock)
    for _ in range(3):
        sock.send(b"hello")
        assert sock.recv(100) == b"hello"
    connect = server.events.wait_for(ClientConnected)
    assert connect.proto == "udp"
    assert connect.peer == f"127.0.0.1:{sock.getsockname()[1]}"
    data = server.events.wait_for(
        ClientData, lambda e: e.datagrams_out == 3, client=connect.client
    )
    assert (data.bytes_in, data.bytes_out, data.datagrams_in, data.dropped) == (
        15,
        15,
        3,
        0,
    )
    # The JSON form carries them, and reads back the same (to the microsecond).
    for event in (data, connect):
        event.ts = round(event.ts, 6)
        assert from_json_line(json_line(event)) == event
    # LIST and STATS say so, and attach's strict parsing reads them.
    (line, _) = ask_control(path, "LIST")
    listed = parse_list(line)
    assert (listed.proto, listed.datagrams_in, listed.datagrams_out) == ("udp", 3, 3)
    stats = parse_stats(ask_control(path, "STATS")[0])
    assert (stats.clients, stats.untracked, stats.bytes_in) == (1, 0, 15)


def test_many_peers_each_get_their_own_echoes(
    start_server: StartServer, clients: list[socket.socket]
) -> None:
    server = start_server(udp=True)
    socks = [udp_client(server.udp_address) for _ in range(50)]
    clients.extend(socks)
    for round_ in range(3):
        for index, sock in enumerate(socks):
            sock.send(f"{index}:{round_}".encode())
        for index, sock in enumerate(socks):
            assert sock.recv(100) == f"{index}:{round_}".encode()
    wait_until(lambda: server.server.client_count == 0 and len(peers(server)) == 50)


def peers(server: EchoServerFixture) -> dict[int, Peer]:
    loop = server.server._loop
    assert loop is not None
    assert loop.udp is not None
    return loop.udp.peers.by_id


def test_a_silent_peer_is_forgotten_after_the_idle_timeout_with_reason_idle(
    start_server: StartServer, clients: list[socket.socket]
) -> None:
    server = start_server(udp=True, idle_timeout=0.3)
    sock = udp_client(server.udp_address)
    clients.append(sock)
    started = time.monotonic()
    sock.send(b"x")
    assert sock.recv(10) == b"x"
    peer = server.next_client()
    closed = server.events.wait_for(ClientClosed, client=peer)
    assert closed.reason == "idle"
    assert time.monotonic() - started >= 0.3
    # The next datagram makes a new peer (a new id).
    sock.send(b"y")
    assert sock.recv(10) == b"y"
    assert server.next_client() > peer


def test_kick_forgets_a_peer_and_reset_is_refused_naming_udp(
    start_server: StartServer, clients: list[socket.socket], tmp_path: Path
) -> None:
    path = tmp_path / "echo.sock"
    server = start_server(udp=True, control=str(path))
    sock = udp_client(server.udp_address)
    clients.append(sock)
    sock.send(b"x")
    assert sock.recv(10) == b"x"
    peer = server.next_client()
    with pytest.raises(ValueError, match="reset does not apply to UDP"):
        server.server.reset(peer)
    reply = ask_control(path, f"RESET {peer}")
    assert reply[-1].startswith("ERR reset does not apply to UDP")
    assert server.kick(peer).reason == "forgotten"


def test_max_clients_counts_peers_and_echoes_the_rest_untracked(
    start_server: StartServer, clients: list[socket.socket], tmp_path: Path
) -> None:
    path = tmp_path / "echo.sock"
    server = start_server(udp=True, max_clients=2, control=str(path))
    socks = [udp_client(server.udp_address) for _ in range(5)]
    clients.extend(socks)
    for sock in socks:
        sock.send(b"ping")
        assert sock.recv(10) == b"ping"  # echoed, tracked or not
    stats = parse_stats(ask_control(path, "STATS")[0])
    assert (stats.clients, stats.untracked) == (2, 3)
    assert len(server.events.of(ClientConnected)) == 2
    # The peers fill the limit for TCP too.
    with server.connect() as tcp:
        tcp.settimeout(DEADLINE)
        assert tcp.recv(10) == b""


def test_a_flood_from_10000_source_ports_keeps_the_peer_table_and_memory_bounded(
    start_server: StartServer,
) -> None:
    server = start_server(udp=True, max_clients=100)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    sent = 0
    for _ in range(100):  # 100 at a time (the server's receive buffer holds
        # them all): 10,000 source ports in all
        batch = [udp_client(server.udp_address) for _ in range(100)]
        try:
            for sock in batch:
                sock.send(b"flood")
            for sock in batch:  # each echoed: nothing lost in the kernel's queue
                assert sock.recv(10) == b"flood"
            sent += len(batch)
        finally:
            for sock in batch:
                sock.close()
    assert sent == 10_000
    assert len(peers(server)) == 100
    loop = server.server._loop
    assert loop is not None
    # (The system may give a port again: its datagram is its peer's then.)
    tracked = sum(peer.datagrams_in for peer in peers(server).values())
    assert loop.totals().untracked == 10_000 - tracked
    assert tracked < 1_000
    grown_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    assert grown_kib < 32 * 1024, f"RSS grew by {grown_kib} KiB"


def test_delayed_datagrams_are_bounded_by_max_buffer_and_counted_dropped(
    start_server: StartServer, clients: list[socket.socket]
) -> None:
    server = start_server(
        udp=True, max_buffer=4096, fault=FaultSpec.parse("delay=300ms")
    )
    sock = udp_client(server.udp_address)
    clients.append(sock)
    for index in range(10):
        sock.send(bytes([index]) * 1000)
    echoes = [sock.recv(2000) for _ in range(4)]
    assert echoes == [bytes([index]) * 1000 for index in range(4)]
    data = server.events.wait_for(ClientData, lambda e: (e.dropped or 0) >= 6)
    assert (data.datagrams_in, data.dropped) == (10, 6)
    sock.settimeout(0.5)
    with pytest.raises(TimeoutError):
        sock.recv(2000)


def test_the_command_line_echoes_udp_on_the_tcp_port_and_logs_the_peer() -> None:
    with Headless("--udp") as proc:
        line = proc.line_matching("listening")
        assert "UDP on the same port" in line
        port = int(line.split(":")[-1].split()[0])
        with udp_client(("127.0.0.1", port)) as sock:
            sock.send(b"over udp")
            assert sock.recv(100) == b"over udp"
            connect = proc.line_matching("connect")
            assert connect.endswith(f"127.0.0.1:{sock.getsockname()[1]} udp")
        with socket.create_connection(("127.0.0.1", port), timeout=DEADLINE) as tcp:
            tcp.sendall(b"over tcp")
            assert tcp.recv(100) == b"over tcp"
        code, stderr = proc.finish()
        assert (code, stderr) == (0, "")


def test_an_attached_monitor_starts_from_list_with_proto_and_datagrams() -> None:
    line = (
        "id=4 peer=127.0.0.1:5000 state=open age=1.0 idle=0.5 in=10 out=10"
        " pending=0 proto=udp datagrams_in=2 datagrams_out=2 dropped=0 seq=9"
        " fault=loss=10%"
    )
    listed = parse_list(line)
    book = ClientBook(clock=lambda: 100.0)
    seed_book(
        book,
        Snapshot(
            host="127.0.0.1",
            port=5000,
            started_at=90.0,
            default_fault=None,
            clients_now=1,
            clients_total=4,
            rejected=0,
            bytes_in=10,
            bytes_out=10,
            seq=9,
            taken_at=100.0,
            clients=[
                SeedClient(
                    id=listed.id,
                    peer=listed.peer,
                    state=ClientState.OPEN,
                    connected_at=99.0,
                    last_active=99.5,
                    bytes_in=10,
                    bytes_out=10,
                    pending=0,
                    fault=listed.fault,
                    seq=listed.seq,
                    proto=listed.proto,
                    datagrams_in=listed.datagrams_in,
                    datagrams_out=listed.datagrams_out,
                    dropped=listed.dropped,
                )
            ],
        ),
    )
    record = book.clients[4]
    assert (record.proto, record.datagrams_in, record.fault) == ("udp", 2, "loss=10%")
    # A server older than UDP: no proto, a TCP client.
    assert parse_list(line.replace(" proto=udp", "")).proto == "tcp"
    with pytest.raises(BadAnswerError, match="proto"):
        parse_list(line.replace("proto=udp", "proto=sctp"))


def test_replay_folds_a_udp_peer_and_old_logs_still_read_as_tcp() -> None:
    old = '{"event":"connect","ts":1.0,"client":1,"peer":"127.0.0.1:5"}'
    assert from_json_line(old) == ClientConnected(client=1, peer="127.0.0.1:5", ts=1.0)
    book = ClientBook(clock=lambda: 3.0)
    book.apply(from_json_line(old.replace("}", ',"proto":"udp"}')))
    book.apply(
        from_json_line(
            '{"event":"data","ts":2.0,"client":1,"bytes":5,"bytes_in":5,'
            '"bytes_out":10,"pending":0,"state":"open","datagrams_in":1,'
            '"datagrams_out":2,"dropped":0}'
        )
    )
    record = book.clients[1]
    assert (record.udp, record.datagrams_in, record.datagrams_out) == (True, 1, 2)
    with pytest.raises(ValueError, match="proto"):
        from_json_line(old.replace("}", ',"proto":"sctp"}'))
    with pytest.raises(ValueError, match="datagrams_in"):
        from_json_line(
            '{"event":"data","ts":2.0,"client":1,"bytes":5,"bytes_in":5,'
            '"bytes_out":10,"pending":0,"state":"open","datagrams_in":-1}'
        )


async def test_the_monitor_marks_a_udp_row_and_refuses_its_reset() -> None:
    async with running_monitor(size=(80, 24), udp=True) as monitor:
        sock = udp_client(monitor.server.address)
        monitor.clients.append(sock)
        sock.send(b"x")
        assert sock.recv(10) == b"x"
        row = await monitor.row_showing(1, "/udp")
        assert f":{sock.getsockname()[1]}/udp" in row
        await monitor.pilot.press("r")
        await monitor.until(
            lambda: any(
                "reset does not apply to UDP" in str(n.message)
                for n in monitor.app._notifications
            ),
            "the refusal",
        )
        assert "forgotten" not in monitor.row_text(1)
        await monitor.pilot.press("k")
        await monitor.row_showing(1, "forgotten")


def test_the_pytest_plugin_starts_a_udp_echo(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.echo_server(udp=True)
        def test_udp(echo_server):
            with echo_server.udp_socket() as sock:
                sock.send(b"hi")
                assert sock.recv(10) == b"hi"
            assert echo_server.udp_address == echo_server.address

        def test_no_udp(echo_server):
            with pytest.raises(RuntimeError, match="no UDP"):
                echo_server.udp_address
        """
    )
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\n")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)


def udp_taken_tcp_free() -> socket.socket:
    """A UDP socket bound to a port whose TCP twin is free (a UDP port the kernel
    picks may be some TCP connection's local port: then TCP, not UDP, would fail)."""
    for _ in range(50):
        with socket.socket() as tcp:
            tcp.bind(("127.0.0.1", 0))
            taken = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            try:
                taken.bind(tcp.getsockname())
            except OSError:
                taken.close()
                continue
            return taken  # the TCP twin is let go unconnected: free at once
    raise AssertionError("no port free for TCP and UDP at once")


def test_a_udp_only_server_port_in_use_is_one_clear_error() -> None:
    taken = udp_taken_tcp_free()
    try:
        port = taken.getsockname()[1]
        with pytest.raises(ServerStartError, match="cannot listen for UDP"):
            EchoServer(ServerConfig(port=port, udp=True)).start()
    finally:
        taken.close()
