"""Event JSON form and data-event merging."""

from __future__ import annotations

import json

from tui_echo.events import (
    ClientClosed,
    ClientConnected,
    ClientData,
    Listening,
    Rejected,
    ServerError,
    ShutdownComplete,
    to_json,
)


def test_json_form_has_event_and_ts_first_then_the_spec_fields() -> None:
    cases = [
        (Listening(host="::1", port=9000, ts=1.5), ["host", "port"]),
        (ClientConnected(client=1, peer="[::1]:4", ts=1.5), ["client", "peer"]),
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
