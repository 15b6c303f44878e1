"""One client's rules, as the loop thread keeps them. No I/O here.

The loop (`loop.py`) owns the socket and the selector. It tells a `Connection` what
happened and gets back what to do, as `Todo` flags (0: nothing):

    todo = conn.received(data, now)     # bytes arrived
    if todo & ECHO:                     # nothing waits: send `data` back at once
        todo = conn.echoed(data, sent)  # ...and say how much of it went
    todo = conn.flushed(sent)           # pending bytes (`conn.outgoing()`) went
    todo = conn.eof()                   # the client shut down its sending side

and acts on the flags: `INTEREST` (register `conn.interest` with the selector),
`CLOSE` (close the socket the way `conn.close_how` says, for `conn.close_reason`),
`BUDGET` (the shared memory budget crossed a line: call `budget_changed` on every
connection).

The rules, each here and only here:

- Echo eagerly: while nothing is pending, what arrives goes straight back.
- Pending bytes never exceed `max_buffer`: a read takes at most `room` bytes, and
  reading stops (state `paused`) once the buffer is full; it resumes at half.
- All clients' pending bytes together are bounded by `max_memory` (`MemoryBudget`):
  past it every client with bytes pending stops reading, and the others read at most
  `OVER_BUDGET_READ` at a time (so they are still served, at a bounded cost), until
  the total is back under half.
- After the client's EOF nothing more is read; once everything pending has been
  echoed the connection closes (`peer closed`).
- The selector watches readability only while reading is wanted and writability only
  while something is pending.
- Kick, shutdown and idle timeout close with a FIN, reset with an RST; an error on
  the socket closes it as it is. Pending bytes thrown away are counted (`discarded`).
"""

from __future__ import annotations

import errno
import select
from dataclasses import dataclass
from enum import Enum

from tui_echo.common import RING_SIZE, ClientState
from tui_echo.events import ClientClosed, ClientData

READ = select.POLLIN
"""Interest in readability (the same bit for poll and epoll)."""
WRITE = select.POLLOUT
"""Interest in writability."""

RECV_SIZE = 256 * 1024
"""Largest single read. Big reads mean fewer trips through the Python loop per MiB."""

# Todo flags: what the loop must do after a call.
ECHO = 1
"""Send the bytes just received, then report with `echoed`."""
INTEREST = 2
"""Register `interest` with the selector."""
CLOSE = 4
"""Close now, as `close_how` says."""
BUDGET = 8
"""The memory budget went over or back under: tell every connection."""

TRIM_AFTER = 32 * 1024 * 1024
"""Freed pending bytes that make it worth giving memory back to the system."""
TRIM_EVERY = 1.0
"""Seconds between two such returns at most (each takes milliseconds)."""

OVER_BUDGET_READ = 4096
"""Most a client with nothing pending may read while all clients together are over
`max_memory`: what it adds to memory before its echo goes is bounded by this."""

NOTHING_PENDING = b""
"""The outbound buffer of every client with nothing pending (saves memory when idle)."""

_ERROR_REASONS = {
    errno.ECONNRESET: "reset by peer",
    errno.EPIPE: "broken pipe",
    errno.ETIMEDOUT: "timed out",
    errno.EHOSTUNREACH: "host unreachable",
    errno.ENETUNREACH: "network unreachable",
}


class CloseHow(Enum):
    """How the loop closes a socket."""

    AS_IS = "as is"
    """Just close: the client is gone or the socket failed."""
    FIN = "fin"
    """Shut down the sending side, discard unread input, close: the client sees EOF,
    never an RST that would wipe what the kernel still had to deliver."""
    RST = "rst"
    """Abort (SO_LINGER 0): the client sees ECONNRESET."""


class MemoryBudget:
    """All clients' pending bytes together, against `max_memory` (loop thread only)."""

    __slots__ = ("high_water", "limit", "over", "pending", "trimmed_at")

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.pending = 0
        """Bytes pending over all clients."""
        self.over = False
        """Went past `limit` and has not come back under half of it yet."""
        self.high_water = 0
        """The most `pending` since memory was last given back."""
        self.trimmed_at = float("-inf")

    def add(self, change: int) -> int:
        """Count `change` more (or fewer) pending bytes; `BUDGET` if `over` flipped."""
        self.pending += change
        if self.pending > self.high_water:
            self.high_water = self.pending
        if self.over:
            if self.pending > self.limit // 2:
                return 0
        elif self.pending <= self.limit:
            return 0
        self.over = not self.over
        return BUDGET

    def trim_due(self, now: float) -> bool:
        """True (once) when so much was freed that memory should go back to the
        system: `TRIM_AFTER` bytes below the high-water mark, at most every
        `TRIM_EVERY` seconds."""
        if self.high_water - self.pending < TRIM_AFTER:
            return False
        if now - self.trimmed_at < TRIM_EVERY:
            return False
        self.high_water = self.pending
        self.trimmed_at = now
        return True


@dataclass(frozen=True, slots=True)
class Limits:
    """The limits every connection keeps (from `ServerConfig`)."""

    max_buffer: int
    """Most pending bytes one client may hold; reading pauses there."""
    budget: MemoryBudget
    """All clients' pending bytes, shared."""

    @property
    def resume_below(self) -> int:
        """A paused client reads again once its pending bytes are down to this."""
        return self.max_buffer // 2


class Connection:
    """A connected client's state and rules (loop thread only)."""

    __slots__ = (
        "bytes_in",
        "bytes_out",
        "close_how",
        "close_reason",
        "connected_at",
        "counted",
        "eof_seen",
        "full",
        "id",
        "interest",
        "last_received",
        "limits",
        "outbuf",
        "paused",
        "peer",
        "recent",
        "reported_in",
        "room",
    )

    def __init__(self, client_id: int, peer: str, limits: Limits, now: float) -> None:
        self.id = client_id
        self.peer = peer
        self.limits = limits
        self.connected_at = now
        self.outbuf: bytes | bytearray = NOTHING_PENDING
        """Bytes received but not yet sent back, oldest first. An idle client shares
        one empty `bytes`; a `bytearray` is made only when something waits."""
        self.bytes_in = 0
        self.bytes_out = 0
        self.reported_in = 0
        """`bytes_in` as of the last data event."""
        self.full = False
        """`outbuf` reached `max_buffer` and has not drained to half since."""
        self.paused = False
        """Reading stopped: `full`, or the memory budget is over and bytes wait."""
        self.eof_seen = False
        """The client shut down its sending side."""
        self.last_received = now
        """Monotonic time of the last read, for `--idle-timeout`."""
        self.recent: bytes | None = None
        """The last `RING_SIZE` bytes received, while the client is inspected."""
        self.interest = READ
        """What the selector should watch: the loop registers it on `INTEREST`."""
        self.room = min(RECV_SIZE, limits.max_buffer)
        """The most the next read may take."""
        self.close_how = CloseHow.AS_IS
        self.close_reason: str | None = None
        """Why the connection closes, once a call returned `CLOSE`."""
        self.counted = 0
        """Pending bytes as the memory budget has them."""

    def __repr__(self) -> str:
        return (
            f"<Connection #{self.id} {self.state}"
            f" in={self.bytes_in} out={self.bytes_out} pending={self.pending}>"
        )

    # ---- what the loop and the events read --------------------------------------

    @property
    def state(self) -> ClientState:
        """`half-closed` after the client's EOF, `paused` by backpressure, or `open`."""
        if self.eof_seen:
            return ClientState.HALF_CLOSED
        return ClientState.PAUSED if self.paused else ClientState.OPEN

    @property
    def pending(self) -> int:
        """Bytes waiting to be sent back."""
        return len(self.outbuf)

    def outgoing(self) -> bytes | bytearray:
        """The pending bytes the loop may send now (when `WRITE` is of interest)."""
        return self.outbuf

    # ---- what happened -----------------------------------------------------------

    def received(self, data: memoryview, now: float) -> int:
        """`data` arrived from the client (at most `room` bytes).

        Returns `ECHO` when nothing is pending, so `data` goes straight back;
        otherwise `data` joins the pending bytes, after them.
        """
        self.bytes_in += len(data)
        self.last_received = now
        if self.recent is not None:
            self.recent = (self.recent + data)[-RING_SIZE:]
        if not self.outbuf:
            return ECHO
        self.outbuf += data  # pending data is a bytearray: grows in place
        return self._after_change()

    def echoed(self, data: memoryview, sent: int) -> int:
        """`sent` bytes of the `data` that `received` let through went out."""
        self.bytes_out += sent
        if sent == len(data):
            return 0  # the fast path: nothing kept, nothing to change
        self.outbuf = bytearray(data[sent:])
        return self._after_change()

    def flushed(self, sent: int) -> int:
        """`sent` bytes of `outgoing()` went out."""
        self.bytes_out += sent
        del self.outbuf[:sent]  # type: ignore[union-attr] # pending data is a bytearray
        if not self.outbuf:
            self.outbuf = NOTHING_PENDING  # let a big buffer's memory go
            if self.eof_seen:
                return self._close("peer closed", CloseHow.AS_IS)
        return self._after_change()

    def eof(self) -> int:
        """The client shut down its sending side: echo what is pending, then close."""
        self.eof_seen = True
        if not self.outbuf:
            return self._close("peer closed", CloseHow.AS_IS)
        return self._after_change()

    def failed(self, error: OSError) -> int:
        """The socket failed (reset, broken pipe, ...): close it with a reason."""
        return self._close(close_reason(error), CloseHow.AS_IS)

    def kick(self) -> int:
        """The operator kicks the client: FIN, pending bytes discarded."""
        return self._close("kicked", CloseHow.FIN)

    def reset(self) -> int:
        """The operator resets the client: RST."""
        return self._close("reset", CloseHow.RST)

    def shut_down(self) -> int:
        """The server stops: FIN, pending bytes discarded."""
        return self._close("shutdown", CloseHow.FIN)

    def budget_changed(self) -> int:
        """The memory budget went over or back under: read accordingly."""
        return self._after_change()

    def discard(self) -> int:
        """The connection is closed: its pending bytes leave the memory budget.

        Call after `closed_event`, which counts them as discarded.
        """
        counted, self.counted = self.counted, 0
        self.outbuf = NOTHING_PENDING
        return self.limits.budget.add(-counted) if counted else 0

    def check_idle(self, now: float, idle_timeout: float) -> int:
        """Close with a FIN if the client sent nothing for `idle_timeout` seconds."""
        if now - self.last_received >= idle_timeout:
            return self._close("idle timeout", CloseHow.FIN)
        return 0

    def inspect(self, enabled: bool) -> None:
        """Start (or stop) keeping the last `RING_SIZE` bytes received."""
        if not enabled:
            self.recent = None
        elif self.recent is None:
            self.recent = b""

    # ---- events ----------------------------------------------------------------

    def take_data_event(self, ts: float) -> ClientData:
        """A data event with what arrived since the last one; marks it reported."""
        event = ClientData(
            client=self.id,
            bytes=self.bytes_in - self.reported_in,
            bytes_in=self.bytes_in,
            bytes_out=self.bytes_out,
            pending=self.pending,
            state=self.state,
            ts=ts,
        )
        self.reported_in = self.bytes_in
        return event

    @property
    def has_unreported_bytes(self) -> bool:
        """True when bytes arrived since the last data event."""
        return self.bytes_in != self.reported_in

    def closed_event(self, ts: float) -> ClientClosed:
        """The close event, once a call returned `CLOSE`."""
        return ClientClosed(
            client=self.id,
            reason=self.close_reason or "closed",
            bytes_in=self.bytes_in,
            bytes_out=self.bytes_out,
            discarded=self.pending,
            ts=ts,
        )

    # ---- the rules ----------------------------------------------------------------

    def _after_change(self) -> int:
        """Count the pending bytes, pause or resume reading; say what the loop must do.

        Returns `INTEREST` if the selector interest changed, `BUDGET` if the memory
        budget flipped.
        """
        pending = len(self.outbuf)
        limits = self.limits
        budget = limits.budget
        todo = 0
        if pending != self.counted:
            todo = budget.add(pending - self.counted)
            self.counted = pending
        if self.full:
            self.full = pending > limits.resume_below
        else:
            self.full = pending >= limits.max_buffer
        self.paused = self.full or (budget.over and pending > 0)
        read_cap = OVER_BUDGET_READ if budget.over else RECV_SIZE
        self.room = min(read_cap, limits.max_buffer - pending)
        interest = 0
        if not (self.paused or self.eof_seen):
            interest = READ
        if pending:
            interest |= WRITE
        if interest != self.interest:
            self.interest = interest
            todo |= INTEREST
        return todo

    def _close(self, reason: str, how: CloseHow) -> int:
        self.close_reason = reason
        self.close_how = how
        return CLOSE


def close_reason(error: OSError) -> str:
    """A short, stable reason for an error on a client's socket."""
    if error.errno in _ERROR_REASONS:
        return _ERROR_REASONS[error.errno]
    if isinstance(error, TimeoutError):
        return "timed out"
    text = error.strerror or str(error) or type(error).__name__
    return text[0].lower() + text[1:]
