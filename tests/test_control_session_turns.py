"""A control session's turns, on a clock the test holds (issue 21's mutation check).

`ControlSession` runs at most `TURN_BUDGET` of commands per turn of the loop and
writes a long reply 16 lines between looks at the clock. These tests replace the
session module's clock: a late one (every look is past the deadline), one that is
exactly at the deadline, and a stopped one (never late), and pin what one turn does
under each: at least one step, never more once late, everything when there is time.
No sockets: `mutmut` runs these on `control/session.py` (benchmarks/MUTATION.md).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.helpers import IdleOperator
from tui_echo.control import session as session_module
from tui_echo.control.protocol import MAX_LINE, REPLY_BACKLOG
from tui_echo.control.session import CHECK_EVERY, TURN_BUDGET, ControlSession

LOOKS = 10_000
"""Looks at the clock one test may take: a session that loops for ever fails."""


class FakeClock:
    """`time.perf_counter` moving `step` seconds at each look."""

    def __init__(self, step: float) -> None:
        self.now = 1.0
        self.step = step
        self.looks = 0

    def perf_counter(self) -> float:
        self.looks += 1
        if self.looks > LOOKS:
            pytest.fail("the session keeps looking at the clock: it loops")
        value = self.now
        self.now = self.now + self.step
        return value


class Operator(IdleOperator):
    """Clients 1 and 2; `LIST` says `rows` lines of `width` characters each,
    lazily, and raises after `fail_after` of them if that is set."""

    def __init__(
        self, rows: int = 40, width: int = 4, fail_after: int | None = None
    ) -> None:
        self.rows, self.width, self.fail_after = rows, width, fail_after

    def list_lines(self) -> Iterator[str]:
        for row in range(self.rows):
            if row == self.fail_after:
                raise RuntimeError("boom")
            yield f"{row:0{self.width}d}"

    def stats_line(self) -> str:
        return "clients=2"

    def kick(self, client_id: int) -> bool:
        return client_id in (1, 2)

    def reset(self, client_id: int) -> bool:
        return client_id in (1, 2)

    def inspect(self, client_id: int, enabled: bool) -> bool:
        return True


def use_clock(monkeypatch: pytest.MonkeyPatch, step: float) -> FakeClock:
    clock = FakeClock(step)
    monkeypatch.setattr(session_module, "time", clock)
    return clock


LATE_CLOCKS = {
    "late": 1.0,  # every look long past the deadline
    "at the deadline": TURN_BUDGET,  # each look exactly at it: late too
}


@pytest.mark.parametrize("step", LATE_CLOCKS.values(), ids=LATE_CLOCKS.keys())
def test_a_late_turn_takes_one_step_and_keeps_the_rest_for_later(
    monkeypatch: pytest.MonkeyPatch, step: float
) -> None:
    use_clock(monkeypatch, step)
    session, operator = ControlSession(), Operator()
    session.received(b"STATS\nKICK 9\n", operator, 0.0)  # runs STATS, no more
    assert session.outbuf == b""
    assert session.inbuf == b"KICK 9\n", "what ran is dropped at the turn's end"
    assert session.has_waiting_lines
    turns = []
    for _ in range(3):
        session.run_waiting(operator)
        turns.append(bytes(session.outbuf))
    assert turns == [
        b"clients=2\nOK\n",  # STATS's reply written
        b"clients=2\nOK\n",  # KICK 9 run
        b"clients=2\nOK\nERR no client 9\n",
    ]
    assert not session.has_waiting_lines


@pytest.mark.parametrize("step", LATE_CLOCKS.values(), ids=LATE_CLOCKS.keys())
def test_a_long_reply_is_written_check_every_lines_a_late_turn(
    monkeypatch: pytest.MonkeyPatch, step: float
) -> None:
    use_clock(monkeypatch, step)
    session, operator = ControlSession(), Operator(rows=40)
    session.received(b"LIST\n", operator, 0.0)
    lines_per_turn = []
    for _ in range(41 // CHECK_EVERY + 2):
        session.run_waiting(operator)
        lines_per_turn.append(session.outbuf.count(b"\n"))
    expected = [
        min(41, CHECK_EVERY * turn) for turn in range(1, len(lines_per_turn) + 1)
    ]
    assert lines_per_turn == expected  # 40 rows and OK, CHECK_EVERY lines a turn
    assert session.outbuf.endswith(b"0039\nOK\n")
    assert not session.has_waiting_lines


def test_with_time_to_spare_one_turn_answers_every_line(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    use_clock(monkeypatch, 0.0)
    session, operator = ControlSession(), Operator(rows=40)
    session.received(
        b"LIST\nSTATS\n" + b"X" * (MAX_LINE + 1) + b"\nKICK 1\n\xff\nRESET 9\n",
        operator,
        0.0,
    )
    assert bytes(session.outbuf) == (
        b"".join(b"%04d\n" % row for row in range(40))
        + b"OK\nclients=2\nOK\n"
        + b"ERR line longer than 4096 bytes\nOK\n"
        + b"ERR not ASCII: commands are lines of ASCII text\nERR no client 9\n"
    )
    assert session.inbuf == b""
    assert not session.has_waiting_lines
    assert session.reading


def test_the_end_of_an_over_long_line_and_the_next_run_in_the_same_turn(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    use_clock(monkeypatch, 0.0)
    session, operator = ControlSession(), Operator()
    session.received(b"X" * MAX_LINE, operator, 0.0)
    assert bytes(session.outbuf) == b"ERR line longer than 4096 bytes\n"
    session.received(b"X" * 10, operator, 0.0)  # more of it: dropped
    assert session.inbuf == b""
    session.received(b"XX\nSTATS\n", operator, 0.0)
    assert bytes(session.outbuf) == (
        b"ERR line longer than 4096 bytes\nclients=2\nOK\n"
    )


def test_waiting_for_a_newline_costs_one_look_at_the_clock(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = use_clock(monkeypatch, 0.0)
    session = ControlSession()
    session.received(b"STA", Operator(), 0.0)
    assert clock.looks == 1, "the turn ends as soon as no whole line waits"
    assert session.outbuf == b""


def test_a_reply_stops_exactly_at_the_backlog_and_goes_on_once_sent(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    use_clock(monkeypatch, 0.0)
    width = REPLY_BACKLOG // 16 - 1  # 16 lines and their newlines fill it exactly
    session, operator = ControlSession(), Operator(rows=20, width=width)
    session.received(b"LIST\n", operator, 0.0)
    assert len(session.outbuf) == REPLY_BACKLOG
    assert not session.reading
    assert session.has_waiting_lines
    session.sent(len(session.outbuf))
    session.run_waiting(operator)
    assert session.outbuf.count(b"\n") == 5  # the last 4 rows and OK
    assert session.outbuf.endswith(b"%0*d\nOK\n" % (width, 19))


def test_a_reply_that_fails_halfway_says_so_and_the_session_goes_on(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    use_clock(monkeypatch, 0.0)
    session, operator = ControlSession(), Operator(fail_after=3)
    session.received(b"LIST\nSTATS\n", operator, 0.0)
    assert bytes(session.outbuf) == (
        b"0000\n0001\n0002\nERR internal error: RuntimeError('boom')\nclients=2\nOK\n"
    )


def test_after_events_the_session_still_reads_its_hang_up(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    use_clock(monkeypatch, 0.0)
    session = ControlSession()
    session.received(b"EVENTS\nSTATS\n", Operator(), 0.0)
    assert bytes(session.outbuf) == b"OK\n"
    assert session.streaming
    assert session.inbuf == b""
    assert session.reading  # the loop still reads: an EOF ends the stream


def test_the_last_input_time_is_kept_for_the_idle_limit() -> None:
    assert ControlSession().last_input == 0.0
    session = ControlSession(now=5.0)
    assert session.last_input == 5.0
    session.received(b"STATS\n", Operator(), 7.5)
    assert session.last_input == 7.5
    session.received(b"EVENTS\n", Operator(), 8.0)
    session.received(b"ignored\n", Operator(), 9.0)  # streaming, still input
    assert session.last_input == 9.0
