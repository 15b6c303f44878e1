"""`Connection` and its fault stages to the exact byte and second (issue 21's
mutation check): counters over more than one call, the events' every field, the
memory budget at a close, and each stage at its edges (counted from when the fault
was set, next to other stages, replacing another fault). No sockets: `mutmut` runs
these on `engine/connection.py` and `faults/` (benchmarks/MUTATION.md).
"""

from __future__ import annotations

import random

import pytest

from tests.helpers import fire_timer, receive, send_all
from tui_echo.engine.connection import (
    BUDGET,
    CLOSE,
    ECHO,
    INTEREST,
    SEND,
    WAKE,
    Connection,
)
from tui_echo.engine.limits import Limits
from tui_echo.engine.memory import MemoryBudget
from tui_echo.engine.poller import READ, WRITE
from tui_echo.events import ClientClosed, ClientData, ClientState
from tui_echo.faults import FaultActivity, FaultSpec
from tui_echo.states import CloseHow


def make(
    max_buffer: int = 1 << 20, budget: MemoryBudget | None = None, now: float = 0.0
) -> Connection:
    limits = Limits(
        max_buffer=max_buffer,
        budget=budget if budget is not None else MemoryBudget(1 << 30),
        rng=random.Random(1),
    )
    return Connection(7, "127.0.0.1:5007", limits, now=now)


def with_fault(
    spec: str, now: float = 0.0, conn: Connection | None = None
) -> Connection:
    conn = conn if conn is not None else make(now=now)
    conn.set_fault(FaultSpec.parse(spec), now)
    return conn


def arrive(conn: Connection, data: bytes, now: float) -> int:
    return receive(conn, data, now)


def echo_plain(conn: Connection, data: bytes, now: float = 0.0) -> None:
    """`data` through the fast path (no fault, nothing pending)."""
    assert arrive(conn, data, now) == ECHO


def pending_plain(conn: Connection, data: bytes, now: float = 0.0) -> None:
    """`data` arrives and its echo is not taken at all: all of it pending."""
    assert arrive(conn, data, now) == ECHO
    conn.cut_short(memoryview(data), 0)


def activity(conn: Connection) -> FaultActivity:
    found = conn.fault_activity()
    assert found is not None
    return found


# ---- a connection's own counters and events -------------------------------------


def test_a_fresh_connection_is_open_reads_and_waits_for_nothing() -> None:
    conn = make(now=2.5)
    assert (conn.id, conn.peer, conn.connected_at) == (7, "127.0.0.1:5007", 2.5)
    assert conn.full is False
    assert conn.paused is False
    assert conn.eof_seen is False
    assert conn.close_reason is None, "the loop writes only while this is None"
    assert conn.close_how is CloseHow.AS_IS
    assert conn.deadline is None
    assert conn.fault_activity() is None
    assert conn.check_idle(now=4.0, idle_timeout=2.0) == 0
    assert conn.check_idle(now=4.5, idle_timeout=2.0) == CLOSE


def test_counters_add_up_over_many_reads_and_sends() -> None:
    conn = make()
    echo_plain(conn, b"abc")
    echo_plain(conn, b"defg")
    assert (conn.bytes_in, conn.bytes_out) == (7, 7)
    pending_plain(conn, b"hijkl")
    conn.flushed(2, now=0.0)
    conn.flushed(3, now=0.0)
    assert (conn.bytes_in, conn.bytes_out, conn.pending) == (12, 12, 0)


def test_the_data_event_says_every_counter_and_what_came_since_the_last() -> None:
    conn = make()
    echo_plain(conn, b"abc")
    pending_plain(conn, b"defgh")
    conn.flushed(1, now=0.0)
    assert conn.take_data_event(ts=3.5) == ClientData(
        client=7,
        bytes=8,
        bytes_in=8,
        bytes_out=4,
        pending=4,
        state=ClientState.OPEN,
        ts=3.5,
    )
    assert conn.take_data_event(ts=4.0).bytes == 0


def test_the_close_event_says_every_counter_and_a_reason() -> None:
    conn = make()
    echo_plain(conn, b"abc")
    pending_plain(conn, b"defgh")
    assert conn.closed_event(ts=1.5) == ClientClosed(
        client=7, reason="closed", bytes_in=8, bytes_out=3, discarded=5, ts=1.5
    )
    conn.kick()
    assert conn.closed_event(ts=2.0).reason == "kicked"


def test_an_internal_error_closes_as_the_socket_is_and_says_so() -> None:
    conn = make()
    assert conn.broke(ValueError("oops")) == CLOSE
    assert conn.close_reason == "internal error: ValueError('oops')"
    assert conn.close_how is CloseHow.AS_IS


def test_a_timer_without_a_fault_does_nothing_and_forgets_the_deadline() -> None:
    conn = make()
    assert conn.timer(now=1.0) == 0
    assert conn.deadline is None


def test_inspecting_keeps_the_bytes_from_then_on() -> None:
    conn = make()
    echo_plain(conn, b"before")
    conn.inspect(True)
    echo_plain(conn, b"ab")
    echo_plain(conn, b"cd")
    assert conn.recent == b"abcd"
    conn.inspect(False)
    assert conn.recent is None


def test_a_close_gives_its_pending_bytes_back_to_the_budget_once() -> None:
    budget = MemoryBudget(1024)
    conn = make(budget=budget)
    pending_plain(conn, bytes(2000))
    assert budget.over
    assert conn.discard() == BUDGET  # back under: every client must hear of it
    assert conn.pending == 0
    assert budget.pending == 0
    assert conn.discard() == 0, "nothing more to give back"
    assert budget.pending == 0
    small = make(budget=budget)
    pending_plain(small, bytes(10))
    assert small.discard() == 0  # the budget did not cross a line
    assert budget.pending == 0


def test_over_the_budget_even_one_pending_byte_stops_reading() -> None:
    budget = MemoryBudget(1024)
    big, one = make(budget=budget), make(budget=budget)
    pending_plain(big, bytes(2000))
    assert budget.over
    pending_plain(one, b"x")
    assert one.paused
    assert one.state is ClientState.PAUSED
    assert not one.interest & READ


# ---- faults: counting from when the fault was set ---------------------------------


def test_reset_after_counts_what_arrived_since_the_fault_was_set() -> None:
    conn = make()
    echo_plain(conn, bytes(100))
    with_fault("reset-after=10", conn=conn)
    assert arrive(conn, bytes(5), now=0.0) != CLOSE
    assert arrive(conn, bytes(5), now=0.0) == CLOSE, "exactly SIZE received: RST"
    assert (conn.close_reason, conn.close_how) == ("reset-after", CloseHow.RST)


def test_close_after_counts_what_was_echoed_since_the_fault_was_set() -> None:
    conn = make()
    echo_plain(conn, bytes(100))
    with_fault("close-after=10", conn=conn)
    arrive(conn, b"abcde", now=0.0)
    assert conn.pending == 5
    assert send_all(conn, now=0.0) == [b"abcde"]
    assert conn.close_reason is None, "5 of 10 echoed: not yet"
    arrive(conn, b"fghijklm", now=0.0)
    assert conn.pending == 5, "room for 5 more; 3 thrown away"
    assert activity(conn).discarded == 3
    assert send_all(conn, now=0.0) == [b"fghij"]
    assert conn.close_reason == "close-after"


def test_close_after_throws_away_everything_once_full() -> None:
    conn = with_fault("close-after=3")
    arrive(conn, b"abc", now=0.0)
    arrive(conn, b"de", now=0.0)
    assert conn.pending == 3
    assert activity(conn).discarded == 2


def test_close_after_after_a_short_send_sends_only_the_rest() -> None:
    conn = make()
    pending_plain(conn, b"0123456789")  # waiting before the fault was set
    with_fault("close-after=3", conn=conn)
    assert bytes(conn.outgoing()) == b"012"
    conn.flushed(1, now=0.0)  # the socket took one byte
    assert conn.close_reason is None
    assert bytes(conn.outgoing()) == b"12"
    conn.flushed(2, now=0.0)
    assert conn.close_reason == "close-after"


@pytest.mark.parametrize(
    ("spec", "closes"),
    [
        ("close-after=0", "close-after"),
        ("close-after=1", None),
        ("close-after=5", None),
        ("reset-after=0", "reset-after"),
        ("reset-after=5", None),
    ],
)
def test_only_a_zero_size_closes_as_the_fault_is_set(
    spec: str, closes: str | None
) -> None:
    conn = make()
    todo = conn.set_fault(FaultSpec.parse(spec), 0.0)
    assert bool(todo & CLOSE) == (closes is not None)
    assert conn.close_reason == closes


def test_what_faults_throw_away_adds_up_over_reads_and_the_reset() -> None:
    conn = with_fault("blackhole,reset-after=10")
    arrive(conn, bytes(6), now=0.0)
    arrive(conn, bytes(3), now=0.0)
    assert activity(conn).discarded == 9
    assert arrive(conn, bytes(6), now=0.0) == CLOSE
    assert activity(conn) == FaultActivity(delayed=0, pieces=0, discarded=15)
    assert conn.closed_event(ts=0.0).discarded == 15


# ---- faults: holding bytes back -----------------------------------------------------


def test_delayed_bytes_are_pending_until_sent_and_dropped_at_close() -> None:
    conn = with_fault("delay=1s")
    arrive(conn, b"ab", now=0.0)
    arrive(conn, b"cde", now=0.1)
    assert conn.pending == 5
    fire_timer(conn, now=1.05)
    assert conn.pending == 5
    assert send_all(conn, now=1.05) == [b"ab"]
    assert conn.pending == 3
    conn.discard()
    assert conn.pending == 0


def test_released_bytes_are_sent_at_once_without_asking_the_poller() -> None:
    conn = with_fault("delay=1s")
    arrive(conn, b"abc", now=0.0)
    assert conn.interest == READ
    assert conn.timer(now=1.0) == SEND
    assert bytes(conn.outgoing()) == b"abc"
    assert conn.flushed(3, now=1.0) == 0  # all went: nothing for the poller
    assert (conn.interest, conn.pending, conn.deadline) == (READ, 0, None)


def test_released_bytes_a_send_did_not_take_wait_for_the_poller() -> None:
    conn = with_fault("delay=1s")
    arrive(conn, b"abc", now=0.0)
    arrive(conn, b"de", now=0.5)
    assert conn.timer(now=1.0) == SEND
    assert conn.flushed(1, now=1.0) == INTEREST | WAKE  # "bc" left, "de" at 1.5
    assert conn.interest == READ | WRITE
    assert bytes(conn.outgoing()) == b"bc"
    assert conn.deadline == pytest.approx(1.5)


def test_a_timer_sends_nothing_itself_to_a_full_socket_or_under_pacing() -> None:
    full = make()
    pending_plain(full, b"xy")  # the socket took none of it: `WRITE` watched
    with_fault("delay=1s", conn=full)
    arrive(full, b"abc", now=0.0)
    assert full.timer(now=1.0) == 0  # the poller says when the socket has room
    assert bytes(full.outgoing()) == b"xyabc"
    paced = with_fault("rate=1")  # a byte a second, the bucket empty at first
    assert not paced.received(memoryview(b"abc"), now=0.0) & SEND
    assert not paced.timer(now=0.5) & SEND  # half a byte earned: not yet
    assert paced.timer(now=1.0) == SEND  # one byte earned: it may go


def test_bytes_a_fault_lets_through_are_sent_at_once_the_rest_via_the_poller() -> None:
    conn = with_fault("slice=2")
    assert conn.received(memoryview(b"abcde"), now=0.0) == SEND
    assert bytes(conn.outgoing()) == b"ab"
    assert conn.flushed(2, now=0.0) == INTEREST  # the next pieces: when writable
    assert conn.interest == READ | WRITE
    assert send_all(conn, now=0.0) == [b"cd", b"e"]


@pytest.mark.parametrize("spec", ["slice=4", "close-in=1h", "reset-in=1h,slice=9"])
def test_bytes_a_fault_does_nothing_to_go_back_by_the_fast_path(spec: str) -> None:
    conn = with_fault(spec)
    assert conn.received(memoryview(b"abc"), now=0.0) == ECHO
    assert conn.received(memoryview(b"abcd"), now=0.0) == ECHO
    assert (conn.bytes_out, conn.pending, conn.interest) == (7, 0, READ)
    sliced = "slice" in spec
    assert activity(conn) == FaultActivity(0, pieces=2 if sliced else 0, discarded=0)


def test_bytes_a_slice_cannot_take_whole_are_cut_as_before() -> None:
    conn = with_fault("slice=4")
    assert conn.received(memoryview(b"abcde"), now=0.0) == SEND
    assert conn.bytes_out == 0


def test_a_fast_path_send_under_a_slice_that_took_nothing_was_no_piece() -> None:
    conn = with_fault("slice=4")
    data = memoryview(b"abc")
    assert conn.received(data, now=0.0) == ECHO
    conn.cut_short(data, 0)
    assert activity(conn).pieces == 0
    assert send_all(conn, now=0.0) == [b"abc"]
    assert activity(conn) == FaultActivity(delayed=0, pieces=1, discarded=0)


@pytest.mark.parametrize(
    "spec",
    [
        "delay=1s",
        "jitter=1ms",
        "rate=1000",
        "gap=1s",
        "close-after=100",
        "reset-after=100",
        "corrupt=1/10",
        "blackhole",
        "slice=2",
    ],
)
def test_bytes_a_fault_acts_on_never_take_the_fast_path(spec: str) -> None:
    conn = with_fault(f"{spec},close-in=1h")
    assert conn.received(memoryview(b"abc"), now=0.0) != ECHO


def test_bytes_a_replaced_delay_let_go_keep_the_next_ones_behind() -> None:
    conn = with_fault("delay=10s")
    arrive(conn, b"old", now=0.0)
    conn.set_fault(FaultSpec.parse("slice=100"), now=1.0)  # "old" may go now
    assert conn.received(memoryview(b"new"), now=1.0) != ECHO
    assert b"".join(send_all(conn, now=1.0)) == b"oldnew"


def test_bytes_pending_before_a_delay_go_first_then_the_delayed_ones() -> None:
    conn = make()
    pending_plain(conn, b"xy")
    with_fault("delay=1s", conn=conn)
    arrive(conn, b"abc", now=0.0)
    assert conn.pending == 5
    fire_timer(conn, now=1.0)
    assert b"".join(send_all(conn, now=1.0)) == b"xyabc"
    assert conn.pending == 0


def test_a_delay_next_to_slices_holds_then_slices() -> None:
    conn = with_fault("delay=100ms,slice=2")
    arrive(conn, b"abcde", now=0.0)
    assert conn.deadline == pytest.approx(0.1)
    fire_timer(conn, now=0.1)
    assert send_all(conn, now=0.1) == [b"ab", b"cd", b"e"]
    assert activity(conn) == FaultActivity(delayed=5, pieces=3, discarded=0)


def test_jitter_alone_delays_by_at_most_the_jitter() -> None:
    conn = with_fault("jitter=10ms")
    arrive(conn, b"a", now=1.0)
    assert conn.deadline is not None
    assert 1.0 <= conn.deadline <= 1.01


def test_a_replacing_fault_holds_old_bytes_no_longer_than_its_delay_and_jitter() -> (
    None
):
    conn = with_fault("delay=10s")
    arrive(conn, b"ab", now=0.0)
    arrive(conn, b"cde", now=0.0)
    conn.set_fault(FaultSpec.parse("delay=1s,jitter=500ms"), now=2.0)
    assert conn.fault is not None
    assert conn.fault.spec == FaultSpec.parse("delay=1s,jitter=500ms")
    assert conn.pending == 5
    assert conn.deadline == pytest.approx(3.5)


def test_a_replacing_fault_without_stages_lets_old_bytes_go_at_once() -> None:
    conn = with_fault("delay=10s")
    arrive(conn, b"held", now=0.0)
    conn.set_fault(FaultSpec.parse("delay=0"), now=1.0)
    assert conn.interest & WRITE
    assert send_all(conn, now=1.0) == [b"held"]


# ---- faults: shaping sends ---------------------------------------------------------


@pytest.mark.parametrize(
    ("rate", "first"),
    [
        (1000, 20 / 1000),  # a fiftieth of the rate per send, from an empty bucket
        (1010, 20 / 1010),  # whole bytes per send
        (10, 1 / 10),  # at least one byte per send
    ],
)
def test_the_first_rated_send_waits_for_its_bytes_from_an_empty_bucket(
    rate: int, first: float
) -> None:
    conn = with_fault(f"rate={rate}")
    arrive(conn, bytes(100), now=0.0)
    assert bytes(conn.outgoing()) == b"", "the bucket starts empty"
    assert conn.deadline == pytest.approx(first, rel=1e-12)


def test_a_rated_timer_that_comes_early_keeps_the_bytes_it_earned() -> None:
    conn = with_fault("rate=1000")
    arrive(conn, bytes(100), now=0.0)
    fire_timer(conn, now=0.005)  # 5 of the 20 bytes earned
    assert conn.deadline == pytest.approx(0.02, rel=1e-12)


def test_a_rate_with_slices_waits_for_one_slice_only() -> None:
    conn = with_fault("rate=1000,slice=5")
    arrive(conn, bytes(100), now=0.0)
    assert conn.deadline == pytest.approx(0.005, rel=1e-12)


def test_a_gap_after_a_send_asks_for_a_wake_up_and_stops_writing_at_once() -> None:
    conn = with_fault("slice=2,gap=1s")
    arrive(conn, b"abcd", now=0.0)
    assert conn.interest & WRITE
    assert conn.flushed(2, now=0.0) == INTEREST | WAKE
    assert conn.deadline == pytest.approx(1.0)


def test_a_close_due_before_the_next_piece_is_not_put_off() -> None:
    conn = with_fault("slice=1,gap=1s,close-in=500ms")
    arrive(conn, b"abc", now=0.0)
    conn.flushed(1, now=0.0)
    assert conn.deadline == pytest.approx(0.5)
    assert fire_timer(conn, now=0.5) == CLOSE
    assert conn.close_reason == "close-in"


def test_an_eof_under_a_gap_waits_for_the_gap() -> None:
    conn = with_fault("slice=1,gap=1s")
    arrive(conn, b"ab", now=0.0)
    conn.flushed(1, now=0.0)
    conn.eof(now=0.25)
    assert conn.state is ClientState.HALF_CLOSED
    assert conn.deadline == pytest.approx(1.0)
    conn.budget_changed(now=0.5)
    assert conn.deadline == pytest.approx(1.0)


def test_a_rate_set_on_pending_bytes_waits_from_when_it_was_set() -> None:
    conn = make()
    pending_plain(conn, bytes(100))
    assert conn.set_fault(FaultSpec.parse("rate=1000"), 3.0) & WAKE
    assert conn.deadline == pytest.approx(3.02, rel=1e-12)
