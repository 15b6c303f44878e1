"""`corrupt=1/N`: bits flipped in bytes as they are sent, each one counted and
reported where it went out; without sockets (Connection), then through one."""

from __future__ import annotations

import json
import random
import socket

import pytest

from tests.helpers import (
    DEADLINE,
    Headless,
    RunningServer,
    receive,
    recv_exactly,
    wait_until,
)
from tui_echo.book import ClientBook
from tui_echo.engine.connection import WRITE, Connection
from tui_echo.engine.limits import Limits
from tui_echo.engine.memory import MemoryBudget
from tui_echo.events import (
    ClientConnected,
    Corrupted,
    FaultChanged,
    json_line,
    to_json,
)
from tui_echo.events_parse import from_json
from tui_echo.events_text import event_text
from tui_echo.faults import FaultSpec
from tui_echo.faults.stack import ALTERED_PIECE
from tui_echo.faults.stages import LISTED_FLIPS
from tui_echo.ui.widgets.event_log import DataSummary, event_lines


def make(spec: str, seed: int = 1) -> Connection:
    limits = Limits(
        max_buffer=1 << 20, budget=MemoryBudget(1 << 30), rng=random.Random(seed)
    )
    conn = Connection(1, "127.0.0.1:5000", limits, now=0.0)
    conn.set_fault(FaultSpec.parse(spec), 0.0)
    return conn


def flips_between(sent: bytes, got: bytes) -> list[tuple[int, int]]:
    """(offset, bit) of every bit that differs."""
    assert len(sent) == len(got)
    return [
        (offset, bit)
        for offset, (a, b) in enumerate(zip(sent, got, strict=True))
        for bit in range(8)
        if (a ^ b) >> bit & 1
    ]


def send(conn: Connection, took: int | None = None) -> bytes:
    """One send of `outgoing()`, of which the socket takes `took` bytes (all)."""
    piece = bytes(conn.outgoing())
    count = len(piece) if took is None else took
    conn.flushed(count, 0.0)
    return piece[:count]


def test_each_flip_is_one_bit_of_a_byte_that_went_out_and_is_reported_there() -> None:
    conn = make("corrupt=1/100")
    data = random.Random(4).randbytes(20_000)
    receive(conn, data, 0.0)
    out = bytearray()
    out += send(conn, took=3_001)  # a short send: the rest waits
    out += send(conn, took=7)
    while conn.interest & WRITE:
        out += send(conn)
    assert len(out) == len(data)
    seen = flips_between(data, bytes(out))
    assert 150 < len(seen) < 260, "about one byte in 100"
    assert len({offset for offset, _ in seen}) == len(seen), "one bit per byte"
    events = conn.take_corrupted(1.0)
    listed = [(e.offset, e.bit) for e in events]
    assert listed == seen[:LISTED_FLIPS], "the first flips, in order, one by one"
    assert events[-1].more == len(seen) - LISTED_FLIPS
    assert all(e.more == 0 for e in events[:-1])
    assert conn.fault_activity().corrupted == len(seen)  # type: ignore[union-attr]
    assert conn.take_corrupted(2.0) == [], "each flip is reported once"


def test_a_byte_that_did_not_go_out_is_not_reported_and_goes_flipped_the_same() -> None:
    conn = make("corrupt=1/1")  # every byte
    data = bytes(100)
    receive(conn, data, 0.0)
    first = bytes(conn.outgoing())
    conn.flushed(0, 0.0)  # the socket took nothing
    assert conn.take_corrupted(0.0) == []
    assert conn.fault_activity().corrupted == 0  # type: ignore[union-attr]
    again = send(conn, took=40)
    assert again == first[:40], "the same flips when it does go"
    assert len(conn.take_corrupted(0.0)) == LISTED_FLIPS
    rest = send(conn)
    assert rest == first[40:]
    assert conn.fault_activity().corrupted == 100  # type: ignore[union-attr]


def test_offsets_count_from_the_start_of_the_clients_echoed_stream() -> None:
    conn = make("delay=0")  # a fault that changes nothing: 500 bytes echo plain
    receive(conn, bytes(500), 0.0)
    while conn.interest & WRITE:
        send(conn)
    conn.set_fault(FaultSpec(corrupt=1), 0.0)
    receive(conn, bytes(3), 0.0)
    assert send(conn) != bytes(3)
    assert [e.offset for e in conn.take_corrupted(0.0)] == [500, 501, 502]


def test_no_load_floods_the_events_and_every_flip_is_counted() -> None:
    conn = make("corrupt=1/1")
    for _ in range(5):  # five ticks' worth
        receive(conn, bytes(200_000), 0.0)
        while conn.interest & WRITE:
            assert len(conn.outgoing()) <= ALTERED_PIECE
            send(conn)
        events = conn.take_corrupted(0.0)
        assert len(events) == LISTED_FLIPS
        assert sum(1 + e.more for e in events) == 200_000
    assert conn.fault_activity().corrupted == 1_000_000  # type: ignore[union-attr]


def test_the_flips_repeat_with_the_seed() -> None:
    def flips(seed: int) -> bytes:
        conn = make("corrupt=1/50", seed=seed)
        receive(conn, bytes(5000), 0.0)
        return send(conn)

    assert flips(9) == flips(9)
    assert flips(9) != flips(10)


def test_without_corrupt_nothing_is_altered_nor_reported() -> None:
    conn = make("slice=100")
    receive(conn, bytes(1000), 0.0)
    assert send(conn) == bytes(100)
    assert conn.take_corrupted(0.0) == []
    assert conn.fault_activity().corrupted == 0  # type: ignore[union-attr]


# ---- the event ------------------------------------------------------------------


def test_the_corrupt_event_in_json_text_and_back() -> None:
    event = Corrupted(client=3, offset=1234, bit=7, ts=1.5)
    assert to_json(event) == {
        "event": "corrupt",
        "ts": 1.5,
        "client": 3,
        "offset": 1234,
        "bit": 7,
        "more": 0,
    }
    assert json.loads(json_line(event)) == to_json(event)
    assert from_json(to_json(event)) == event
    assert from_json({"event": "corrupt", "ts": 1, "client": 3, "offset": 0, "bit": 0})
    assert event_text(event) == "corrupt     #3 offset 1,234 bit 7"
    busy = Corrupted(client=3, offset=9, bit=0, more=12_000, ts=1.5)
    assert event_text(busy, lambda c: "127.0.0.1:9") == (
        "corrupt     #3 127.0.0.1:9 offset 9 bit 0  and 12,000 more not listed"
    )


@pytest.mark.parametrize(
    "fields",
    [{"bit": 8}, {"bit": -1}, {"offset": -1}, {"offset": "1"}, {"more": -2}],
)
def test_a_corrupt_event_from_outside_is_checked(fields: dict[str, object]) -> None:
    payload = {"event": "corrupt", "ts": 1.0, "client": 1, "offset": 5, "bit": 3}
    with pytest.raises(ValueError, match="corrupt event"):
        from_json({**payload, **fields})


# ---- through a real socket -----------------------------------------------------------


def test_the_client_sees_exactly_the_flips_reported(start_server: object) -> None:
    running: RunningServer = start_server(seed=11)  # type: ignore[operator]
    client = running.connect()
    client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    port = client.getsockname()[1]
    client_id = running.events.wait_for(
        ClientConnected, lambda e: e.peer.endswith(f":{port}")
    ).client
    running.server.set_fault(client_id, "corrupt=1/3000")
    running.events.wait_for(FaultChanged, client=client_id)
    sent = random.Random(2).randbytes(60_000)
    got = bytearray()

    def reported(count: int) -> list[Corrupted] | None:
        found = running.events.of(Corrupted)
        return found if sum(1 + e.more for e in found) == count else None

    with client:
        for start in range(0, len(sent), 6000):
            client.sendall(sent[start : start + 6000])
            got += recv_exactly(client, 6000)
            # A piece's flips reported before the next goes: a few a tick, so
            # every one is listed (more than LISTED_FLIPS a tick are counted).
            seen = flips_between(sent[: len(got)], bytes(got))
            count = len(seen)
            wait_until(lambda: reported(count), message="the piece's flips")  # noqa: B023
        assert len(seen) > LISTED_FLIPS, "some bits were flipped"
        wait_until(
            lambda: running.server.fault_activity(client_id).corrupted == len(seen)  # type: ignore[union-attr]
        )
    events = reported(len(seen))
    assert events is not None
    assert all(e.client == client_id and e.more == 0 for e in events)
    assert [(e.offset, e.bit) for e in events] == seen


def test_the_event_log_and_the_book_show_a_flip() -> None:
    book = ClientBook(lambda: 0.0)
    book.apply(ClientConnected(client=3, peer="127.0.0.1:9", ts=1.0))
    flip = Corrupted(client=3, offset=7, bit=1, ts=2.0)
    assert book.apply(flip) == 3
    assert book.clients[3].timeline is not None
    assert book.clients[3].timeline[-1] == flip  # the detail view's events
    lines = event_lines([flip], book, DataSummary())
    assert len(lines) == 1
    lifecycle, text = lines[0]
    assert lifecycle
    assert text.endswith(" corrupt     #3 127.0.0.1:9 offset 7 bit 1")


def test_the_headless_log_says_each_flip_the_client_saw() -> None:
    with Headless("--fault", "corrupt=1/1", "--seed", "4") as server:
        port = int(server.line_matching("listening").rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port), timeout=DEADLINE) as client:
            client.sendall(b"\x00\x00")
            got = recv_exactly(client, 2)
            lines = [server.line_matching("corrupt     #") for _ in range(2)]
        for offset, line in enumerate(lines):
            bit = int(line.rsplit(" bit ", 1)[1])
            assert f" offset {offset} bit " in line
            assert got[offset] == 1 << bit
        server.finish()
