"""The per-client rules, checked without sockets (the socket is never touched)."""

from __future__ import annotations

import errno
import selectors
import socket

from tui_echo.connection import RECV_SIZE, Connection, close_reason, format_peer

MAX = 1024 * 1024


def make() -> Connection:
    return Connection(socket.socket.__new__(socket.socket), 1, 0.0)


def test_a_fresh_connection_reads_only() -> None:
    conn = make()
    assert conn.outbuf == b""
    assert conn.state == "open"
    assert conn.interest() == selectors.EVENT_READ
    assert conn.read_size(MAX) == RECV_SIZE


def test_pending_bytes_add_write_interest() -> None:
    conn = make()
    conn.outbuf = bytearray(b"x" * 10)
    assert conn.interest() == selectors.EVENT_READ | selectors.EVENT_WRITE


def test_reads_never_overfill_the_buffer() -> None:
    conn = make()
    conn.outbuf = bytearray(MAX - 100)
    assert conn.read_size(MAX) == 100
    conn.outbuf += bytes(100)
    assert conn.should_pause(MAX)


def test_pause_and_resume_at_half() -> None:
    conn = make()
    conn.outbuf = bytearray(MAX)
    assert conn.should_pause(MAX)
    conn.paused = True
    assert conn.state == "paused"
    assert conn.interest() == selectors.EVENT_WRITE
    del conn.outbuf[: MAX // 2 - 1]
    assert not conn.should_resume(MAX)
    del conn.outbuf[:1]
    assert conn.should_resume(MAX)


def test_eof_stops_reading_and_finishes_once_drained() -> None:
    conn = make()
    conn.outbuf = bytearray(b"tail")
    conn.eof = True
    assert conn.state == "half-closed"
    assert conn.interest() == selectors.EVENT_WRITE
    assert not conn.finished
    conn.outbuf.clear()
    assert conn.finished


def test_inspection_ring_keeps_the_last_bytes_only_when_asked() -> None:
    conn = make()
    conn.remember(b"ignored")
    assert conn.recent is None
    conn.recent = b""
    conn.remember(b"a" * 4000)
    conn.remember(b"b" * 200)
    assert conn.recent == b"a" * 3896 + b"b" * 200


def test_close_reasons_are_short_and_stable() -> None:
    assert close_reason(ConnectionResetError(errno.ECONNRESET, "x")) == "reset by peer"
    assert close_reason(BrokenPipeError(errno.EPIPE, "x")) == "broken pipe"
    assert close_reason(TimeoutError(errno.ETIMEDOUT, "x")) == "timed out"
    assert close_reason(OSError(errno.EIO, "Input/output error")) == (
        "input/output error"
    )


def test_peers_are_formatted_as_the_spec_shows() -> None:
    assert format_peer(("127.0.0.1", 5000)) == "127.0.0.1:5000"
    assert format_peer(("::1", 5000, 0, 0)) == "[::1]:5000"
