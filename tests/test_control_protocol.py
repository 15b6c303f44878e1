"""The control protocol's sessions without sockets: bounds on what waits."""

from __future__ import annotations

from collections.abc import Sequence

from tests.helpers import session_said
from tui_echo.control.protocol import MAX_LINE, REPLY_BACKLOG
from tui_echo.control.session import ControlSession
from tui_echo.faults import FaultSpec


class Operator:
    """A server of 100 clients that does nothing."""

    def list_lines(self) -> list[str]:
        return [f"id={i} peer=127.0.0.1:{i} state=open" + " x" * 40 for i in range(100)]

    def stats_line(self) -> str:
        return "clients=0"

    def kick(self, client_id: int) -> bool:
        return False

    def kick_all(self) -> None: ...

    def reset(self, client_id: int) -> bool:
        return False

    def set_fault(self, target: int | str, spec: FaultSpec | None) -> bool:
        return True

    def inspect(self, client_id: int, enabled: bool) -> bool:
        return False

    def recent_line(self, client_id: int) -> str | None:
        return None

    def activity_line(self, client_id: int) -> str | None:
        return None

    def kernel_lines(self, client_ids: Sequence[int]) -> list[str]:
        return []


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
