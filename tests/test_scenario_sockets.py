"""Scenarios carried out by a real server: what clients observe, what events say.

Timings have tight lower bounds (a step never fires early, a delay never echoes
early) and generous upper ones (a loaded machine is slow); the order of events is
what makes each case deterministic.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable

import pytest

from tests.helpers import RunningServer, recv_exactly, wait_until
from tui_echo.events import (
    ClientClosed,
    ClientConnected,
    Event,
    FaultChanged,
    ListenerChanged,
    ScenarioStep,
    ServerError,
)
from tui_echo.faults.scenario_file import parse_scenario

StartServer = Callable[..., RunningServer]
SLACK = 2.0


def started(start_server: StartServer, toml: str) -> RunningServer:
    return start_server(scenario=parse_scenario(toml))


def connected(running: RunningServer) -> tuple[socket.socket, int]:
    client = running.connect()
    client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    port = client.getsockname()[1]
    event = running.events.wait_for(
        ClientConnected, lambda e: e.peer.endswith(f":{port}")
    )
    return client, event.client


def timed_echo(client: socket.socket, data: bytes = b"ping") -> float:
    began = time.monotonic()
    client.sendall(data)
    assert recv_exactly(client, len(data)) == data
    return time.monotonic() - began


def index_of(events: list[Event], found: Event) -> int:
    return next(i for i, e in enumerate(events) if e is found)


def test_a_step_sets_new_clients_fault_at_its_time(start_server: StartServer) -> None:
    running = started(
        start_server,
        '[[step]]\nat = "0.5s"\ntarget = "new"\nfault = "delay=300ms"\n',
    )
    began = time.monotonic()
    before, before_id = connected(running)
    step = running.events.wait_for(ScenarioStep, step=1)
    assert time.monotonic() - began >= 0.5 - 0.01  # never early
    assert (step.clock, step.does) == (0.5, "set new to delay=300ms")
    changed = running.events.wait_for(FaultChanged, client=None)
    assert changed.fault == "delay=300ms"
    events = running.events.poll()
    connect = running.events.of(ClientConnected, client=before_id)[0]
    assert (
        index_of(events, connect) < index_of(events, step) < index_of(events, changed)
    )
    after, _ = connected(running)
    with before, after:
        assert timed_echo(before) < 0.3  # connected before the step: no fault
        assert 0.3 <= timed_echo(after) < 0.3 + SLACK


def test_the_start_event_follows_listening_and_names_the_first_step(
    start_server: StartServer,
) -> None:
    running = started(
        start_server,
        '[[step]]\nat = "30s"\ntarget = "all"\nfault = "stall"\n'
        '[[step]]\nat = "20s"\ntarget = "listener"\nfault = "drop"\n',
    )
    first = running.events.wait_for(ScenarioStep)
    assert running.events.poll()[1] is first  # right after `listening`
    assert (first.step, first.clock, first.does) == (0, 0.0, "")
    assert (first.next_at, first.next_does) == (20.0, "step 2, set listener to drop")


def test_a_step_after_connect_sets_that_client_and_is_cancelled_by_its_close(
    start_server: StartServer,
) -> None:
    running = started(
        start_server, '[[step]]\nafter_connect = "0.3s"\nfault = "delay=300ms"\n'
    )
    gone, gone_id = connected(running)
    gone.close()
    client, client_id = connected(running)
    with client:
        assert timed_echo(client) < 0.3  # not yet
        changed = running.events.wait_for(FaultChanged, client=client_id)
        connect = running.events.of(ClientConnected, client=client_id)[0]
        assert changed.fault == "delay=300ms"
        assert changed.ts - connect.ts >= 0.3 - 0.01
        assert 0.3 <= timed_echo(client) < 0.3 + SLACK
    # The first client closed before its step: nothing for it, not even an error.
    assert running.events.of(FaultChanged, client=gone_id) == []
    assert running.events.of(ServerError) == []
    assert running.events.of(ScenarioStep, step=1) == []  # per client: no clock


def test_a_client_step_takes_the_items_of_its_protocol(
    start_server: StartServer,
) -> None:
    """A SPEC with UDP's items: a TCP client takes the rest of it (as a default
    does), never an internal error; a step on a client id that cannot take it
    says so, naming the step."""
    running = started(
        start_server,
        '[[step]]\nafter_connect = "0.05s"\nfault = "delay=200ms,loss=5%"\n'
        '[[step]]\nafter_connect = "0.05s"\nfault = "duplicate=5%"\n',
    )
    client, client_id = connected(running)
    with client:
        changed = running.events.wait_for(FaultChanged, client=client_id)
        assert changed.fault == "delay=200ms"
        assert 0.2 <= timed_echo(client) < 0.2 + SLACK  # both steps are past
    assert running.events.of(ServerError) == []
    assert len(running.events.of(FaultChanged, client=client_id)) == 1


def test_a_step_a_client_cannot_take_is_an_error_naming_the_step(
    start_server: StartServer,
) -> None:
    running = started(
        start_server, '[[step]]\nat = "0.3s"\ntarget = 1\nfault = "loss=5%"\n'
    )
    client, client_id = connected(running)
    with client:
        assert client_id == 1
        error = running.events.wait_for(ServerError)
    assert error.message.startswith("scenario step 1: fault item 'loss'")
    assert "internal error" not in error.message


def test_a_step_repeats_every_so_often(start_server: StartServer) -> None:
    running = started(
        start_server,
        '[[step]]\nat = "0.1s"\nevery = "0.1s"\ntarget = "new"\nfault = "slice=1"\n',
    )
    began = time.monotonic()
    wait_until(lambda: len(running.events.of(ScenarioStep, step=1)) >= 4)
    assert time.monotonic() - began >= 0.4 - 0.01
    steps = running.events.of(ScenarioStep, step=1)
    assert [s.clock for s in steps[:4]] == pytest.approx([0.1, 0.2, 0.3, 0.4])
    assert [s.next_at for s in steps[:3]] == pytest.approx([0.2, 0.3, 0.4])
    assert len(running.events.of(FaultChanged, client=None)) >= 4


def test_a_step_after_connect_repeats_while_the_client_lives(
    start_server: StartServer,
) -> None:
    running = started(
        start_server,
        '[[step]]\nafter_connect = "0.05s"\nevery = "0.05s"\nfault = "slice=1"\n',
    )
    first, first_id = connected(running)
    wait_until(lambda: len(running.events.of(FaultChanged, client=first_id)) >= 3)
    first.close()
    running.events.wait_for(ClientClosed, client=first_id)
    second, second_id = connected(running)
    with second:
        closed_at = len(running.events.of(FaultChanged, client=first_id))
        wait_until(lambda: len(running.events.of(FaultChanged, client=second_id)) >= 3)
        # The first client's repeats ended with it.
        assert len(running.events.of(FaultChanged, client=first_id)) == closed_at
        assert running.events.of(ServerError) == []  # nor tried on a gone client


def test_a_step_on_a_missing_client_says_so(start_server: StartServer) -> None:
    running = started(
        start_server, '[[step]]\nat = "0.1s"\ntarget = 99\nfault = "stall"\n'
    )
    error = running.events.wait_for(ServerError)
    assert error.message == "scenario step 1: no client 99"


def test_a_listener_step_shuts_the_door_at_its_time(start_server: StartServer) -> None:
    running = started(
        start_server,
        '[[step]]\nat = "0.3s"\ntarget = "listener"\nfault = "refuse"\n'
        '[[step]]\nat = "0.6s"\ntarget = "listener"\nfault = "off"\n',
    )
    early, _ = connected(running)
    early.close()
    running.events.wait_for(ListenerChanged, fault="refuse")
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(running.address, timeout=2).close()
    running.events.wait_for(ListenerChanged, fault="off")
    late, _ = connected(running)
    late.close()


def test_a_server_without_a_scenario_publishes_no_scenario_event(
    start_server: StartServer,
) -> None:
    running = start_server()
    client, _ = connected(running)
    client.close()
    assert running.events.of(ScenarioStep) == []


def test_a_step_after_connect_is_a_udp_peers_too_with_its_items(
    start_server: StartServer,
) -> None:
    """A UDP peer is a client from its first datagram: its `after_connect` steps
    run, with the SPEC's items that mean something for UDP (not `slice`), and end
    when it is forgotten."""
    running = start_server(
        udp=True,
        scenario=parse_scenario(
            '[[step]]\nafter_connect = "0.05s"\nevery = "0.05s"\n'
            'fault = "delay=100ms,slice=1"\n'
        ),
    )
    with running.udp_socket() as first, running.udp_socket() as second:
        first.send(b"hello")
        assert first.recv(100) == b"hello"
        one = running.events.wait_for(ClientConnected, proto="udp").client
        # `slice` means nothing for UDP: the peer takes the rest of the SPEC.
        assert running.events.wait_for(FaultChanged, client=one).fault == "delay=100ms"
        running.kick(one)  # forgotten: its steps end with it
        settled = len(running.events.of(FaultChanged, client=one))
        second.send(b"next")
        assert second.recv(100) == b"next"
        two = running.events.wait_for(
            ClientConnected, lambda e: e.proto == "udp" and e.client != one
        ).client
        # Three of the second peer's repeats: a first one's would have come too.
        wait_until(lambda: len(running.events.of(FaultChanged, client=two)) >= 3)
        assert len(running.events.of(FaultChanged, client=one)) == settled
    assert running.events.of(ServerError) == []
