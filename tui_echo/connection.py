"""One client's state: outbound buffer, counters, flow-control flags. No I/O here.

The rules, which `server.py` follows and tests check without sockets:

- Pending outbound bytes never exceed `max_buffer`: a read asks for at most the room
  left (`read_size`), and reading stops once the buffer is full (`should_pause`).
- Reading resumes when the buffer has drained to half of `max_buffer` (`should_resume`).
- After the peer's EOF nothing more is read; once the buffer is empty the connection
  closes (`finished`).
- The selector watches readability only while reading is wanted, and writability only
  while something is pending (`interest`).
"""

from __future__ import annotations

import errno
import selectors
import socket

RECV_SIZE = 256 * 1024
"""Largest single read. Big reads mean fewer trips through the Python loop per MiB."""

RING_SIZE = 4096
"""Recent bytes kept for a client under inspection (the detail screen)."""

OPEN, PAUSED, HALF_CLOSED = "open", "paused", "half-closed"

NOTHING_PENDING = b""
"""The outbound buffer of every client with nothing pending (saves memory when idle)."""

_REASONS = {
    errno.ECONNRESET: "reset by peer",
    errno.EPIPE: "broken pipe",
    errno.ETIMEDOUT: "timed out",
    errno.EHOSTUNREACH: "host unreachable",
    errno.ENETUNREACH: "network unreachable",
}


class Connection:
    """A connected client as the loop thread sees it (loop thread only)."""

    __slots__ = (
        "bytes_in",
        "bytes_out",
        "eof",
        "id",
        "last_received",
        "outbuf",
        "paused",
        "recent",
        "reported_in",
        "sock",
    )

    def __init__(self, sock: socket.socket, client_id: int, now: float) -> None:
        self.sock = sock
        self.id = client_id
        self.outbuf: bytes | bytearray = NOTHING_PENDING
        """Bytes received but not yet sent back, oldest first. An idle client shares
        one empty `bytes`; a `bytearray` is made only when something waits."""
        self.bytes_in = 0
        self.bytes_out = 0
        self.reported_in = 0
        """`bytes_in` as of the last published data event."""
        self.paused = False
        """Reading stopped because `outbuf` is full."""
        self.eof = False
        """The peer shut down its sending side."""
        self.last_received = now
        """Monotonic time of the last byte received, for `--idle-timeout`."""
        self.recent: bytes | None = None
        """The last `RING_SIZE` bytes received, while the client is inspected."""

    def __repr__(self) -> str:
        return (
            f"<Connection #{self.id} {self.state}"
            f" in={self.bytes_in} out={self.bytes_out} pending={len(self.outbuf)}>"
        )

    @property
    def state(self) -> str:
        """`half-closed` after the peer's EOF, `paused` by backpressure, or `open`."""
        if self.eof:
            return HALF_CLOSED
        return PAUSED if self.paused else OPEN

    @property
    def pending(self) -> int:
        """Bytes waiting to be sent back."""
        return len(self.outbuf)

    def interest(self) -> int:
        """The selector events this connection wants now (0 when it wants none)."""
        events = 0
        if not (self.paused or self.eof):
            events |= selectors.EVENT_READ
        if self.outbuf:
            events |= selectors.EVENT_WRITE
        return events

    def read_size(self, max_buffer: int) -> int:
        """How much one read may take without overfilling the outbound buffer."""
        room = max_buffer - len(self.outbuf)
        return RECV_SIZE if room > RECV_SIZE else room

    def should_pause(self, max_buffer: int) -> bool:
        """True when the buffer is full and reading must stop."""
        return not self.paused and len(self.outbuf) >= max_buffer

    def should_resume(self, max_buffer: int) -> bool:
        """True when a paused connection has drained enough to read again."""
        return self.paused and len(self.outbuf) <= max_buffer // 2

    @property
    def finished(self) -> bool:
        """True when the peer sent EOF and everything it sent has been echoed."""
        return self.eof and not self.outbuf

    def remember(self, data: bytes | memoryview) -> None:
        """Keep `data` in the inspection ring (only while the client is inspected)."""
        if self.recent is not None:
            self.recent = (self.recent + data)[-RING_SIZE:]


def close_reason(exc: OSError) -> str:
    """A short, stable reason for an error on a client's socket."""
    if exc.errno in _REASONS:
        return _REASONS[exc.errno]
    if isinstance(exc, TimeoutError):
        return "timed out"
    text = exc.strerror or str(exc) or type(exc).__name__
    return text[0].lower() + text[1:] if text else text


def format_peer(address: tuple[object, ...] | str) -> str:
    """`host:port` for IPv4 and `[host]:port` for IPv6, as SPEC shows peers."""
    if isinstance(address, str):  # AF_UNIX and friends: show what we have
        return address or "?"
    host, port = str(address[0]), address[1]
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
