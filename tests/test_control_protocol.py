"""The control protocol's sessions without sockets: bounds on what waits."""

from __future__ import annotations

import pytest

from tests.helpers import IdleOperator, session_said
from tui_echo.control import session as session_module
from tui_echo.control.protocol import MAX_LINE, REPLY_BACKLOG, STREAM_BACKLOG, execute
from tui_echo.control.session import ControlSession


class Operator(IdleOperator):
    """A server of 100 clients that does nothing."""

    def list_lines(self) -> list[str]:
        return [f"id={i} peer=127.0.0.1:{i} state=open" + " x" * 40 for i in range(100)]


def test_a_burst_of_commands_stops_running_once_replies_pile_up() -> None:
    session = ControlSession()
    operator = Operator()
    session_said(session, b"LIST\n" * 13000, operator)  # one 64 KiB read
    one_reply = len("\n".join(operator.list_lines())) + 10
    assert REPLY_BACKLOG <= len(session.outbuf) < REPLY_BACKLOG + one_reply
    assert not session.reading
    assert session.has_waiting_lines
    answered = session.outbuf.count(b"OK\n")
    session.sent(len(session.outbuf))  # the client read it all
    session_said(session, b"", operator)
    assert session.outbuf.count(b"OK\n") > 0
    assert answered < 13000


def test_an_over_long_line_gets_one_err_however_long_it_is() -> None:
    session = ControlSession()
    for _ in range(5):
        session_said(session, b"A" * MAX_LINE, Operator())
    session_said(session, b"A" * 100 + b"\nSTATS\n", Operator())
    assert bytes(session.outbuf) == (
        b"ERR line longer than 4096 bytes\nclients=0\nOK\n"
    )


def test_a_client_that_hangs_up_still_gets_its_answers() -> None:
    session = ControlSession()
    session_said(session, b"LIST\n", Operator())
    session.ended()
    assert not session.done  # the reply still waits
    session.sent(len(session.outbuf))
    assert session.done


def test_whole_lines_then_an_over_long_tail_is_refused_however_the_turns_fall(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The turn's time runs out right after the last whole line: the over-long
    tail must still be refused at a later turn, not wait for more input (which is
    no longer read) until the idle limit."""
    times = iter(range(1_000_000))
    monkeypatch.setattr(session_module.time, "perf_counter", lambda: next(times))
    session, operator = ControlSession(), Operator()
    session.received(b"HELP\n" * 3 + b"x" * (MAX_LINE + 10), operator, 0.0)
    said = b""
    for _ in range(100):  # a step a turn: every look at the clock is too late
        said += bytes(session.outbuf)
        session.sent(len(session.outbuf))
        if not session.has_waiting_lines:
            break
        session.run_waiting(operator)
    assert said.endswith(b"OK\nERR line longer than 4096 bytes\n")
    assert not session.has_waiting_lines
    assert session.reading


def test_a_last_line_without_newline_is_answered_at_the_hang_up() -> None:
    """`printf STATS | socat - UNIX-CONNECT:PATH`: no newline, then EOF."""
    session, operator = ControlSession(), Operator()
    session_said(session, b"STATS", operator)
    assert session.outbuf == b""
    session.ended()
    session_said(session, b"", operator)
    assert bytes(session.outbuf) == b"clients=0\nOK\n"


def test_a_reader_cut_off_mid_line_gets_the_rest_of_it_then_the_notice() -> None:
    session = ControlSession()
    session_said(session, b"EVENTS\n", Operator())
    session.sent(len(session.outbuf))
    line = b'{"event":"connect","ts":1.0,"client":1,"peer":"p","seq":2}\n'
    assert not session.stream([line])
    session.sent(10)  # the socket took part of the line
    assert session.stream([line] * (STREAM_BACKLOG // len(line) + 1))
    assert bytes(session.outbuf).startswith(line[10:])
    rest, notice = bytes(session.outbuf).split(b"\n")[:2]
    assert rest == line[10:-1]
    assert notice.startswith(b"ERR too slow: ")


def test_an_err_that_quotes_input_never_carries_it_raw() -> None:
    """Issue 16, finding 4: `FAULT new delay=<OSC>` answered an ERR with raw ESC and
    BEL, and `socat` put it on the operator's terminal."""
    answer = list(execute("FAULT new delay=\x1b]0;X\x07", Operator()).lines)
    assert len(answer) == 1
    assert answer[0].startswith("ERR fault item delay=")
    assert "\x1b" not in answer[0]
    assert "\x07" not in answer[0]
    assert "\\x1b]0;X\\x07" in answer[0]
