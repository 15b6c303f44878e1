"""Words for people, and safe views of hostile client bytes."""

from __future__ import annotations

import pytest

from tui_echo.events import (
    ClientClosed,
    ClientConnected,
    ClientData,
    Listening,
)
from tui_echo.events_parse import from_json, from_json_line
from tui_echo.events_text import event_text
from tui_echo.units import human_duration, human_rate, human_size
from tui_echo.words import clock_time, escape, hexdump, printable, timestamp


@pytest.mark.parametrize(
    ("count", "text"),
    [
        (0, "0 B"),
        (1023, "1023 B"),
        (1024, "1.0 KiB"),
        (1536, "1.5 KiB"),
        (150 * 1024, "150 KiB"),
        (5 * 1024**3, "5.0 GiB"),
    ],
)
def test_human_size(count: int, text: str) -> None:
    assert human_size(count) == text


def test_human_rate_and_duration() -> None:
    assert human_rate(2 * 1024 * 1024) == "2.0 MiB/s"
    assert human_duration(4.25) == "4.2s"
    assert human_duration(42) == "42s"
    assert human_duration(187) == "3m07s"
    assert human_duration(7500) == "2h05m"
    assert human_duration(3 * 86400 + 4 * 3600) == "3d04h"


def test_describe_names_clients_by_peer() -> None:
    def peers(client: int) -> str | None:
        return {1: "[::1]:5"}.get(client)

    assert event_text(Listening(host="::1", port=9)) == "listening   on [::1]:9"
    assert (
        event_text(ClientConnected(client=1, peer="[::1]:5"))
        == "connect     #1 [::1]:5"
    )
    line = event_text(
        ClientData(
            client=1,
            bytes=2048,
            bytes_in=2048,
            bytes_out=1024,
            pending=1024,
            state="paused",
        ),
        peers,
    )
    assert line == (
        "data        #1 [::1]:5 +2.0 KiB  in 2.0 KiB  out 1.0 KiB"
        "  pending 1.0 KiB  paused"
    )
    closed = event_text(
        ClientClosed(client=2, reason="kicked", bytes_in=10, bytes_out=4, discarded=6),
        peers,
    )
    assert closed == "close       #2 kicked  in 10 B  out 4 B  discarded 6 B"


def test_printable_escapes_control_bytes_and_escape_sequences() -> None:
    hostile = b"ok\x1b[2J\x1b]0;title\x07\r\n\x00\xff\\"
    shown = printable(hostile)
    assert shown == "ok\\x1b[2J\\x1b]0;title\\x07\\r\\n\\x00\\xff\\\\"
    assert all(0x20 <= ord(ch) < 0x7F for ch in shown)


def test_hexdump_lines_have_offset_hex_and_sanitised_text() -> None:
    lines = hexdump(b"AB\x00\x1b" + bytes(range(0x41, 0x51)), width=8)
    assert lines[0] == "00000000  41 42 00 1b 41 42 43 44  AB..ABCD"
    assert lines[2] == "00000010  4d 4e 4f 50              MNOP"
    assert len(lines) == 3


@pytest.mark.parametrize(
    "number", [10**400, -(10**400), float("inf"), float("-inf"), float("nan"), 1e300]
)
def test_numbers_from_outside_never_break_the_words(number: float) -> None:
    """A byte count of 10^400 or an infinite age (a hostile log, a broken server)
    is shown at the edge, never raised (issue 16, finding 2)."""
    assert human_size(number).endswith("B")
    assert human_rate(number).endswith("B/s")
    assert human_duration(number)


@pytest.mark.parametrize("ts", [1e300, -1e18, 1e18, float("nan"), float("inf")])
def test_times_from_outside_never_break_the_clock(ts: float) -> None:
    assert len(clock_time(ts)) == len("00:00:00.000")
    assert timestamp(ts)


@pytest.mark.parametrize(
    ("payload", "complaint"),
    [
        ({"event": "shutdown", "ts": 1e300}, "'ts' out of range"),
        ({"event": "shutdown", "ts": -1e18}, "'ts' out of range"),
        (
            {
                "event": "close",
                "ts": 1,
                "client": 1,
                "reason": "x",
                "bytes_in": 10**400,
                "bytes_out": 0,
            },
            "'bytes_in' out of range",
        ),
        ({"event": "listening", "ts": 1, "host": "h", "port": 70000}, "'port' out"),
        ({"event": "connect", "ts": 1, "client": 1, "peer": "p" * 5000}, "too long"),
        ({"foo": 1}, 'it has no "event" field'),
        ({"event": "nope", "ts": 1}, "unknown kind 'nope'"),
    ],
)
def test_events_from_outside_out_of_range_are_refused(
    payload: dict[str, object], complaint: str
) -> None:
    with pytest.raises(ValueError, match=complaint):
        from_json(payload)


def test_a_line_nested_too_deeply_is_refused_in_words() -> None:
    """64 KiB of `[`: the JSON parser runs out of stack (RecursionError)."""
    with pytest.raises(ValueError, match="nested too deeply"):
        from_json_line("[" * 65536)


def test_once_anything_is_escaped_a_backslash_is_too() -> None:
    """The text `\\x1b` typed by someone must not read like an escaped ESC."""
    assert escape("a\\x1b") == "a\\x1b"  # nothing to escape: shown as it is
    assert escape("\\x1b\x1b") == "\\\\x1b\\x1b"
