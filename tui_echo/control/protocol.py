"""The control socket's line protocol, without I/O: commands in, reply lines out.

Lines of ASCII, usable by hand with `socat - UNIX-CONNECT:PATH`; every reply ends
with `OK` or `ERR message`:

    LIST                     one line per client, then OK
    STATS                    one line of server totals, then OK
    HISTORY                  one line per client that left (the latest 1,000)
    KICK ID | KICK all       close with a FIN
    RESET ID                 close with an RST
    FAULT ID|all|new SPEC    set a fault (SPEC `off` clears it)
    LISTENER SPEC|off        set the listener fault (refuse, drop, accept-delay=D)
    EVENTS                   OK, then every event from now on as JSON Lines with a
                             `seq`, until the client hangs up
    INSPECT ID on|off        keep (or stop keeping) a client's recent bytes
    RECENT ID                `hex=...`: the recent bytes kept for it
    ACTIVITY ID              what its fault has done: delayed, pieces, discarded
    KERNEL ID...             the kernel's view of those clients (Linux)
    PING                     OK: a session with nothing to ask keeps its place
    HELP                     these lines

A `ControlSession` (session.py) keeps one connection's protocol state and its
bounds: a line over `MAX_LINE` bytes, binary or an unknown command get `ERR` and
nothing else happens; a reader that does not keep up with `EVENTS` is cut off with
a last line saying why. The `Operator`
(operator.py) carries the commands out on the loop thread; `socket_server.py`
does the socket I/O.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from tui_echo.events import Event, json_line
from tui_echo.faults import FaultSpec, FaultTarget
from tui_echo.faults.listener import ListenerFault
from tui_echo.faults.spec import check_target
from tui_echo.words import quoted

MAX_LINE = 4096
"""Longest command line, newline included."""
MAX_SESSIONS = 16
"""Control connections served at once; one more is told so and closed."""
STREAM_BACKLOG = 1024 * 1024
"""Bytes of events an `EVENTS` reader may fall behind before it is cut off."""
REPLY_BACKLOG = 256 * 1024
"""Reply bytes waiting for a reader before its commands are no longer read."""

HELP = """\
LIST                     a line per client: id peer state age idle in out pending
                         proto [datagrams_in datagrams_out dropped (udp)] seq
                         fault (seq: the events it reflects)
STATS                    clients total rejected bytes_in bytes_out pending uptime
                         started seq [untracked (--udp: datagrams of peers
                         beyond --max-clients)] listener (its fault; for=: time left)
                         listening fault (of new clients)
HISTORY                  a line per client that left (the latest 1,000): id peer
                         connected closed in out discarded fault reason
SCENARIO                 the latest scenario event (JSON), none without a scenario
KICK ID | KICK all       close a client (or all) with a FIN
RESET ID                 close a client with an RST
FAULT ID|all|new SPEC    set a fault (off clears it), e.g. FAULT 3 delay=50ms,slice=1
LISTENER SPEC|off        the listener's fault: refuse | drop | accept-delay=DURATION,
                         each optionally ,for=DURATION, e.g. LISTENER refuse,for=5s
EVENTS                   then every event from now on, JSON Lines with seq
INSPECT ID on|off        keep (or stop keeping) a client's recent bytes
RECENT ID                hex=... the recent bytes kept for a client
ACTIVITY ID              delayed pieces discarded: what its fault has done
KERNEL ID...             recvq sendq (bytes) rtt_us rttvar_us (microseconds)
                         retrans cwnd lost (segments) (Linux)
PING                     nothing: a session that keeps its place says it now and then
HELP                     this"""


class ControlError(Exception):
    """A command that cannot be carried out; its text follows `ERR`."""


class Operator(Protocol):
    """What the control socket may ask of the server (the loop, on its thread)."""

    def list_lines(self) -> Iterable[str]: ...
    def stats_line(self) -> str: ...
    def history_lines(self) -> Iterable[str]: ...
    def scenario_lines(self) -> Iterable[str]: ...
    def kick(self, client_id: int) -> bool: ...
    def kick_all(self) -> None: ...
    def reset(self, client_id: int) -> bool: ...
    def set_fault(self, target: FaultTarget, spec: FaultSpec | None) -> bool: ...
    def set_listener_fault(self, fault: ListenerFault | None) -> None: ...
    def inspect(self, client_id: int, enabled: bool) -> bool: ...
    def recent_line(self, client_id: int) -> str | None: ...
    def activity_line(self, client_id: int) -> str | None: ...
    def kernel_lines(self, client_ids: Sequence[int]) -> Iterable[str]: ...


@dataclass(frozen=True, slots=True)
class Reply:
    """What a command line answers, and whether the session streams from now on.

    `lines` may be lazy (`LIST` of thousands of clients): the session takes them a
    slice at a time, so that no reply holds the loop for long.
    """

    lines: Iterable[str]
    streams: bool = False


def execute(line: str, operator: Operator) -> Reply:
    """Carry out one command line; the reply ends with `OK` or `ERR ...`."""
    try:
        lines, streams = _run(line.split(), operator)
    except ControlError as exc:
        return Reply([f"ERR {exc}"])
    except Exception as exc:  # a bug: say so, the session goes on
        return Reply([f"ERR internal error: {exc!r}"])
    return Reply(itertools.chain(lines, ("OK",)), streams)


def _run(words: list[str], operator: Operator) -> tuple[Iterable[str], bool]:
    if not words:
        raise ControlError("empty line (HELP lists the commands)")
    command, args = words[0].upper(), words[1:]
    if command == "LIST" and not args:
        return operator.list_lines(), False
    if command == "STATS" and not args:
        return [operator.stats_line()], False
    if command == "HISTORY" and not args:
        return operator.history_lines(), False
    if command == "SCENARIO" and not args:
        return operator.scenario_lines(), False
    if command == "EVENTS" and not args:
        return [], True
    if command == "HELP" and not args:
        return HELP.splitlines(), False
    if command == "PING" and not args:
        return [], False
    if command == "KICK" and len(args) == 1:
        if args[0].lower() == "all":
            operator.kick_all()
            return [], False
        return _known(operator.kick(_client(args[0])), args[0]), False
    if command == "RESET" and len(args) == 1:
        try:
            return _known(operator.reset(_client(args[0])), args[0]), False
        except ValueError as exc:  # a UDP peer: nothing to reset
            raise ControlError(str(exc)) from None
    if command == "FAULT" and len(args) >= 2:
        target = args[0].lower()
        where: FaultTarget = (
            "all" if target == "all" else "new" if target == "new" else _client(target)
        )
        try:
            spec = FaultSpec.parse(" ".join(args[1:]))
            check_target(where, spec)
            # An item the client's protocol cannot take is refused by the loop.
            return _known(operator.set_fault(where, spec), args[0]), False
        except ValueError as exc:
            raise ControlError(str(exc)) from None
    if command == "LISTENER" and args:
        try:
            fault = ListenerFault.parse(" ".join(args))
        except ValueError as exc:
            raise ControlError(str(exc)) from None
        operator.set_listener_fault(fault)
        return [], False
    if command == "INSPECT" and len(args) == 2 and args[1].lower() in ("on", "off"):
        enabled = args[1].lower() == "on"
        return _known(operator.inspect(_client(args[0]), enabled), args[0]), False
    if command in ("RECENT", "ACTIVITY") and len(args) == 1:
        client_id = _client(args[0])
        answer = (
            operator.recent_line(client_id)
            if command == "RECENT"
            else operator.activity_line(client_id)
        )
        if answer is None:
            raise ControlError(f"no client {args[0]}")
        return [answer], False
    if command == "KERNEL" and args:
        return operator.kernel_lines([_client(arg) for arg in args]), False
    if command in _USAGE:
        raise ControlError(f"usage: {_USAGE[command]}")
    raise ControlError(
        f"unknown command {quoted(words[0], 40)} (HELP lists the commands)"
    )


_USAGE = {
    "LIST": "LIST",
    "STATS": "STATS",
    "HISTORY": "HISTORY",
    "SCENARIO": "SCENARIO",
    "EVENTS": "EVENTS",
    "HELP": "HELP",
    "PING": "PING",
    "KICK": "KICK ID | KICK all",
    "RESET": "RESET ID",
    "FAULT": "FAULT ID|all|new SPEC",
    "LISTENER": "LISTENER SPEC|off",
    "INSPECT": "INSPECT ID on|off",
    "RECENT": "RECENT ID",
    "ACTIVITY": "ACTIVITY ID",
    "KERNEL": "KERNEL ID...",
}


def _client(word: str) -> int:
    if not word.isdigit() or len(word) > 18:
        raise ControlError(f"not a client id: {quoted(word, 40)}")
    return int(word)


def _known(found: bool, word: str) -> list[str]:
    if not found:
        raise ControlError(f"no client {word}")
    return []


def event_line(event: Event, seq: int) -> bytes:
    """An event as one JSON Line for `EVENTS`: its JSON form plus `seq`."""
    return f'{json_line(event)[:-1]},"seq":{seq}}}\n'.encode()
