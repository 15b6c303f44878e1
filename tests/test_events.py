"""Event JSON form and data-event merging."""

from __future__ import annotations

import json

import pytest

from tui_echo.events import (
    ClientClosed,
    ClientConnected,
    ClientData,
    ClientState,
    Corrupted,
    Event,
    FaultChanged,
    ListenerChanged,
    Listening,
    Rejected,
    ServerError,
    ShutdownComplete,
    json_line,
    to_json,
)
from tui_echo.events_parse import from_json


def test_json_form_has_event_and_ts_first_then_the_spec_fields() -> None:
    cases = [
        (Listening(host="::1", port=9000, ts=1.5), ["host", "port"]),
        (
            ClientConnected(client=1, peer="[::1]:4", ts=1.5),
            ["client", "peer", "proto"],
        ),
        (
            ClientData(
                client=1,
                bytes=3,
                bytes_in=3,
                bytes_out=2,
                pending=1,
                state="open",
                ts=1.5,
            ),
            ["client", "bytes", "bytes_in", "bytes_out", "pending", "state"],
        ),
        (
            ClientClosed(client=1, reason="kicked", bytes_in=3, bytes_out=3, ts=1.5),
            ["client", "reason", "bytes_in", "bytes_out", "discarded"],
        ),
        (
            Rejected(peer="1.2.3.4:5", reason="max clients (1) reached", ts=1.5),
            ["peer", "reason"],
        ),
        (ServerError(message="boom", ts=1.5), ["message"]),
        (ServerError(message="boom", client=4, ts=1.5), ["message", "client"]),
        (ShutdownComplete(ts=1.5), []),
        (ListenerChanged(fault="refuse,for=5s", ts=1.5), ["fault"]),
    ]
    for event, fields in cases:
        payload = to_json(event)
        assert list(payload) == ["event", "ts", *fields]
        assert payload["event"] == event.kind
        assert payload["ts"] == 1.5
        assert json.loads(json.dumps(payload)) == payload


def test_merged_data_sums_bytes_and_keeps_the_latest_counters() -> None:
    first = ClientData(
        client=7, bytes=10, bytes_in=10, bytes_out=4, pending=6, state="open", ts=1.0
    )
    second = ClientData(
        client=7,
        bytes=5,
        bytes_in=15,
        bytes_out=15,
        pending=0,
        state="half-closed",
        ts=2.0,
    )
    merged = second.merged_after(first)
    assert merged == ClientData(
        client=7,
        bytes=15,
        bytes_in=15,
        bytes_out=15,
        pending=0,
        state="half-closed",
        ts=2.0,
    )


EVERY_KIND: list[Event] = [
    Listening(host="::1", port=9000, ts=1.5),
    ClientConnected(client=1, peer="[::1]:5", ts=2.0),
    ClientData(
        client=1,
        bytes=3,
        bytes_in=3,
        bytes_out=1,
        pending=2,
        state=ClientState.PAUSED,
        ts=2.5,
    ),
    ClientClosed(client=1, reason="kicked", bytes_in=3, bytes_out=1, ts=3.0),
    FaultChanged(client=1, fault="delay=50ms", ts=3.5),
    FaultChanged(fault="off", ts=3.6),
    Rejected(peer="127.0.0.1:7", reason="max clients (1) reached", ts=4.0),
    ServerError(message="boom", ts=4.5),
    ShutdownComplete(ts=5.0),
    ListenerChanged(fault="accept-delay=200ms,for=1s", ts=5.5),
    ListenerChanged(fault="off", ts=5.6),
    Corrupted(client=1, offset=1024, bit=7, more=3, ts=5.5),
]
"""One event of every kind (a fault event both for a client and for all)."""


def test_every_event_reads_back_from_its_json() -> None:
    for event in EVERY_KIND:
        assert from_json(json.loads(json.dumps(to_json(event)))) == event
    assert from_json({**to_json(EVERY_KIND[1]), "seq": 7}) == EVERY_KIND[1]


@pytest.mark.parametrize(
    "payload",
    [
        [],
        {"event": "party", "ts": 1.0},
        {"event": "connect", "ts": 1.0, "client": 1},
        {"event": "connect", "ts": 1.0, "client": "1", "peer": "x"},
        {"event": "connect", "ts": True, "client": 1, "peer": "x"},
        {
            "event": "data",
            "ts": 1.0,
            "client": 1,
            "bytes": 0,
            "bytes_in": 0,
            "bytes_out": 0,
            "pending": 0,
            "state": "dancing",
        },
        {"event": "connect", "ts": float("nan"), "client": 1, "peer": "x"},
        {"event": "connect", "ts": float("-inf"), "client": 1, "peer": "x"},
        {"event": "connect", "ts": 1.0, "client": None, "peer": "x"},
        {"event": "connect", "ts": 1.0, "client": -3, "peer": "x"},
    ],
)
def test_what_is_not_one_of_our_events_is_a_value_error(payload: object) -> None:
    with pytest.raises(ValueError, match=r"event|JSON"):
        from_json(payload)


def test_strings_from_outside_never_carry_control_characters() -> None:
    event = from_json(
        {"event": "connect", "ts": 1.0, "client": 1, "peer": "\x1b[2J\x07evil"}
    )
    assert isinstance(event, ClientConnected)
    assert event.peer == "\\x1b[2J\\x07evil"


def test_the_fast_json_line_is_exactly_the_json_form() -> None:
    events = [
        *EVERY_KIND,
        Listening(host="::1", port=9000, ts=1.25),
        ClientConnected(client=1, peer='[::1]:5 "quoted" é', ts=2.0),
        ClientData(
            client=1,
            bytes=3,
            bytes_in=3,
            bytes_out=1,
            pending=2,
            state=ClientState.HALF_CLOSED,
            ts=1796004764.200956,
        ),
        FaultChanged(client=1, fault="delay=50ms,slice=1", ts=3.5),
        ServerError(message="boom\n\x1b", ts=4.5),
        ServerError(message="about one", client=3, ts=4.5),
    ]
    for event in events:
        line = json_line(event)
        assert "\n" not in line
        assert json.loads(line) == to_json(event)
        assert list(json.loads(line)) == list(to_json(event))  # the same key order
