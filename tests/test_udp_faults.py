"""Faults on UDP peers, with real sockets and a seeded server: counts within
statistical bounds, order, sizes, delays; items refused for the wrong protocol."""

from __future__ import annotations

import random
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.helpers import DEADLINE, ask_control, wait_until
from tui_echo.engine.peers import Peer
from tui_echo.events import ClientConnected, FaultChanged
from tui_echo.faults import FaultSpec
from tui_echo.faults.datagram_stages import REORDER_WAIT, DatagramFaults
from tui_echo.pytest_plugin import EchoServerFixture

StartServer = Callable[..., EchoServerFixture]

BATCH = 50
"""Datagrams sent before waiting for the server to have read them: the kernel's
receive queue holds them all, so only the fault drops any."""


@pytest.fixture
def sock() -> Iterator[socket.socket]:
    made = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    made.settimeout(DEADLINE)
    yield made
    made.close()


def faulted(
    start_server: StartServer, sock: socket.socket, spec: str
) -> tuple[EchoServerFixture, Peer]:
    """A seeded server, and `sock` its first peer, with `spec` set on it."""
    server = start_server(udp=True, seed=7)
    sock.connect(server.udp_address)
    sock.send(b"first")
    assert sock.recv(100) == b"first"
    client = server.events.wait_for(ClientConnected).client
    server.set_fault(client, spec)
    server.events.wait_for(FaultChanged, client=client)
    loop = server.server._loop
    assert loop is not None
    peer = loop.peer(client)
    assert peer is not None
    return server, peer


def send_all(sock: socket.socket, peer: Peer, payloads: list[bytes]) -> list[bytes]:
    """Send the payloads in batches, each once the server read the one before and
    what came back was read; return every datagram that came back, in order."""
    got: list[bytes] = []
    wait_until(lambda: settled(peer))
    start, out_before = peer.datagrams_in, peer.datagrams_out
    for at in range(0, len(payloads), BATCH):
        batch = payloads[at : at + BATCH]
        for data in batch:
            sock.send(data)
        read = start + at + len(batch)
        wait_until(lambda read=read: peer.datagrams_in >= read)
        drain(sock, got)
    # Everything the server will send: what it sent, what waits (delays, 100 ms).
    wait_until(lambda: settled(peer))
    sock.settimeout(DEADLINE)
    while len(got) < peer.datagrams_out - out_before:
        got.append(sock.recv(70_000))
    return got


def settled(peer: Peer) -> bool:
    """Every datagram the peer sent went back, was dropped, or twice."""
    duplicated = 0 if peer.fault is None else peer.fault.duplicated
    return peer.datagrams_out + peer.dropped == peer.datagrams_in + duplicated


def drain(sock: socket.socket, got: list[bytes]) -> None:
    """Read what has come back so far, without waiting."""
    sock.settimeout(0)
    try:
        while True:
            got.append(sock.recv(70_000))
    except BlockingIOError:
        pass
    finally:
        sock.settimeout(DEADLINE)


def numbered(count: int) -> list[bytes]:
    return [f"{n:05}".encode() for n in range(count)]


def test_loss_drops_about_30_percent_of_1000_and_echoes_the_rest_once(
    start_server: StartServer, sock: socket.socket
) -> None:
    server, peer = faulted(start_server, sock, "loss=30%")
    sent = numbered(1000)
    got = send_all(sock, peer, sent)
    activity = server.server.fault_activity(peer.id)
    assert activity is not None
    # Binomial(1001, 0.3): mean 300, sd 14.5; 5 sd either way.
    assert 228 <= activity.dropped <= 372
    assert peer.dropped == activity.dropped
    assert len(set(got)) == len(got)  # none twice
    assert set(got) <= set(sent)
    assert len(got) + activity.dropped == 1000


def test_the_same_seed_drops_the_same_datagrams(
    start_server: StartServer,
) -> None:
    lost = []
    for _ in range(2):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as one:
            one.settimeout(DEADLINE)
            _, peer = faulted(start_server, one, "loss=50%")
            got = send_all(one, peer, numbered(200))
            lost.append(set(numbered(200)) - set(got))
    assert lost[0] == lost[1]
    assert 50 <= len(lost[0]) <= 150  # Binomial(200, 0.5): sd 7


def test_duplicate_sends_about_half_twice(
    start_server: StartServer, sock: socket.socket
) -> None:
    server, peer = faulted(start_server, sock, "duplicate=50%")
    sent = numbered(400)
    got = send_all(sock, peer, sent)
    activity = server.server.fault_activity(peer.id)
    assert activity is not None
    assert 150 <= activity.duplicated <= 250  # Binomial(401, 0.5): sd 10
    assert len(got) == 400 + activity.duplicated
    twice = {data for data in sent if got.count(data) == 2}
    assert all(got.count(data) in (1, 2) for data in sent)
    assert len(twice) == activity.duplicated


def test_reorder_sends_a_held_datagram_right_after_the_next_one(
    start_server: StartServer, sock: socket.socket
) -> None:
    server, peer = faulted(start_server, sock, "reorder=30%")
    sent = numbered(300)
    got = send_all(sock, peer, sent)
    assert sorted(got) == sent  # each once
    activity = server.server.fault_activity(peer.id)
    assert activity is not None
    inversions = [k for k in range(len(got) - 1) if got[k] > got[k + 1]]
    # Each held one comes right after the one that followed it.
    assert all(int(got[k]) == int(got[k + 1]) + 1 for k in inversions)
    assert len(inversions) == activity.reordered
    # 30% held, but not while one is held already: about 300 * 0.3 / 1.3.
    assert 40 <= activity.reordered <= 100


def test_a_held_datagram_goes_after_100ms_when_no_next_one_comes(
    start_server: StartServer, sock: socket.socket
) -> None:
    _, peer = faulted(start_server, sock, "reorder=100%")
    started = time.monotonic()
    sock.send(b"alone")  # held back; with no next one, it goes after 100 ms
    assert sock.recv(100) == b"alone"
    assert time.monotonic() - started >= REORDER_WAIT * 0.8
    assert peer.fault is not None
    assert peer.fault.reordered == 0


def test_truncate_cuts_datagrams_to_size(
    start_server: StartServer, sock: socket.socket
) -> None:
    server, peer = faulted(start_server, sock, "truncate=100")
    sent = [b"a" * 50, b"b" * 100, b"c" * 1000, b"d" * 65_507, b""]
    got = send_all(sock, peer, sent)
    assert [len(g) for g in got] == [50, 100, 100, 100, 0]
    activity = server.server.fault_activity(peer.id)
    assert activity is not None
    assert activity.truncated == 2


def test_delay_holds_each_datagram_and_jitter_keeps_order(
    start_server: StartServer, sock: socket.socket
) -> None:
    _, peer = faulted(start_server, sock, "delay=50ms,jitter=20ms:normal")
    sent = numbered(20)
    started = time.monotonic()
    sock.send(sent[0])
    assert sock.recv(100) == sent[0]
    assert time.monotonic() - started >= 0.05
    got = send_all(sock, peer, sent[1:])
    assert got == sent[1:]  # in order
    assert peer.fault is not None
    assert peer.fault.delayed == 20 * 5  # bytes


def test_rate_paces_datagrams(start_server: StartServer, sock: socket.socket) -> None:
    faulted(start_server, sock, "rate=20K")
    started = time.monotonic()
    for _ in range(10):
        sock.send(b"r" * 1000)
    for _ in range(10):
        assert sock.recv(2000) == b"r" * 1000
    # 10,000 bytes at 20,480 a second, the bucket starting empty: about 0.49 s.
    assert time.monotonic() - started >= 0.4


def test_items_that_mean_nothing_for_a_protocol_are_refused_naming_both(
    start_server: StartServer, sock: socket.socket, tmp_path: Path
) -> None:
    path = tmp_path / "echo.sock"
    server = start_server(udp=True, control=str(path))
    sock.connect(server.udp_address)
    sock.send(b"x")
    assert sock.recv(10) == b"x"
    peer = server.next_client()
    with pytest.raises(ValueError, match="'slice' means nothing for UDP"):
        server.set_fault(peer, "slice=10")
    assert ask_control(path, f"FAULT {peer} stall")[-1].startswith(
        "ERR fault item 'stall' means nothing for UDP"
    )
    with server.connect() as tcp:
        tcp_client = server.next_client()
        with pytest.raises(ValueError, match="'duplicate' means nothing for TCP"):
            server.set_fault(tcp_client, "duplicate=5%")
        assert ask_control(path, f"FAULT {tcp_client} loss=5%")[-1].startswith(
            "ERR fault item 'loss' means nothing for TCP"
        )
        tcp.close()


def test_a_default_gives_each_new_client_the_items_of_its_protocol(
    start_server: StartServer, sock: socket.socket
) -> None:
    server = start_server(udp=True)
    server.set_fault("new", "delay=10ms,slice=2,loss=0%")
    server.events.wait_for(FaultChanged)
    with server.connect() as tcp:
        tcp_client = server.next_client()
        said = server.events.wait_for(FaultChanged, client=tcp_client)
        assert said.fault == "delay=10ms,slice=2"
        sock.connect(server.udp_address)
        sock.send(b"x")
        assert sock.recv(10) == b"x"
        udp_peer = server.next_client()
        said = server.events.wait_for(FaultChanged, client=udp_peer)
        assert said.fault == "delay=10ms,loss=0%"
        tcp.close()


def test_datagram_faults_without_sockets_decide_from_the_seed() -> None:
    """The stage alone: the 100 ms rule and the token bucket, by the clock."""
    faults = DatagramFaults(FaultSpec.parse("reorder=100%"), 0.0, random.Random(1))
    faults.admit(b"a", 0.0)
    assert faults.ready(0.05) == []
    assert faults.deadline(0.05) == pytest.approx(REORDER_WAIT)
    assert faults.ready(REORDER_WAIT) == [b"a"]
    paced = DatagramFaults(FaultSpec.parse("rate=1000"), 0.0, random.Random(1))
    paced.admit(b"x" * 500, 0.0)
    assert paced.ready(0.0) == []
    assert paced.deadline(0.0) == pytest.approx(0.5)
    assert paced.ready(0.5) == [b"x" * 500]
    assert paced.held_bytes == 0
