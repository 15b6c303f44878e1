"""Listener faults through real sockets: what a connecting client sees under
`refuse`, `drop` and `accept-delay`, `for=` running out, and shutdown in each state.

Timings have generous upper bounds (a loaded machine is slow) and tight lower ones
(a delayed accept must never come early).
"""

from __future__ import annotations

import contextlib
import errno
import socket
import statistics
import time
from collections.abc import Callable, Iterator

import pytest

from tests.helpers import DEADLINE, RunningServer, recv_exactly, wait_until
from tui_echo.engine.door import HELD_AT_MOST
from tui_echo.events import ClientConnected, ListenerChanged, Rejected
from tui_echo.faults.listener import ListenerFault

StartServer = Callable[..., RunningServer]

SLACK = 2.0
"""Seconds a loaded machine may add to any timing; lower bounds have none."""


def echo_once(address: tuple[str, int], data: bytes = b"ping") -> None:
    with socket.create_connection(address, timeout=DEADLINE) as client:
        client.sendall(data)
        assert recv_exactly(client, len(data)) == data


def connect_errno(address: tuple[str, int], timeout: float = DEADLINE) -> int:
    """What a connect() to `address` ends with (0: connected)."""
    with socket.socket() as client:
        client.settimeout(timeout)
        return client.connect_ex(address)


def plain_bind_fails(address: tuple[str, int]) -> bool:
    """Whether a socket without SO_REUSEADDR cannot bind `address` (it is taken)."""
    with socket.socket() as other:
        try:
            other.bind(address)
        except OSError as exc:
            failed = exc.errno
        else:
            return False
    assert failed == errno.EADDRINUSE
    return True


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# ---- refuse ------------------------------------------------------------------------


@pytest.mark.parametrize("port", ["0", "given"])
def test_refuse_refuses_connects_fast_keeps_the_port_and_off_listens_again(
    start_server: StartServer, port: str
) -> None:
    running = start_server(port=0 if port == "0" else free_port())
    address = running.address
    echo_once(address)
    running.set_listener_fault("refuse")
    took = []
    for _ in range(20):
        started = time.perf_counter()
        assert connect_errno(address) == errno.ECONNREFUSED
        took.append(time.perf_counter() - started)
    print(
        f"\nrefused in median {statistics.median(took) * 1e3:.3f} ms,"
        f" max {max(took) * 1e3:.3f} ms"
    )
    assert statistics.median(took) < 0.05
    assert plain_bind_fails(address), "the port was given up under refuse"
    running.set_listener_fault("off")
    echo_once(address)


def test_refuse_leaves_the_loop_idle(start_server: StartServer) -> None:
    """A socket that no longer listens reports a hang-up to the poller forever: the
    door takes it off the poller, so the loop does not spin while refused."""
    running = start_server()
    running.set_listener_fault("refuse")
    cpu, wall = time.process_time(), time.monotonic()
    wait_until(lambda: time.monotonic() - wall >= 0.5, message="half a second")
    used = time.process_time() - cpu
    # The waiting above polls every 5 ms; a spinning loop takes a whole core.
    assert used < 0.25, f"{used:.3f}s of CPU in 0.5s while refused"
    running.set_listener_fault(None)
    echo_once(running.address)


def test_connections_waiting_when_refuse_begins_are_served(
    start_server: StartServer,
) -> None:
    running = start_server()
    running.set_listener_fault("drop")
    waiting = socket.create_connection(running.address, timeout=DEADLINE)
    with waiting:
        running.set_listener_fault("refuse")
        waiting.sendall(b"still here")
        assert recv_exactly(waiting, 10) == b"still here"


# ---- drop --------------------------------------------------------------------------


def test_drop_lets_connects_time_out_and_off_serves_those_waiting(
    start_server: StartServer,
) -> None:
    running = start_server()
    address = running.address
    running.set_listener_fault("drop")
    completed: list[socket.socket] = []
    with contextlib.ExitStack() as stack:
        # Fill the small backlog: the kernel completes a connect or two, then none.
        for _ in range(8):
            client = stack.enter_context(socket.socket())
            client.settimeout(0.5)
            if client.connect_ex(address) != 0:
                break
            completed.append(client)
        else:
            pytest.fail("eight connects completed under drop")
        assert 1 <= len(completed) <= 3
        started = time.monotonic()
        assert connect_errno(address, timeout=0.5) in (errno.EAGAIN, errno.ETIMEDOUT)
        assert time.monotonic() - started >= 0.5
        assert not running.events.of(ClientConnected), "a connection was taken"
        # One more in flight: its SYN goes unanswered until the door opens.
        pending = stack.enter_context(socket.socket())
        pending.setblocking(False)
        assert pending.connect_ex(address) == errno.EINPROGRESS
        running.set_listener_fault("off")
        for client in completed:
            client.settimeout(DEADLINE)
            client.sendall(b"late")
            assert recv_exactly(client, 4) == b"late"
        # The kernel retransmits the SYN (after about a second) and it completes.
        pending.settimeout(DEADLINE)
        wait_until(
            lambda: (
                pending.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0
                and _connected(pending)
            ),
            message="the pending connect",
        )
        pending.sendall(b"at last")
        assert recv_exactly(pending, 7) == b"at last"


def _connected(sock: socket.socket) -> bool:
    try:
        sock.getpeername()
    except OSError:
        return False
    return True


# ---- accept-delay ------------------------------------------------------------------


def test_accept_delay_takes_each_connection_that_late(
    start_server: StartServer,
) -> None:
    running = start_server()
    running.set_listener_fault("accept-delay=200ms")
    lates = []
    for _ in range(10):
        started = time.monotonic()
        with socket.create_connection(running.address, timeout=DEADLINE) as client:
            connected_in = time.monotonic() - started
            assert connected_in < 0.1, "connect() waited for the server"
            client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            client.sendall(b"x")
            assert recv_exactly(client, 1) == b"x"
            lates.append(time.monotonic() - started)
    print(
        f"\nfirst echo after {min(lates) * 1e3:.2f}..{max(lates) * 1e3:.2f} ms,"
        f" median {statistics.median(lates) * 1e3:.2f} ms (accept-delay=200ms)"
    )
    assert min(lates) >= 0.2
    assert statistics.median(lates) < 0.2 + 0.05
    assert max(lates) < 0.2 + SLACK


def test_accept_delay_publishes_connect_only_when_the_client_is_taken(
    start_server: StartServer,
) -> None:
    running = start_server()
    running.set_listener_fault("accept-delay=300ms")
    started = time.time()
    with socket.create_connection(running.address, timeout=DEADLINE):
        event = running.events.wait_for(ClientConnected)
    assert event.ts - started >= 0.3 - 0.01


def test_held_connections_count_against_max_clients(
    start_server: StartServer,
) -> None:
    running = start_server(max_clients=1)
    running.set_listener_fault("accept-delay=300ms")
    with socket.create_connection(running.address, timeout=DEADLINE) as first:
        with socket.create_connection(running.address, timeout=DEADLINE) as second:
            rejected = running.events.wait_for(Rejected)
            assert "max clients (1)" in rejected.reason
            assert second.recv(1) == b""
        assert not running.events.of(ClientConnected)
        first.sendall(b"ok")
        assert recv_exactly(first, 2) == b"ok"


def test_leaving_accept_delay_lets_the_held_ones_in_at_once(
    start_server: StartServer,
) -> None:
    running = start_server()
    running.set_listener_fault("accept-delay=1m")
    with socket.create_connection(running.address, timeout=DEADLINE) as client:
        client.sendall(b"now")
        running.set_listener_fault("off")
        assert recv_exactly(client, 3) == b"now"


def test_the_hold_is_bounded() -> None:
    assert 0 < HELD_AT_MOST <= 4096


# ---- for= and events ---------------------------------------------------------------


def test_for_returns_to_off_by_itself_with_the_event(start_server: StartServer) -> None:
    running = start_server()
    set_at = time.monotonic()
    event = running.set_listener_fault("refuse,for=300ms")
    assert event.fault == "refuse,for=300ms"
    assert connect_errno(running.address) == errno.ECONNREFUSED
    running.events.wait_for(ListenerChanged, fault="off")
    assert time.monotonic() - set_at >= 0.3
    echo_once(running.address)


def test_a_listener_fault_from_the_start_follows_listening(
    start_server: StartServer,
) -> None:
    running = start_server(listener_fault=ListenerFault("refuse"))
    kinds = [e.kind for e in running.events.poll()]
    assert kinds[:2] == ["listening", "listener"]
    assert running.events.of(ListenerChanged)[0].fault == "refuse"
    assert connect_errno(running.address) == errno.ECONNREFUSED


# ---- shutdown ----------------------------------------------------------------------


@pytest.fixture
def stopped_in() -> Iterator[Callable[[str], tuple[RunningServer, tuple[str, int]]]]:
    from tui_echo.engine.config import ServerConfig
    from tui_echo.server import EchoServer

    servers: list[EchoServer] = []

    def run(fault: str) -> tuple[RunningServer, tuple[str, int]]:
        server = EchoServer(ServerConfig(port=0)).start()
        servers.append(server)
        running = RunningServer(server)
        running.set_listener_fault(fault)
        return running, running.address

    yield run
    for server in servers:
        server.stop()


@pytest.mark.parametrize("fault", ["refuse", "drop", "accept-delay=1m"])
def test_shutdown_in_any_state_closes_everything_and_frees_the_port(
    stopped_in: Callable[[str], tuple[RunningServer, tuple[str, int]]], fault: str
) -> None:
    running, address = stopped_in(fault)
    held = None
    if fault.startswith("accept-delay"):
        held = socket.create_connection(address, timeout=DEADLINE)
    running.server.stop()
    assert not running.server.running
    if held is not None:
        with held, contextlib.suppress(ConnectionResetError):
            assert held.recv(1) == b""
    with socket.socket() as again:
        again.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        again.bind(address)
        again.listen()
