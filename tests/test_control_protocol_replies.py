"""The control protocol's every reply, without sockets (issue 21's mutation check).

`execute` against an operator that records what it is asked: each command's
answer, the call it makes and the `ERR` of each misuse; then the `ControlSession`
bounds exactly at their edges. These are what `mutmut` runs on `control/protocol.py`
(benchmarks/MUTATION.md).
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import pytest

from tests.helpers import session_said
from tui_echo.control.protocol import (
    HELP,
    MAX_LINE,
    REPLY_BACKLOG,
    STREAM_BACKLOG,
    event_line,
    execute,
)
from tui_echo.control.session import ControlSession
from tui_echo.events import ClientConnected
from tui_echo.faults import FaultSpec, FaultTarget
from tui_echo.faults.listener import ListenerFault

KNOWN = (1, 2)
"""The clients the recording operator has."""


class Recorder:
    """An operator with clients 1 and 2 that writes down every call."""

    def __init__(self) -> None:
        self.calls: list[tuple[object, ...]] = []

    def list_lines(self) -> list[str]:
        self.calls.append(("list",))
        return ["id=1 first", "id=2 second"]

    def stats_line(self) -> str:
        self.calls.append(("stats",))
        return "clients=2"

    def kick(self, client_id: int) -> bool:
        self.calls.append(("kick", client_id))
        return client_id in KNOWN

    def kick_all(self) -> None:
        self.calls.append(("kick all",))

    def reset(self, client_id: int) -> bool:
        self.calls.append(("reset", client_id))
        return client_id in KNOWN

    def set_fault(self, target: FaultTarget, spec: FaultSpec | None) -> bool:
        self.calls.append(("fault", target, spec))
        return target in ("all", "new") or target in KNOWN

    def set_listener_fault(self, fault: ListenerFault | None) -> None:
        self.calls.append(("listener", fault))

    def inspect(self, client_id: int, enabled: bool) -> bool:
        self.calls.append(("inspect", client_id, enabled))
        return client_id in KNOWN

    def recent_line(self, client_id: int) -> str | None:
        self.calls.append(("recent", client_id))
        return f"hex=0{client_id}" if client_id in KNOWN else None

    def activity_line(self, client_id: int) -> str | None:
        self.calls.append(("activity", client_id))
        return f"delayed={client_id}" if client_id in KNOWN else None

    def history_lines(self) -> list[str]:
        self.calls.append(("history",))
        return ["id=3 gone"]

    def kernel_lines(self, client_ids: Sequence[int]) -> list[str]:
        self.calls.append(("kernel", list(client_ids)))
        return [f"id={c} cwnd=10" for c in client_ids if c in KNOWN]


def spec(text: str) -> FaultSpec | None:
    return FaultSpec.parse(text)


@pytest.mark.parametrize(
    ("line", "reply", "calls"),
    [
        ("LIST", ["id=1 first", "id=2 second", "OK"], [("list",)]),
        ("list", ["id=1 first", "id=2 second", "OK"], [("list",)]),
        ("STATS", ["clients=2", "OK"], [("stats",)]),
        ("HISTORY", ["id=3 gone", "OK"], [("history",)]),
        ("history", ["id=3 gone", "OK"], [("history",)]),
        ("  stats  ", ["clients=2", "OK"], [("stats",)]),
        ("KICK 1", ["OK"], [("kick", 1)]),
        ("kick 7", ["ERR no client 7"], [("kick", 7)]),
        ("KICK all", ["OK"], [("kick all",)]),
        ("KICK ALL", ["OK"], [("kick all",)]),
        ("RESET 2", ["OK"], [("reset", 2)]),
        ("RESET 9", ["ERR no client 9"], [("reset", 9)]),
        ("FAULT 1 delay=50ms", ["OK"], [("fault", 1, spec("delay=50ms"))]),
        ("FAULT ALL off", ["OK"], [("fault", "all", None)]),
        ("FAULT New stall", ["OK"], [("fault", "new", spec("stall"))]),
        (
            "FAULT 2 delay=50ms, slice=1",
            ["OK"],
            [("fault", 2, spec("delay=50ms,slice=1"))],
        ),
        ("FAULT 9 stall", ["ERR no client 9"], [("fault", 9, spec("stall"))]),
        ("LISTENER refuse", ["OK"], [("listener", ListenerFault("refuse"))]),
        (
            "listener accept-delay=200ms, for=5s",
            ["OK"],
            [("listener", ListenerFault("accept-delay", 0.2, 5.0))],
        ),
        ("LISTENER off", ["OK"], [("listener", None)]),
        ("INSPECT 1 on", ["OK"], [("inspect", 1, True)]),
        ("INSPECT 2 OFF", ["OK"], [("inspect", 2, False)]),
        ("INSPECT 9 on", ["ERR no client 9"], [("inspect", 9, True)]),
        ("RECENT 1", ["hex=01", "OK"], [("recent", 1)]),
        ("RECENT 9", ["ERR no client 9"], [("recent", 9)]),
        ("ACTIVITY 2", ["delayed=2", "OK"], [("activity", 2)]),
        ("activity 9", ["ERR no client 9"], [("activity", 9)]),
        ("KERNEL 1", ["id=1 cwnd=10", "OK"], [("kernel", [1])]),
        (
            "KERNEL 2 9 1",
            ["id=2 cwnd=10", "id=1 cwnd=10", "OK"],
            [("kernel", [2, 9, 1])],
        ),
        ("KERNEL 9", ["OK"], [("kernel", [9])]),
    ],
)
def test_each_command_answers_and_asks_the_operator(
    line: str, reply: list[str], calls: list[tuple[object, ...]]
) -> None:
    operator = Recorder()
    answer = execute(line, operator)
    assert list(answer.lines) == reply
    assert not answer.streams
    assert operator.calls == calls


def test_events_answers_ok_and_streams_from_then_on() -> None:
    operator = Recorder()
    answer = execute("events", operator)
    assert list(answer.lines) == ["OK"]
    assert answer.streams
    assert operator.calls == []


def test_help_lists_every_command() -> None:
    answer = execute("HELP", Recorder())
    assert list(answer.lines) == [*HELP.splitlines(), "OK"]
    assert not answer.streams
    named = {line.split()[0] for line in HELP.splitlines() if not line[0].isspace()}
    assert named == {
        "LIST",
        "STATS",
        "HISTORY",
        "SCENARIO",
        "PING",
        "KICK",
        "RESET",
        "FAULT",
        "LISTENER",
        "EVENTS",
        "INSPECT",
        "RECENT",
        "ACTIVITY",
        "KERNEL",
        "HELP",
    }


@pytest.mark.parametrize(
    ("line", "error"),
    [
        ("LIST 1", "usage: LIST"),
        ("STATS now", "usage: STATS"),
        ("EVENTS all", "usage: EVENTS"),
        ("HELP me", "usage: HELP"),
        ("HISTORY 3", "usage: HISTORY"),
        ("KICK", "usage: KICK ID | KICK all"),
        ("KICK 1 2", "usage: KICK ID | KICK all"),
        ("RESET", "usage: RESET ID"),
        ("RESET 1 2", "usage: RESET ID"),
        ("FAULT 1", "usage: FAULT ID|all|new SPEC"),
        ("FAULT", "usage: FAULT ID|all|new SPEC"),
        ("LISTENER", "usage: LISTENER SPEC|off"),
        ("INSPECT 1", "usage: INSPECT ID on|off"),
        ("INSPECT 1 maybe", "usage: INSPECT ID on|off"),
        ("INSPECT 1 on now", "usage: INSPECT ID on|off"),
        ("RECENT", "usage: RECENT ID"),
        ("RECENT 1 2", "usage: RECENT ID"),
        ("ACTIVITY", "usage: ACTIVITY ID"),
        ("KERNEL", "usage: KERNEL ID..."),
        ("", "empty line (HELP lists the commands)"),
        ("   ", "empty line (HELP lists the commands)"),
        ("FROB 1", "unknown command 'FROB' (HELP lists the commands)"),
        ("frob", "unknown command 'frob' (HELP lists the commands)"),
        ("X" * 50, f"unknown command {'X' * 40!r}... (HELP lists the commands)"),
        ("KICK x", "not a client id: 'x'"),
        ("KICK -1", "not a client id: '-1'"),
        ("RESET 1.5", "not a client id: '1.5'"),
        ("KICK 1234567890123456789", "not a client id: '1234567890123456789'"),
        ("KICK " + "7" * 50, f"not a client id: {'7' * 40!r}..."),
        ("KERNEL 1 x", "not a client id: 'x'"),
        ("FAULT x stall", "not a client id: 'x'"),
        ("INSPECT x on", "not a client id: 'x'"),
        ("RECENT x", "not a client id: 'x'"),
        ("ACTIVITY x", "not a client id: 'x'"),
    ],
)
def test_misuse_gets_one_err_line_naming_it(line: str, error: str) -> None:
    operator = Recorder()
    answer = execute(line, operator)
    assert list(answer.lines) == [f"ERR {error}"]
    assert not answer.streams
    assert all(call[0] != "kick all" for call in operator.calls)


@pytest.mark.parametrize(
    ("line", "named"),
    [
        ("LISTENER refuze", "ERR unknown listener item 'refuze'"),
        ("LISTENER \x1b[2J", "ERR unknown listener item '\\x1b[2J'"),
        ("LISTENER drop,refuse", "ERR listener items 'drop' and 'refuse'"),
        ("LISTENER accept-delay=soon", "ERR listener item accept-delay=soon"),
    ],
)
def test_a_bad_listener_fault_gets_err_naming_the_item(line: str, named: str) -> None:
    operator = Recorder()
    [answer] = execute(line, operator).lines
    assert answer.startswith(named)
    assert answer.isprintable()
    assert operator.calls == []


def test_an_eighteen_digit_id_is_still_an_id() -> None:
    operator = Recorder()
    assert list(execute("KICK " + "9" * 18, operator).lines) == [
        f"ERR no client {'9' * 18}"
    ]
    assert operator.calls == [("kick", int("9" * 18))]


def test_a_bad_spec_is_refused_with_the_grammars_message() -> None:
    with pytest.raises(ValueError, match="bogus") as raised:
        FaultSpec.parse("bogus=1")
    operator = Recorder()
    assert list(execute("FAULT 1 bogus=1", operator).lines) == [f"ERR {raised.value}"]
    assert operator.calls == []


def test_an_operator_that_raises_costs_one_err_line() -> None:
    class Broken(Recorder):
        def stats_line(self) -> str:
            raise RuntimeError("boom")

    assert list(execute("STATS", Broken()).lines) == [
        "ERR internal error: RuntimeError('boom')"
    ]


def test_an_event_line_is_its_json_with_the_seq_last() -> None:
    event = ClientConnected(client=3, peer="127.0.0.1:5000", ts=1.5)
    line = event_line(event, 42)
    assert line.endswith(b',"seq":42}\n')
    assert line.count(b"\n") == 1
    parsed = json.loads(line)
    assert parsed["seq"] == 42
    assert parsed["event"] == "connect"
    assert parsed["client"] == 3


# ---- sessions -------------------------------------------------------------------


def test_lines_split_across_reads_and_crlf_are_answered_in_order() -> None:
    session, operator = ControlSession(), Recorder()
    session_said(session, b"STA", operator)
    assert session.outbuf == b""
    assert session.has_waiting_lines is False
    session_said(session, b"TS\r\nKICK 9\nRESET 1\n", operator)
    assert bytes(session.outbuf) == b"clients=2\nOK\nERR no client 9\nOK\n"
    assert operator.calls == [("stats",), ("kick", 9), ("reset", 1)]
    assert session.reading
    assert not session.done


def test_non_ascii_is_refused_between_answered_lines() -> None:
    session = ControlSession()
    session_said(session, "STATS\nSTATS é\nSTATS\n".encode(), Recorder())
    assert bytes(session.outbuf) == (
        b"clients=2\nOK\n"
        b"ERR not ASCII: commands are lines of ASCII text\nclients=2\nOK\n"
    )


def test_an_empty_line_is_answered_and_does_not_hold_up_the_next() -> None:
    session = ControlSession()
    session_said(session, b"\nSTATS\n", Recorder())
    assert bytes(session.outbuf) == (
        b"ERR empty line (HELP lists the commands)\nclients=2\nOK\n"
    )
    assert session.inbuf == b""


def test_only_a_carriage_return_is_taken_off_a_lines_end() -> None:
    session = ControlSession()
    session_said(session, b"FROBX\r\n", Recorder())
    assert bytes(session.outbuf) == (
        b"ERR unknown command 'FROBX' (HELP lists the commands)\n"
    )


def test_the_longest_line_is_answered_and_one_byte_more_is_refused() -> None:
    longest = b"STATS" + b" " * (MAX_LINE - 6) + b"\n"
    assert len(longest) == MAX_LINE
    session = ControlSession()
    session_said(session, longest, Recorder())
    assert bytes(session.outbuf) == b"clients=2\nOK\n"
    session = ControlSession()
    session_said(session, b" " + longest + b"STATS\n", Recorder())
    assert bytes(session.outbuf) == (
        b"ERR line longer than 4096 bytes\nclients=2\nOK\n"
    )


def test_a_line_waits_until_it_reaches_the_limit_without_a_newline() -> None:
    session = ControlSession()
    session_said(session, b"S" * (MAX_LINE - 1), Recorder())
    assert session.outbuf == b""
    assert len(session.inbuf) == MAX_LINE - 1
    session_said(session, b"\n", Recorder())
    assert session.outbuf.startswith(b"ERR unknown command")
    session = ControlSession()
    session_said(session, b"S" * MAX_LINE, Recorder())
    assert bytes(session.outbuf) == b"ERR line longer than 4096 bytes\n"
    assert session.inbuf == b""
    session_said(session, b"S" * 10, Recorder())  # still the same line: dropped
    assert session.inbuf == b""
    session_said(session, b"SS\nSTATS\n", Recorder())
    assert bytes(session.outbuf) == (
        b"ERR line longer than 4096 bytes\nclients=2\nOK\n"
    )
    assert session.skipping is False


def test_after_events_input_is_ignored_and_events_stream() -> None:
    session, operator = ControlSession(), Recorder()
    session_said(session, b"EVENTS\nSTATS\n", operator)
    assert bytes(session.outbuf) == b"OK\n"
    assert session.streaming
    assert session.inbuf == b""
    assert not session.has_waiting_lines
    session_said(session, b"LIST\n", operator)
    assert operator.calls == []
    assert session.inbuf == b""
    assert session.stream([b"one\n", b"two\n"]) is False
    assert bytes(session.outbuf) == b"OK\none\ntwo\n"
    session.sent(3)
    assert bytes(session.outbuf) == b"one\ntwo\n"
    assert not session.done
    session.ended()  # a streaming reader that hangs up: nothing more to say
    assert session.outbuf == b""
    assert session.done


def test_stream_queues_nothing_unless_streaming() -> None:
    session = ControlSession()
    assert session.stream([b"event\n"]) is False
    assert session.outbuf == b""


def test_a_reader_exactly_at_the_stream_backlog_stays_one_byte_more_is_cut() -> None:
    session = ControlSession()
    session_said(session, b"EVENTS\n", Recorder())
    session.sent(3)
    assert session.stream([b"x" * (STREAM_BACKLOG - 1), b"\n"]) is False
    assert len(session.outbuf) == STREAM_BACKLOG
    assert not session.closing
    assert session.stream([b"y"]) is True
    behind = STREAM_BACKLOG + 1
    assert bytes(session.outbuf) == (
        f"ERR too slow: {behind} bytes of events unread; disconnected\n".encode()
    )
    assert session.closing
    assert not session.reading
    assert session.stream([b"z\n"]) is False, "a closing reader gets nothing more"
    assert not session.done
    session.sent(len(session.outbuf))
    assert session.done


def test_replies_at_the_backlog_stop_reading_until_they_are_sent() -> None:
    session, operator = ControlSession(), Recorder()
    session.outbuf += b"x" * (REPLY_BACKLOG - 1)
    assert session.reading
    session_said(session, b"STATS\nSTATS\n", operator)  # the first fills it
    assert len(session.outbuf) == REPLY_BACKLOG - 1 + len(b"clients=2\nOK\n")
    assert not session.reading
    assert session.has_waiting_lines
    assert bytes(session.inbuf) == b"STATS\n"
    session.sent(len(session.outbuf))
    assert session.reading
    session_said(session, b"", operator)
    assert bytes(session.outbuf) == b"clients=2\nOK\n"
    assert operator.calls == [("stats",), ("stats",)]


def test_a_client_that_hangs_up_is_done_once_answered() -> None:
    session = ControlSession()
    assert not session.done
    session.ended()
    assert session.hung_up
    assert not session.reading
    assert session.done
    session = ControlSession()
    session.outbuf += b"x" * REPLY_BACKLOG
    session_said(session, b"STATS\n", Recorder())
    session.ended()
    assert not session.done
    session.sent(len(session.outbuf))
    assert not session.done, "a command still waits to be answered"
    session.run_waiting(Recorder())
    session.sent(len(session.outbuf))
    assert session.done


def test_a_fresh_session_reads_and_says_nothing() -> None:
    session = ControlSession()
    assert session.reading
    assert session.inbuf == b""
    assert session.outbuf == b""
    assert session.streaming is False
    assert session.skipping is False
    assert session.closing is False
    assert session.hung_up is False
    assert not session.has_waiting_lines
