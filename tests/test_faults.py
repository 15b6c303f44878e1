"""Faults: the SPEC grammar, and each item's rules in `Connection`, without sockets."""

from __future__ import annotations

import random
import re

import pytest

from tests.helpers import fire_timer, receive, send_all
from tui_echo.engine.connection import (
    CLOSE,
    ECHO,
    WAKE,
    Connection,
)
from tui_echo.engine.limits import Limits
from tui_echo.engine.memory import MemoryBudget
from tui_echo.engine.poller import READ, WRITE
from tui_echo.events import ClientState
from tui_echo.faults import FaultSpec, fault_text
from tui_echo.states import CloseHow

# ---- the grammar ---------------------------------------------------------------


def test_items_combine_and_read_back_in_a_fixed_order() -> None:
    spec = FaultSpec.parse("slice=1, delay=50ms,jitter=20ms")
    assert spec == FaultSpec(delay=0.05, jitter=0.02, slice=1)
    assert str(spec) == "delay=50ms,jitter=20ms,slice=1"
    assert FaultSpec.parse(str(spec)) == spec


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("delay=1.5s", FaultSpec(delay=1.5)),
        ("delay=2m", FaultSpec(delay=120.0)),
        ("delay=3", FaultSpec(delay=3.0)),
        ("rate=64K", FaultSpec(rate=65536)),
        ("rate=1M,gap=10ms", FaultSpec(rate=1 << 20, gap=0.01)),
        ("stall", FaultSpec(stall=True)),
        ("BLACKHOLE", FaultSpec(blackhole=True)),
        ("close-after=1K", FaultSpec(close_after=1024)),
        ("reset-after=0", FaultSpec(reset_after=0)),
        ("close-in=0", FaultSpec(close_in=0.0)),
        ("reset-in=5s", FaultSpec(reset_in=5.0)),
    ],
)
def test_each_item_parses(text: str, expected: FaultSpec) -> None:
    assert FaultSpec.parse(text) == expected
    assert FaultSpec.parse(str(expected)) == expected


@pytest.mark.parametrize("text", ["off", "OFF", " off "])
def test_off_is_no_fault(text: str) -> None:
    assert FaultSpec.parse(text) is None
    assert fault_text(None) == "off"


@pytest.mark.parametrize("text", ["", "  "])
def test_an_empty_spec_is_refused_not_taken_for_off(text: str) -> None:
    with pytest.raises(ValueError, match="empty fault SPEC"):
        FaultSpec.parse(text)


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("delay=0.0001ms", "delay=0.0001ms"),
        ("delay=0ms", "delay=0ms"),
        ("delay=1.5ms", "delay=1.5ms"),
        ("jitter=0.25s", "jitter=250ms"),
        ("gap=1.25", "gap=1.25s"),
        ("close-in=90s", "close-in=90s"),
    ],
)
def test_durations_are_printed_exactly(text: str, shown: str) -> None:
    spec = FaultSpec.parse(text)
    assert str(spec) == shown
    assert FaultSpec.parse(shown) == spec


@pytest.mark.parametrize(
    "text",
    [
        "delay=\uff15",  # a fullwidth 5
        "slice=\u0661\u0662",  # Arabic-Indic 12
        "rate=\u0663K",
        "delay=1\u0661ms",
    ],
)
def test_only_ascii_digits_make_a_number(text: str) -> None:
    with pytest.raises(ValueError, match="not a"):
        FaultSpec.parse(text)


@pytest.mark.parametrize(
    ("text", "complaint"),
    [
        ("delya=5ms", "unknown fault item 'delya=5ms'"),
        ("delay", "fault item 'delay' needs a duration"),
        ("delay=fast", "fault item delay=fast: not a duration"),
        ("rate=lots", "fault item rate=lots: not a size"),
        ("slice=0", "fault item slice=0: must be at least 1 byte"),
        ("stall=1", "fault item 'stall' takes no value"),
        ("delay=1s,delay=2s", "fault item 'delay' is given twice"),
        ("delay=99999h", "fault item delay=99999h: too long to mean anything"),
        ("delay=1s,,slice=1", "unknown fault item ''"),
    ],
)
def test_a_bad_spec_names_the_bad_item(text: str, complaint: str) -> None:
    with pytest.raises(ValueError, match=re.escape(complaint)):
        FaultSpec.parse(text)


# ---- the rules -----------------------------------------------------------------

MAX = 1 << 20


def make(spec: str, now: float = 0.0, seed: int = 1) -> Connection:
    limits = Limits(
        max_buffer=MAX, budget=MemoryBudget(1 << 30), rng=random.Random(seed)
    )
    conn = Connection(1, "127.0.0.1:5000", limits, now=now)
    conn.set_fault(FaultSpec.parse(spec), now)
    return conn


def arrive(conn: Connection, data: bytes, now: float) -> int:
    todo = receive(conn, data, now)
    assert not todo & ECHO, "a fault never echoes on the fast path"
    return todo


def test_delay_holds_bytes_until_their_time_then_sends_them_in_order() -> None:
    conn = make("delay=100ms")
    todo = arrive(conn, b"abc", now=1.0)
    assert todo & WAKE
    assert conn.deadline == pytest.approx(1.1)
    assert conn.interest == READ  # nothing may go yet
    assert conn.pending == 3
    arrive(conn, b"def", now=1.05)
    assert conn.deadline == pytest.approx(1.1)  # the oldest decides
    fire_timer(conn, now=1.1)
    assert send_all(conn, now=1.1) == [b"abc"]
    assert conn.deadline == pytest.approx(1.15)
    fire_timer(conn, now=conn.deadline)  # as the loop does: at the deadline itself
    assert send_all(conn, now=1.15) == [b"def"]
    assert conn.deadline is None
    assert conn.fault is not None
    assert conn.fault.activity().delayed == 6


def test_jitter_is_seeded_and_never_reorders() -> None:
    def releases(seed: int) -> list[float]:
        conn = make("delay=10ms,jitter=50ms", seed=seed)
        for i in range(50):
            arrive(conn, bytes([i]), now=i * 0.001)
        assert conn.fault is not None
        return [release for release, _ in conn.fault.held]

    first = releases(seed=7)
    assert first == sorted(first)
    assert first == releases(seed=7)
    assert first != releases(seed=8)
    assert all(
        i * 0.001 + 0.01 <= t <= i * 0.001 + 0.06 + 0.05 for i, t in enumerate(first)
    )


def test_slice_cuts_every_send_to_size() -> None:
    conn = make("slice=4")
    arrive(conn, b"0123456789", now=0.0)
    assert send_all(conn, now=0.0) == [b"0123", b"4567", b"89"]
    assert conn.fault is not None
    assert conn.fault.activity().pieces == 3


def test_gap_waits_between_pieces() -> None:
    conn = make("slice=2,gap=50ms")
    arrive(conn, b"abcdef", now=0.0)
    assert send_all(conn, now=0.0) == [b"ab"]
    assert conn.deadline == pytest.approx(0.05)
    assert not conn.interest & WRITE
    fire_timer(conn, now=0.05)
    assert send_all(conn, now=0.05) == [b"cd"]


def test_rate_is_a_token_bucket_of_one_second() -> None:
    conn = make("rate=1000", now=0.0)
    arrive(conn, bytes(5000), now=0.0)
    assert not conn.interest & WRITE  # the bucket starts empty
    sent = 0
    now = 0.0
    while sent < 5000 and now < 10:
        assert conn.deadline is not None
        now = conn.deadline
        fire_timer(conn, now)
        sent += sum(len(p) for p in send_all(conn, now))
    assert now == pytest.approx(5.0, abs=0.05)  # 5000 bytes at 1000 B/s


def test_stall_stops_reading_but_still_echoes_what_waits() -> None:
    conn = make("off")
    arrive_plain = conn.received(memoryview(b"xy"), 0.0)
    assert arrive_plain == ECHO
    conn.cut_short(memoryview(b"xy"), 0)  # a partial write: 2 bytes wait
    conn.set_fault(FaultSpec.parse("stall"), 0.0)
    assert conn.interest == WRITE


def test_blackhole_reads_and_discards_counting_it() -> None:
    conn = make("blackhole")
    assert arrive(conn, b"gone", now=0.0) == 0
    assert conn.pending == 0
    assert conn.interest == READ
    conn.kick()
    closed = conn.closed_event(ts=0.0)
    assert (closed.bytes_in, closed.bytes_out, closed.discarded) == (4, 0, 4)


def test_close_after_echoes_exactly_size_then_fins() -> None:
    conn = make("close-after=5")
    arrive(conn, b"abc", now=0.0)
    arrive(conn, b"defgh", now=0.0)
    assert conn.pending == 5  # what is past the cap is discarded at once
    pieces = send_all(conn, now=0.0)
    assert b"".join(pieces) == b"abcde"
    assert (conn.close_reason, conn.close_how) == ("close-after", CloseHow.FIN)
    closed = conn.closed_event(ts=0.0)
    assert (closed.bytes_in, closed.bytes_out, closed.discarded) == (8, 5, 3)


def test_reset_after_resets_as_soon_as_size_was_received() -> None:
    conn = make("reset-after=10")
    arrive(conn, bytes(6), now=0.0)
    send_all(conn, now=0.0)
    assert conn.bytes_out == 6  # what came before is echoed as usual
    assert arrive(conn, bytes(6), now=0.0) == CLOSE
    assert (conn.close_reason, conn.close_how) == ("reset-after", CloseHow.RST)
    assert conn.closed_event(ts=0.0).discarded == 6


@pytest.mark.parametrize(
    ("spec", "reason", "how"),
    [
        ("close-in=2s", "close-in", CloseHow.FIN),
        ("reset-in=2s", "reset-in", CloseHow.RST),
    ],
)
def test_close_in_and_reset_in_count_from_when_the_fault_was_set(
    spec: str, reason: str, how: CloseHow
) -> None:
    conn = make(spec, now=10.0)
    assert conn.deadline == pytest.approx(12.0)
    assert fire_timer(conn, now=12.0) == CLOSE
    assert (conn.close_reason, conn.close_how) == (reason, how)


def test_close_in_zero_closes_right_away() -> None:
    limits = Limits(max_buffer=MAX, budget=MemoryBudget(1 << 30), rng=random.Random())
    conn = Connection(1, "p", limits, now=0.0)
    assert conn.set_fault(FaultSpec.parse("close-in=0"), 0.0) == CLOSE


def test_clearing_a_fault_sends_the_delayed_bytes_at_once() -> None:
    conn = make("delay=10s")
    arrive(conn, b"later", now=0.0)
    conn.set_fault(None, now=1.0)
    assert conn.deadline is None
    assert send_all(conn, now=1.0) == [b"later"]


def test_a_new_fault_replaces_the_old_and_shortens_what_waits() -> None:
    conn = make("delay=10s")
    arrive(conn, b"x", now=0.0)
    conn.set_fault(FaultSpec.parse("delay=100ms"), now=1.0)
    assert conn.deadline == pytest.approx(1.1)


def test_delayed_bytes_count_against_max_buffer() -> None:
    limits = Limits(max_buffer=1024, budget=MemoryBudget(1 << 30), rng=random.Random())
    conn = Connection(1, "p", limits, now=0.0)
    conn.set_fault(FaultSpec.parse("delay=1s"), 0.0)
    arrive(conn, bytes(1024), now=0.0)
    assert conn.state is ClientState.PAUSED
    assert conn.interest == 0  # not reading, nothing may go yet: only the timer
    assert conn.deadline == pytest.approx(1.0)


def test_what_a_fault_threw_away_stays_counted_after_it_is_replaced() -> None:
    conn = make("blackhole")
    arrive(conn, bytes(100), now=0.0)
    conn.set_fault(None, now=1.0)
    conn.kick()
    closed = conn.closed_event(ts=1.0)
    assert (closed.bytes_in, closed.bytes_out, closed.discarded) == (100, 0, 100)


def test_replacing_a_delay_keeps_the_order_of_what_waits() -> None:
    conn = make("delay=5s")
    arrive(conn, b"A", now=0.0)
    conn.set_fault(FaultSpec.parse("slice=1"), now=1.0)  # A is due at once
    arrive(conn, b"B", now=1.0)
    assert b"".join(send_all(conn, now=1.0)) == b"AB"


def test_replacing_a_long_delay_with_a_short_one_keeps_the_order() -> None:
    conn = make("delay=5s")
    arrive(conn, b"A", now=0.0)
    conn.set_fault(FaultSpec.parse("delay=1s"), now=0.5)  # A now due at 1.5
    arrive(conn, b"B", now=0.6)  # due at 1.6, after A
    assert conn.deadline is not None
    fire_timer(conn, now=2.0)
    assert b"".join(send_all(conn, now=2.0)) == b"AB"


def test_reset_after_zero_resets_right_away() -> None:
    limits = Limits(max_buffer=MAX, budget=MemoryBudget(1 << 30), rng=random.Random())
    conn = Connection(1, "p", limits, now=0.0)
    assert conn.set_fault(FaultSpec.parse("reset-after=0"), 0.0) == CLOSE
    assert (conn.close_reason, conn.close_how) == ("reset-after", CloseHow.RST)


@pytest.mark.parametrize(
    "text",
    ["close-in=1000000", "close-in=1234567", "delay=0.00001", "delay=123.4567"],
)
def test_any_duration_prints_as_text_that_reads_back(text: str) -> None:
    spec = FaultSpec.parse(text)
    assert spec is not None
    assert FaultSpec.parse(str(spec)) == spec


@pytest.mark.parametrize(
    ("values", "complaint"),
    [
        ({"slice": 0}, "fault item slice=0: must be at least 1 byte"),
        ({"rate": 0}, "fault item rate=0: must be at least 1 byte"),
        ({"delay": float("nan")}, "fault item delay=nan: not a duration or a size"),
        ({"delay": -1.0}, "fault item delay=-1.0: not a duration or a size"),
        ({"slice": 1.5}, "a size is a whole number of bytes"),
        ({"gap": "1s"}, "fault item gap='1s': not a number"),
        ({"stall": 1}, "fault item 'stall' takes no value"),
        ({"close_in": 1e9}, "too long to mean anything"),
    ],
)
def test_a_fault_made_in_python_is_checked_as_its_text_would_be(
    values: dict[str, object], complaint: str
) -> None:
    """`slice=0` made the loop spin on empty sends, `rate=0` divide by zero and a
    NaN delay break the timer heap's order: Python gets the grammar's checks."""
    with pytest.raises(ValueError, match=re.escape(complaint)):
        FaultSpec(**values)  # type: ignore[arg-type]
