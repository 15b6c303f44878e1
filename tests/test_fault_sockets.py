"""Every fault through real sockets: what the client observes, what events say.

Timings have generous upper bounds (a loaded CI machine is slow), tight lower ones
(a fault must never echo early).
"""

from __future__ import annotations

import itertools
import socket
import struct
import time
from collections.abc import Callable

import pytest

from tests.helpers import (
    DEADLINE,
    RunningServer,
    recv_exactly,
    recv_until_eof,
    wait_until,
)
from tui_echo.events import ClientClosed, ClientConnected, Event, FaultChanged
from tui_echo.faults import FaultActivity, FaultSpec

SLACK = 2.0
"""Seconds a loaded machine may add to any timing; lower bounds have none."""

StartServer = Callable[..., RunningServer]


def connected(running: RunningServer, **options: object) -> tuple[socket.socket, int]:
    """A client with TCP_NODELAY, and its id once the server has it."""
    client = running.connect()
    client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    port = client.getsockname()[1]
    event = running.events.wait_for(
        ClientConnected, lambda e: e.peer.endswith(f":{port}")
    )
    return client, event.client


def with_fault(running: RunningServer, spec: str) -> tuple[socket.socket, int]:
    client, client_id = connected(running)
    running.server.set_fault(client_id, spec)
    running.events.wait_for(
        FaultChanged, client=client_id, fault=str(FaultSpec.parse(spec))
    )
    return client, client_id


def timed_echo(client: socket.socket, data: bytes) -> float:
    started = time.monotonic()
    client.sendall(data)
    assert recv_exactly(client, len(data)) == data
    return time.monotonic() - started


def segments_received(sock: socket.socket) -> int:
    """`tcpi_segs_in` of Linux's TCP_INFO: segments this socket received."""
    info = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 256)
    return int(struct.unpack_from("I", info, 140)[0])


def closed(running: RunningServer, client_id: int) -> ClientClosed:
    return running.events.wait_for(ClientClosed, client=client_id)


def test_delay_echoes_no_sooner_than_asked(echo_server: RunningServer) -> None:
    client, client_id = with_fault(echo_server, "delay=300ms")
    with client:
        took = timed_echo(client, b"ping")
        assert 0.3 <= took < 0.3 + SLACK
        echo_server.server.set_fault(client_id, None)
        echo_server.events.wait_for(FaultChanged, client=client_id, fault="off")
        assert timed_echo(client, b"pong") < 0.3


def test_jitter_delays_each_byte_yet_keeps_the_order(
    start_server: StartServer,
) -> None:
    running = start_server(seed=42)
    client, _ = with_fault(running, "delay=20ms,jitter=80ms")
    with client:
        started = time.monotonic()
        for i in range(30):
            client.send(bytes([i]))
        assert recv_exactly(client, 30) == bytes(range(30))
        assert 0.02 <= time.monotonic() - started < 0.1 + SLACK


def test_rate_paces_the_echo(echo_server: RunningServer) -> None:
    client, _ = with_fault(echo_server, "rate=100K")
    with client:
        took = timed_echo(client, bytes(50 * 1024))
        assert 0.45 <= took < 0.5 + SLACK  # the bucket starts empty


def test_slice_sends_the_echo_in_separate_segments(echo_server: RunningServer) -> None:
    client, _ = with_fault(echo_server, "slice=100")
    with client:
        before = segments_received(client)
        timed_echo(client, bytes(1000))
        assert segments_received(client) - before >= 10
    plain, _ = connected(echo_server)
    with plain:
        before = segments_received(plain)
        timed_echo(plain, bytes(1000))
        assert segments_received(plain) - before < 10  # the control: one piece


def test_gap_spaces_the_pieces_the_client_reads(echo_server: RunningServer) -> None:
    client, _ = with_fault(echo_server, "slice=4,gap=100ms")
    with client:
        client.sendall(b"abcdefghijkl")
        pieces, times = [], []
        while sum(map(len, pieces)) < 12:
            pieces.append(client.recv(100))
            times.append(time.monotonic())
        assert pieces == [b"abcd", b"efgh", b"ijkl"]
        gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
        assert min(gaps) >= 0.09


def test_stall_stops_reading_until_it_is_cleared(echo_server: RunningServer) -> None:
    client, client_id = with_fault(echo_server, "stall")
    with client:
        client.setblocking(False)
        sent = 0
        chunk = bytes(65536)
        stuck_since = time.monotonic()
        while time.monotonic() - stuck_since < 0.3:  # until the kernel's buffers fill
            try:
                sent += client.send(chunk)
                stuck_since = time.monotonic()
            except BlockingIOError:
                pass
        assert sent < 64 * 1024 * 1024, "the server kept reading"
        client.setblocking(True)
        client.settimeout(DEADLINE)
        echo_server.server.set_fault(client_id, "off")
        assert len(recv_exactly(client, sent)) == sent


def test_blackhole_echoes_nothing_and_counts_it_discarded(
    echo_server: RunningServer,
) -> None:
    client, client_id = with_fault(echo_server, "blackhole")
    with client:
        client.sendall(b"x" * 100)
        wait_until(
            lambda: echo_server.server.fault_activity(client_id).discarded == 100
        )
        client.settimeout(0.2)
        with pytest.raises(TimeoutError):
            client.recv(100)
        echo_server.server.kick(client_id)
        event = closed(echo_server, client_id)
    assert (event.bytes_in, event.bytes_out, event.discarded) == (100, 0, 100)


def test_close_after_echoes_exactly_that_much_then_eof(
    echo_server: RunningServer,
) -> None:
    client, client_id = with_fault(echo_server, "close-after=1K")
    with client:
        client.sendall(b"z" * 3000)
        assert recv_until_eof(client) == b"z" * 1024
    event = closed(echo_server, client_id)
    assert event.reason == "close-after"
    assert event.bytes_out == 1024
    assert event.bytes_in == event.bytes_out + event.discarded


def test_reset_after_resets_once_that_much_arrived(echo_server: RunningServer) -> None:
    client, client_id = with_fault(echo_server, "reset-after=100")
    with client:
        assert timed_echo(client, b"a" * 50) < SLACK  # before the line: echoed
        client.sendall(b"b" * 60)
        with pytest.raises(ConnectionResetError):
            recv_until_eof(client)
    assert closed(echo_server, client_id).reason == "reset-after"


@pytest.mark.parametrize(
    ("spec", "reason", "ends"),
    [("close-in=300ms", "close-in", "eof"), ("reset-in=300ms", "reset-in", "rst")],
)
def test_close_in_and_reset_in_end_the_connection_on_time(
    echo_server: RunningServer, spec: str, reason: str, ends: str
) -> None:
    client, client_id = with_fault(echo_server, spec)
    with client:
        started = time.monotonic()
        if ends == "eof":
            assert client.recv(10) == b""
        else:
            with pytest.raises(ConnectionResetError):
                client.recv(10)
        assert 0.29 <= time.monotonic() - started < 0.3 + SLACK
    assert closed(echo_server, client_id).reason == reason


def test_all_sets_current_clients_and_new_sets_those_to_come(
    echo_server: RunningServer,
) -> None:
    first, first_id = connected(echo_server)
    echo_server.server.set_fault("all", "delay=300ms")
    echo_server.server.set_fault("new", "blackhole")
    echo_server.events.wait_for(FaultChanged, client=None, fault="blackhole")
    second, second_id = connected(echo_server)
    with first, second:
        assert timed_echo(first, b"slow") >= 0.3
        second.sendall(b"lost")
        wait_until(lambda: echo_server.server.fault_activity(second_id) is not None)
        wait_until(lambda: echo_server.server.fault_activity(second_id).discarded == 4)
    events = echo_server.events.of(FaultChanged)
    assert [(e.client, e.fault) for e in events] == [
        (first_id, "delay=300ms"),
        (None, "blackhole"),
    ]


def test_a_bad_spec_or_target_is_a_value_error(echo_server: RunningServer) -> None:
    with pytest.raises(ValueError, match="unknown fault item 'delya=1s'"):
        echo_server.server.set_fault(1, "delya=1s")
    with pytest.raises(ValueError, match="fault target must be"):
        echo_server.server.set_fault("everyone", "delay=1s")


def test_the_default_fault_reaches_new_clients_and_is_announced(
    start_server: StartServer,
) -> None:
    running = start_server(fault=FaultSpec.parse("delay=200ms"))
    announced = running.events.wait_for(FaultChanged)
    assert (announced.client, announced.fault) == (None, "delay=200ms")
    client, _ = connected(running)
    with client:
        assert timed_echo(client, b"late") >= 0.2


def test_timers_of_clients_gone_do_not_pile_up(echo_server: RunningServer) -> None:
    echo_server.server.set_fault("new", "close-in=1h")
    echo_server.events.wait_for(FaultChanged, client=None)
    for _ in range(1500):
        with echo_server.connect():
            pass
    echo_server.events.wait_for(ClientClosed, client=1500)
    loop = echo_server.server._loop
    assert loop is not None
    wait_until(lambda: len(loop._timers) < 1500, message="stale timers dropped")


def activity_when_announced(running: RunningServer) -> dict[int, object]:
    """What `fault_activity` says of each client at the moment its `fault` event is
    published (on the loop thread), from now on."""
    loop = running.server._loop
    assert loop is not None
    seen: dict[int, object] = {}

    def watching(publish: Callable[[Event], None]) -> Callable[[Event], None]:
        def publish_watched(event: Event) -> None:
            if isinstance(event, FaultChanged) and event.client is not None:
                seen[event.client] = running.server.fault_activity(event.client)
            publish(event)

        return publish_watched

    loop.publish = watching(loop.publish)  # type: ignore[method-assign]
    if loop.udp is not None:  # the UDP port was given the loop's publish
        loop.udp._publish = watching(loop.udp._publish)
    return seen


FRESH = FaultActivity(delayed=0, pieces=0, discarded=0)


@pytest.mark.parametrize("spec", ["delay=1s", "off"])
def test_a_fault_event_comes_once_the_fault_is_in_force(
    echo_server: RunningServer, spec: str
) -> None:
    """Who waits for the `fault` event may ask what the fault has done at once."""
    client, client_id = with_fault(echo_server, "blackhole")
    client.sendall(b"x" * 10)  # the old fault's activity: 10 bytes discarded
    activity = echo_server.server.fault_activity
    wait_until(lambda: (found := activity(client_id)) and found.discarded == 10)
    seen = activity_when_announced(echo_server)
    with client:
        echo_server.server.set_fault(client_id, spec)
        echo_server.events.wait_for(FaultChanged, client=client_id, fault=spec)
    assert seen == {client_id: FRESH if spec != "off" else None}


@pytest.mark.parametrize("udp", [False, True])
def test_a_drawn_default_fault_is_announced_once_in_force(
    start_server: Callable[..., RunningServer], udp: bool
) -> None:
    running = start_server(udp=udp)
    running.server.set_fault("new", "delay=1s,p=100%")
    running.events.wait_for(FaultChanged, client=None)
    seen = activity_when_announced(running)
    if udp:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.sendto(b"x", running.udp_address)
            client_id = running.events.wait_for(ClientConnected).client
            running.events.wait_for(FaultChanged, client=client_id)
    else:
        with running.connect():
            client_id = running.events.wait_for(ClientConnected).client
            running.events.wait_for(FaultChanged, client=client_id)
    assert list(seen) == [client_id]
    assert seen[client_id] is not None  # the fault was in force: it has activity
