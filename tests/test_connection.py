"""One client's rules, as the loop calls them, without sockets."""

from __future__ import annotations

import errno
import random

from tui_echo.engine.connection import (
    BUDGET,
    CLOSE,
    ECHO,
    INTEREST,
    OVER_BUDGET_READ,
    RECV_SIZE,
    Connection,
)
from tui_echo.engine.limits import Limits
from tui_echo.engine.memory import MemoryBudget
from tui_echo.engine.poller import READ, WRITE
from tui_echo.events import ClientState
from tui_echo.states import CloseHow, error_reason
from tui_echo.words import format_address, format_peer

MAX = 64 * 1024


def make(max_buffer: int = MAX, budget: MemoryBudget | None = None) -> Connection:
    limits = Limits(
        max_buffer=max_buffer,
        budget=budget or MemoryBudget(1 << 30),
        rng=random.Random(),
    )
    return Connection(1, "127.0.0.1:5000", limits, now=0.0)


def view(size: int, fill: bytes = b"x") -> memoryview:
    return memoryview(fill * size)


def test_a_fresh_connection_reads_up_to_its_room() -> None:
    conn = make()
    assert conn.interest == READ
    assert conn.room == min(RECV_SIZE, MAX)
    assert conn.state is ClientState.OPEN


def test_with_nothing_pending_what_arrives_is_echoed_at_once() -> None:
    conn = make()
    data = view(100)
    assert conn.received(data, now=1.0) == ECHO  # counted as sent: one call
    assert (conn.bytes_in, conn.bytes_out, conn.pending) == (100, 100, 0)
    assert conn.last_received == 1.0


def test_a_partial_write_keeps_the_rest_and_watches_writability() -> None:
    conn = make()
    data = memoryview(b"abcdef")
    conn.received(data, now=0.0)
    assert conn.cut_short(data, 2) == INTEREST
    assert conn.bytes_out == 2
    assert conn.interest == READ | WRITE
    assert bytes(conn.outgoing()) == b"cdef"
    assert conn.room == MAX - 4


def test_bytes_arriving_while_others_wait_queue_behind_them() -> None:
    conn = make()
    first = memoryview(b"abc")
    conn.received(first, now=0.0)
    conn.cut_short(first, 0)
    assert conn.received(memoryview(b"def"), now=0.0) == 0  # no echo: they wait
    assert bytes(conn.outgoing()) == b"abcdef"
    assert conn.flushed(6, now=0.0) == INTEREST  # drained: back to reading only
    assert conn.interest == READ
    assert conn.pending == 0
    assert conn.bytes_out == 6


def test_reading_pauses_at_max_buffer_and_resumes_at_half() -> None:
    conn = make()
    data = view(MAX)
    conn.received(data, now=0.0)
    assert conn.cut_short(data, 0) == INTEREST
    assert conn.state is ClientState.PAUSED
    assert conn.interest == WRITE
    assert conn.room == 0
    assert conn.flushed(MAX // 2 - 1, now=0.0) == 0  # still above half: still paused
    assert conn.state is ClientState.PAUSED
    assert conn.flushed(1, now=0.0) == INTEREST
    assert conn.state is ClientState.OPEN
    assert conn.interest == READ | WRITE


def test_the_room_never_lets_pending_bytes_exceed_max_buffer() -> None:
    conn = make()
    first = view(MAX - 100)
    conn.received(first, now=0.0)
    conn.cut_short(first, 0)
    assert conn.room == 100
    conn.received(view(conn.room), now=0.0)
    assert conn.pending == MAX
    assert conn.interest & READ == 0


def test_eof_with_nothing_pending_closes_as_peer_closed() -> None:
    conn = make()
    assert conn.eof(now=0.0) == CLOSE
    assert conn.close_reason == "peer closed"
    assert conn.close_how is CloseHow.AS_IS


def test_eof_with_bytes_pending_echoes_them_first() -> None:
    conn = make()
    data = memoryview(b"tail")
    conn.received(data, now=0.0)
    conn.cut_short(data, 0)
    assert conn.eof(now=0.0) == INTEREST
    assert conn.state is ClientState.HALF_CLOSED
    assert conn.interest == WRITE  # nothing more is read
    assert conn.flushed(2, now=0.0) == 0
    assert conn.flushed(2, now=0.0) == CLOSE
    assert conn.close_reason == "peer closed"


def test_kick_closes_with_a_fin_and_counts_what_it_discards() -> None:
    conn = make()
    data = view(10)
    conn.received(data, now=0.0)
    conn.cut_short(data, 4)
    assert conn.kick() == CLOSE
    assert conn.close_how is CloseHow.FIN
    closed = conn.closed_event(ts=5.0)
    assert (closed.reason, closed.discarded, closed.bytes_in, closed.bytes_out) == (
        "kicked",
        6,
        10,
        4,
    )


def test_reset_closes_with_an_rst_and_shutdown_with_a_fin() -> None:
    conn = make()
    assert conn.reset() == CLOSE
    assert (conn.close_reason, conn.close_how) == ("reset", CloseHow.RST)
    other = make()
    assert other.shut_down() == CLOSE
    assert (other.close_reason, other.close_how) == ("shutdown", CloseHow.FIN)


def test_a_socket_error_closes_with_its_reason() -> None:
    conn = make()
    assert conn.failed(ConnectionResetError(errno.ECONNRESET, "x")) == CLOSE
    assert (conn.close_reason, conn.close_how) == ("reset by peer", CloseHow.AS_IS)


def test_idle_timeout_counts_from_the_last_read() -> None:
    conn = make()
    conn.received(view(1), now=10.0)
    assert conn.check_idle(now=14.9, idle_timeout=5.0) == 0
    assert conn.check_idle(now=15.0, idle_timeout=5.0) == CLOSE
    assert (conn.close_reason, conn.close_how) == ("idle timeout", CloseHow.FIN)


def test_data_events_carry_what_arrived_since_the_last_one() -> None:
    conn = make()
    conn.received(view(30), now=0.0)
    first = conn.take_data_event(ts=1.0)
    assert (first.bytes, first.bytes_in, first.state) == (30, 30, ClientState.OPEN)
    assert not conn.has_unreported_bytes
    conn.received(view(12), now=0.0)
    assert conn.has_unreported_bytes
    assert conn.take_data_event(ts=2.0).bytes == 12


def test_inspection_keeps_the_last_bytes_only_while_asked() -> None:
    conn = make()
    conn.received(view(10, b"i"), now=0.0)
    assert conn.recent is None
    conn.inspect(True)
    conn.received(view(4000, b"a"), now=0.0)
    conn.received(view(200, b"b"), now=0.0)
    assert conn.recent == b"a" * 3896 + b"b" * 200
    conn.inspect(False)
    assert conn.recent is None


def test_close_reasons_are_short_and_stable() -> None:
    assert error_reason(ConnectionResetError(errno.ECONNRESET, "x")) == "reset by peer"
    assert error_reason(BrokenPipeError(errno.EPIPE, "x")) == "broken pipe"
    assert error_reason(TimeoutError(errno.ETIMEDOUT, "x")) == "timed out"
    assert error_reason(OSError(errno.EIO, "Input/output error")) == (
        "input/output error"
    )


def test_addresses_are_formatted_as_the_spec_shows() -> None:
    assert format_peer(("127.0.0.1", 5000)) == "127.0.0.1:5000"
    assert format_peer(("::1", 5000, 0, 0)) == "[::1]:5000"
    assert format_address("::", 9000) == "[::]:9000"
    assert format_address("localhost", 9000) == "localhost:9000"


def pend(conn: Connection, size: int) -> int:
    """Let `size` bytes arrive for a client that reads none of its echo."""
    data = view(size)
    todo = conn.received(data, now=0.0)
    return conn.cut_short(data, 0) if todo == ECHO else todo


def test_past_max_memory_clients_with_bytes_pending_stop_reading() -> None:
    budget = MemoryBudget(100 * 1024)
    first, second, idle = (make(budget=budget) for _ in range(3))
    assert pend(first, 60 * 1024) == INTEREST  # under the budget: still reading
    assert first.interest == READ | WRITE
    assert pend(second, 50 * 1024) == INTEREST | BUDGET  # 110 KiB: over
    assert budget.over
    assert second.state is ClientState.PAUSED
    assert first.budget_changed(now=0.0) == INTEREST
    assert first.interest == WRITE
    assert first.state is ClientState.PAUSED
    # A client with nothing pending is still read, a little at a time.
    assert idle.budget_changed(now=0.0) == 0
    assert idle.interest == READ
    assert idle.room == OVER_BUDGET_READ


def test_the_budget_comes_back_when_a_client_drains_or_closes() -> None:
    budget = MemoryBudget(100 * 1024)
    first, second = make(budget=budget), make(budget=budget)
    pend(first, 60 * 1024)
    pend(second, 50 * 1024)
    first.budget_changed(now=0.0)
    assert first.flushed(8 * 1024, now=0.0) == 0  # 102 KiB: still over half of 100
    assert first.flushed(52 * 1024, now=0.0) == INTEREST | BUDGET  # 50 KiB: under half
    assert not budget.over
    assert second.budget_changed(now=0.0) == INTEREST  # its own buffer is not full
    assert second.state is ClientState.OPEN
    assert second.room == MAX - 50 * 1024
    assert second.kick() == CLOSE
    assert second.closed_event(ts=0.0).discarded == 50 * 1024
    second.discard()
    assert budget.pending == 0


def test_a_client_that_connects_while_over_budget_reads_a_little_at_a_time() -> None:
    budget = MemoryBudget(1024)
    budget.add(2048)
    assert budget.over
    assert make(budget=budget).room == OVER_BUDGET_READ


def test_every_burst_is_given_back_whatever_its_shape() -> None:
    """A return after a large release starts a new high-water mark from what is
    still pending; the rest of the burst, freed later in smaller steps, must be
    given back too (it was not: 20 MiB freed after a return never triggered one)."""
    mib = 1024 * 1024
    budget = MemoryBudget(1 << 30)
    budget.add(60 * mib)
    budget.add(-40 * mib)  # a large release mid-burst: given back at once
    assert budget.trim_due(now=10.0)
    budget.add(-20 * mib)  # the rest leaves, in a smaller step
    assert not budget.trim_due(now=10.5)  # at most once a second
    assert budget.trim_due(now=11.0)
    assert not budget.trim_due(now=12.0)  # nothing more freed since
    budget.add(3 * mib)  # a small burst, over
    budget.add(-3 * mib)
    assert budget.trim_due(now=13.0)


def test_a_burst_still_going_on_is_not_given_back_for_small_releases() -> None:
    mib = 1024 * 1024
    budget = MemoryBudget(1 << 30)
    budget.add(40 * mib)
    budget.add(-8 * mib)  # most of it still pending: trimming now would be wasted
    assert not budget.trim_due(now=5.0)
    budget.add(-25 * mib)  # down to a quarter of the peak: the burst is over
    assert budget.trim_due(now=5.0)
