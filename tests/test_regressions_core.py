"""Regressions a mutation check found unguarded (issue 21), on real sockets.

Each test pins a behaviour whose deliberate breaking went unnoticed before: fault
deadlines met to the millisecond, not at the 100 ms tick; `delay` as long as asked;
`KERNEL` answering one line of physical values; `stall` leaving the bytes in the
kernel's queue. They use only the public surface: `EchoServer`, `ServerConfig`,
`FaultSpec.parse` and the control socket's line protocol.
"""

from __future__ import annotations

import re
import socket
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.helpers import (
    RunningServer,
    ask_control,
    recv_exactly,
    wait_until,
)
from tui_echo.events import ClientConnected, FaultChanged
from tui_echo.faults import FaultSpec

StartServer = Callable[..., RunningServer]

LINUX = sys.platform.startswith("linux")

ECHOES = 9
"""Round trips whose median is compared with the delay: one late echo (a busy
machine) moves a median of nine by nothing."""
LATE = 0.012
"""Seconds past the delay the median may come: the 100 ms tick, or a delay
three times too long, are far beyond it."""

KERNEL_LINE = re.compile(
    r"id=(?P<id>\d+) recvq=(?P<recvq>\d+) sendq=(?P<sendq>\d+)"
    r" rtt_us=(?P<rtt>\d+) rttvar_us=(?P<rttvar>\d+) retrans=(?P<retrans>\d+)"
    r" cwnd=(?P<cwnd>\d+) lost=(?P<lost>\d+)"
)
SSTHRESH_UNSET = 0x7FFFFFFF
"""`TCP_INFO`'s snd_ssthresh before the first loss: what a misread cwnd shows."""


def client_of(running: RunningServer) -> tuple[socket.socket, int]:
    """A TCP_NODELAY client, and its id once the server has announced it."""
    client = running.connect()
    client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    port = client.getsockname()[1]
    event = running.events.wait_for(
        ClientConnected, lambda e: e.peer.endswith(f":{port}")
    )
    return client, event.client


def echo_latencies(client: socket.socket, count: int) -> list[float]:
    """Seconds each of `count` one-byte round trips took, one after the other."""
    took = []
    for index in range(count):
        byte = bytes([65 + index % 26])
        started = time.monotonic()
        client.sendall(byte)
        assert recv_exactly(client, 1) == byte
        took.append(time.monotonic() - started)
    return took


def kernel_fields(path: Path, client_id: int) -> dict[str, int]:
    """`KERNEL ID` on the control socket: exactly one line for the client, parsed."""
    reply = ask_control(path, f"KERNEL {client_id}")
    assert len(reply) == 2, f"KERNEL {client_id} should answer one line: {reply}"
    assert reply[1] == "OK"
    found = KERNEL_LINE.fullmatch(reply[0])
    assert found is not None, f"not a KERNEL line: {reply[0]!r}"
    fields = {name: int(value) for name, value in found.groupdict().items()}
    assert fields["id"] == client_id
    return fields


def list_fields(path: Path, client_id: int) -> dict[str, str]:
    """The `LIST` line of one client, as its `name=value` words."""
    reply = ask_control(path, "LIST")
    assert reply[-1] == "OK"
    for line in reply[:-1]:
        words = dict(word.split("=", 1) for word in line.split())
        if words.get("id") == str(client_id):
            return words
    pytest.fail(f"client {client_id} is not in LIST: {reply}")


def assert_physical(fields: dict[str, int], *, sent: int) -> None:
    """What the kernel says of a fresh loopback connection that moved `sent`
    bytes each way: queues within what moved, an RTT under a second, a
    congestion window in segments that is a window (not the unset ssthresh)."""
    assert 0 <= fields["recvq"] <= sent
    assert 0 <= fields["sendq"] <= sent
    assert 0 < fields["rtt"] < 1_000_000, "RTT in microseconds, under 1 s"
    assert 0 <= fields["rttvar"] < 1_000_000
    assert 0 <= fields["retrans"] < 100
    assert fields["cwnd"] != SSTHRESH_UNSET, "cwnd read from snd_ssthresh"
    assert 1 <= fields["cwnd"] <= 1000, "cwnd in segments: 10 at the start"
    assert 0 <= fields["lost"] <= fields["cwnd"]


# ---- fault deadlines ---------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("delay_ms", [20, 50])
def test_a_delay_is_met_to_a_few_milliseconds_not_at_the_tick(
    start_server: StartServer, delay_ms: int
) -> None:
    delay = delay_ms / 1000
    running = start_server(fault=FaultSpec.parse(f"delay={delay_ms}ms"))
    client, _ = client_of(running)
    with client:
        took = echo_latencies(client, ECHOES)
    median = statistics.median(took)
    assert min(took) >= delay, f"an echo came sooner than the delay: {took}"
    assert median < delay + LATE, (
        f"median echo {median * 1000:.1f} ms under delay={delay_ms}ms: {took}"
    )


@pytest.mark.slow
def test_a_delay_set_live_is_met_to_a_few_milliseconds(
    start_server: StartServer,
) -> None:
    running = start_server()
    client, client_id = client_of(running)
    with client:
        fast = statistics.median(echo_latencies(client, ECHOES))
        running.server.set_fault(client_id, "delay=30ms")
        running.events.wait_for(FaultChanged, client=client_id)
        took = echo_latencies(client, ECHOES)
    assert fast < 0.030
    assert 0.030 <= statistics.median(took) < 0.030 + LATE, took


# ---- the kernel's view -------------------------------------------------------


@pytest.mark.skipif(not LINUX, reason="KERNEL reads Linux's SIOCINQ and TCP_INFO")
def test_kernel_answers_one_line_of_physical_values_for_a_client(
    start_server: StartServer, tmp_path: Path
) -> None:
    path = tmp_path / "echo.sock"
    running = start_server(control=str(path))
    client, client_id = client_of(running)
    with client:
        client.sendall(b"hello kernel")
        assert recv_exactly(client, 12) == b"hello kernel"
        fields = kernel_fields(path, client_id)
        assert_physical(fields, sent=12)
        assert fields["recvq"] == 0, "the server read everything it echoed"
        assert ask_control(path, "KERNEL 999") == ["OK"], "no line for no client"


@pytest.mark.skipif(not LINUX, reason="TCP_INFO is read on Linux")
def test_tcp_info_of_a_fresh_loopback_connection_is_in_physical_ranges(
    echo_server: RunningServer,
) -> None:
    client, client_id = client_of(echo_server)
    with client:
        client.sendall(b"x")
        assert recv_exactly(client, 1) == b"x"
        server = echo_server.server

        def sampled() -> object:
            server.watch_kernel([client_id])
            return server.kernel_stats(client_id)

        stats = wait_until(sampled, message="a kernel sample of the client")
        server.watch_kernel([])
    assert_physical(
        {
            "recvq": stats.recv_q,
            "sendq": stats.send_q,
            "rtt": stats.rtt_us,
            "rttvar": stats.rttvar_us,
            "retrans": stats.retransmits,
            "cwnd": stats.cwnd,
            "lost": stats.lost,
        },
        sent=1,
    )


# ---- stall -------------------------------------------------------------------


@pytest.mark.skipif(not LINUX, reason="RECV-Q is read on Linux")
def test_stall_leaves_what_the_client_sent_in_the_kernels_queue(
    start_server: StartServer, tmp_path: Path
) -> None:
    path = tmp_path / "echo.sock"
    running = start_server(control=str(path), fault=FaultSpec.parse("stall"))
    sent = 48 * 1024  # fits the kernel's buffers: sendall returns, stalled or not
    client, client_id = client_of(running)
    with client:
        client.sendall(bytes(sent))

        def settled() -> dict[str, int] | None:
            """Every byte is either read by the server or waiting in RECV-Q."""
            read = int(list_fields(path, client_id)["in"])
            queued = kernel_fields(path, client_id)["recvq"]
            return {"read": read, "queued": queued} if read + queued == sent else None

        where = wait_until(settled, message="the sent bytes read or queued")
        assert where == {"read": 0, "queued": sent}, "a stalled client was read"
        assert list_fields(path, client_id)["out"] == "0"
        assert ask_control(path, f"FAULT {client_id} off") == ["OK"]
        assert recv_exactly(client, sent) == bytes(sent)
        assert kernel_fields(path, client_id)["recvq"] == 0
