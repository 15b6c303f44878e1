"""The first look of an attached monitor (sources/attached.py): the server's `LIST`,
`STATS`, `HISTORY` and `SCENARIO`, asked while its events stream is held back, made
into the `Snapshot` the monitor's book starts from (book/seed.py).

Apart from attached.py because asking in the right order and making one cut of the
answers, with no gap and no double count against the held events, is a job of its
own; the answers' fields are checked in control/answers.py.
"""

from __future__ import annotations

import socket
import threading
import time

from tui_echo.book.records import HISTORY_LENGTH, ClosedClient
from tui_echo.book.seed import SeedClient, Snapshot
from tui_echo.control.answers import parse_history, parse_list, parse_stats
from tui_echo.control.client import BadAnswerError, LineReader, read_reply
from tui_echo.events import ScenarioStep
from tui_echo.events_parse import from_json_line
from tui_echo.sources.attach_stream import EventStream

MAX_LISTED = 250_000
"""Clients a `LIST` answer may have (256 bytes a line at most on average)."""


def take_snapshot(
    commands: socket.socket,
    replies: LineReader,
    stream: EventStream,
    deadline: float,
    cancel: threading.Event | None,
) -> Snapshot:
    """Ask for the server's state on the `commands` connection (its `replies`)
    and catch the opened `stream` up to it: events after the cut go on to the
    feed, those before it are held for `prepare`.

    Raises:
        ControlClientError, OSError: the server answered wrongly or not in time
            (by `deadline`), or `cancel` was set.
    """
    # LIST before STATS: every LIST line's seq is then at most STATS' seq, so
    # STATS' totals are one cut that every held event is judged against.
    # HISTORY last: a client that closes meanwhile is in it, or its close is
    # held (and its record, seeded or held, gives the book its history line).
    # SCENARIO after them: the latest step, or a later one that the held
    # events also carry (applied after the snapshot, they end on the same).
    commands.sendall(b"LIST\nSTATS\nHISTORY\nSCENARIO\n")
    listed = [
        parse_list(line)
        for line in read_reply(
            replies,
            "LIST",
            deadline,
            cancel,
            max_lines=MAX_LISTED,
            max_bytes=MAX_LISTED * 256,
        )
    ]
    listed_at = time.time()
    stats_lines = read_reply(replies, "STATS", deadline, cancel, max_lines=1)
    if not stats_lines:
        raise BadAnswerError("the STATS answer is empty")
    stats = parse_stats(stats_lines[0])
    history = [
        parse_history(line)
        for line in read_reply(
            replies,
            "HISTORY",
            deadline,
            cancel,
            max_lines=10 * HISTORY_LENGTH,
        )[-HISTORY_LENGTH:]
    ]
    scenario = _scenario(replies, deadline, cancel)
    stream.catch_up(stats.seq, deadline, cancel)
    for line in listed:
        if line.seq > stats.seq:
            raise BadAnswerError(
                f"a LIST line of seq={line.seq}, after STATS' seq={stats.seq}"
            )
    now = time.time()
    return Snapshot(
        host=stats.host,
        port=stats.port,
        started_at=stats.started,
        default_fault=stats.fault,
        listener=stats.listener,
        tls=stats.tls,
        clients_now=stats.clients,
        clients_total=stats.total,
        rejected=stats.rejected,
        bytes_in=stats.bytes_in,
        bytes_out=stats.bytes_out,
        seq=stats.seq,
        taken_at=now,
        clients=[
            SeedClient(
                id=line.id,
                peer=line.peer,
                state=line.state,
                connected_at=listed_at - line.age,
                last_active=listed_at - line.idle,
                bytes_in=line.bytes_in,
                bytes_out=line.bytes_out,
                pending=line.pending,
                fault=line.fault,
                seq=line.seq,
                proto=line.proto,
                datagrams_in=line.datagrams_in,
                datagrams_out=line.datagrams_out,
                dropped=line.dropped,
                tls=line.tls,
            )
            for line in listed
        ],
        history=[
            ClosedClient(
                id=line.id,
                peer=line.peer,
                connected_at=line.connected,
                closed_at=line.closed,
                reason=line.reason,
                bytes_in=line.bytes_in,
                bytes_out=line.bytes_out,
                discarded=line.discarded,
                fault=line.fault,
            )
            for line in history
        ],
        scenario=scenario,
    )


def _scenario(
    replies: LineReader, deadline: float, cancel: threading.Event | None
) -> ScenarioStep | None:
    """The server's latest `scenario` event, if it runs a scenario."""
    lines = read_reply(replies, "SCENARIO", deadline, cancel, max_lines=1)
    if not lines:
        return None
    try:
        event = from_json_line(lines[0])
    except ValueError as exc:
        raise BadAnswerError(f"the SCENARIO answer is not an event: {exc}") from None
    if not isinstance(event, ScenarioStep):
        raise BadAnswerError(
            f"the SCENARIO answer is a {event.kind} event, not a scenario event"
        )
    return event
