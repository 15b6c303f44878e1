"""One client's rules, as the loop thread keeps them. No I/O here.

The loop (`loop.py`) owns the socket, the poller and the timer heap. It tells a
`Connection` what happened and gets back what to do, as `Todo` flags (0: nothing):

    todo = conn.received(data, now)     # bytes arrived
    if todo & ECHO:                     # nothing waits: send `data` back at once;
        todo = conn.cut_short(data, sent)   # ...only if not all of it went
    todo = conn.flushed(sent, now)      # pending bytes (`conn.outgoing()`) went
    todo = conn.eof(now)                # the client shut down its sending side
    todo = conn.timer(now)              # `conn.deadline` came

and acts on the flags: `INTEREST` (register `conn.interest` with the poller),
`WAKE` (call `timer` at `conn.deadline`), `CLOSE` (close the socket the way
`conn.close_how` says, for `conn.close_reason`), `BUDGET` (the shared memory budget
crossed a line: call `budget_changed` on every connection).

The rules, each here and only here:

- Echo eagerly: while nothing is pending and no fault is set, what arrives goes
  straight back (the fast path: two calls, no state change).
- Pending bytes never exceed `max_buffer`: a read takes at most `room` bytes, and
  reading stops (state `paused`) once the buffer is full; it resumes at half.
- All clients' pending bytes together are bounded by `max_memory` (`MemoryBudget`):
  past it every client with bytes pending stops reading, and the others read at most
  `OVER_BUDGET_READ` at a time (so they are still served, at a bounded cost), until
  the total is back under half.
- After the client's EOF nothing more is read; once everything pending has been
  echoed the connection closes (`peer closed`).
- The poller watches readability only while reading is wanted and writability only
  while something may be sent now.
- Kick, shutdown, idle timeout, `close-after` and `close-in` close with a FIN; reset,
  `reset-after` and `reset-in` with an RST; an error closes the socket as it is.
  Every byte received is echoed or counted as discarded: at close,
  `bytes_in == bytes_out + discarded`.
- A fault (faults.py) is more state here: delayed bytes wait in `ActiveFault.held`
  with their release times (in order, jitter included), sends are cut and paced
  (`slice`, `rate` as a token bucket, `gap`), and every time-based rule asks for a
  wake-up through `deadline`. A client without a fault pays nothing for any of it.
"""

from __future__ import annotations

import errno
import random
import select
from collections import deque
from dataclasses import dataclass
from enum import Enum

from tui_echo.events import ClientClosed, ClientData, ClientState
from tui_echo.faults import FaultActivity, FaultSpec
from tui_echo.units import RING_SIZE

READ = select.POLLIN
"""Interest in readability (the same bit for poll and epoll)."""
WRITE = select.POLLOUT
"""Interest in writability."""

RECV_SIZE = 256 * 1024
"""Largest single read. Big reads mean fewer trips through the Python loop per MiB."""

# Todo flags: what the loop must do after a call.
ECHO = 1
"""Send the bytes just received; if the send takes fewer, report with `cut_short`
(they are counted as sent already, so a whole send needs no second call)."""
INTEREST = 2
"""Register `interest` with the poller."""
CLOSE = 4
"""Close now, as `close_how` says."""
BUDGET = 8
"""The memory budget went over or back under: tell every connection."""
WAKE = 16
"""Call `timer` at `deadline` (a new, different deadline)."""

OVER_BUDGET_READ = 4096
"""Most a client with nothing pending may read while all clients together are over
`max_memory`: what it adds to memory before its echo goes is bounded by this."""

TRIM_AFTER = 32 * 1024 * 1024
"""Freed pending bytes that make it worth giving memory back to the system."""
TRIM_EVERY = 1.0
"""Seconds between two such returns at most (each takes milliseconds)."""

RATE_SENDS_PER_SECOND = 50
"""A `rate` echoes in sends of about rate/50 bytes: smooth, yet few wake-ups."""

_TOKEN_SLACK = 1e-6
"""Rounding in the token arithmetic: a bucket this close to full enough is enough."""

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
    """What every connection shares: its limits (from `ServerConfig`) and more."""

    max_buffer: int
    """Most pending bytes one client may hold; reading pauses there."""
    budget: MemoryBudget
    """All clients' pending bytes, shared."""
    rng: random.Random
    """The faults' one seeded generator (`--seed`): jitter repeats with the seed."""

    @property
    def resume_below(self) -> int:
        """A paused client reads again once its pending bytes are down to this."""
        return self.max_buffer // 2


class ActiveFault:
    """A fault in force on one client, and the state it needs (loop thread only)."""

    __slots__ = (
        "close_at",
        "delayed",
        "discarded",
        "held",
        "held_bytes",
        "in_base",
        "last_release",
        "out_base",
        "pieces",
        "send_after",
        "spec",
        "tokens",
        "tokens_at",
    )

    def __init__(
        self, spec: FaultSpec, now: float, bytes_in: int, bytes_out: int
    ) -> None:
        self.spec = spec
        self.held: deque[tuple[float, bytes]] = deque()
        """Delayed bytes with their release times, oldest first."""
        self.held_bytes = 0
        self.last_release = now
        """The latest release time given: later bytes never go before it."""
        self.tokens = 0.0
        """`rate`: bytes that may be sent now (a bucket of at most one second)."""
        self.tokens_at = now
        self.send_after = now
        """`gap`: no send before this."""
        self.in_base, self.out_base = bytes_in, bytes_out
        """The counters when the fault was set: `reset-after` and `close-after`
        count from there."""
        self.close_at: float | None = None
        if spec.close_in is not None or spec.reset_in is not None:
            self.close_at = now + min(
                t for t in (spec.close_in, spec.reset_in) if t is not None
            )
        self.delayed = self.pieces = self.discarded = 0

    def refill(self, now: float) -> None:
        """Tokens for the time that passed (`rate` only)."""
        rate = self.spec.rate
        if rate is not None:
            self.tokens = min(float(rate), self.tokens + (now - self.tokens_at) * rate)
            self.tokens_at = now

    def activity(self) -> FaultActivity:
        return FaultActivity(self.delayed, self.pieces, self.discarded)


class Connection:
    """A connected client's state and rules (loop thread only)."""

    __slots__ = (
        "bytes_in",
        "bytes_out",
        "close_how",
        "close_reason",
        "connected_at",
        "counted",
        "deadline",
        "dropped",
        "eof_seen",
        "fault",
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
        """Bytes that may be echoed (now or as the fault allows), oldest first. An
        idle client shares one empty `bytes`; a `bytearray` is made when bytes wait."""
        self.bytes_in = 0
        self.bytes_out = 0
        self.reported_in = 0
        """`bytes_in` as of the last data event."""
        self.full = False
        """Pending bytes reached `max_buffer` and have not drained to half since."""
        self.paused = False
        """Reading stopped: `full`, or the memory budget is over and bytes wait."""
        self.eof_seen = False
        """The client shut down its sending side."""
        self.last_received = now
        """Monotonic time of the last read, for `--idle-timeout`."""
        self.recent: bytes | None = None
        """The last `RING_SIZE` bytes received, while the client is inspected."""
        self.interest = READ
        """What the poller should watch: the loop registers it on `INTEREST`."""
        read_cap = OVER_BUDGET_READ if limits.budget.over else RECV_SIZE
        self.room = min(read_cap, limits.max_buffer)
        """The most the next read may take."""
        self.close_how = CloseHow.AS_IS
        self.close_reason: str | None = None
        """Why the connection closes, once a call returned `CLOSE`."""
        self.counted = 0
        """Pending bytes as the memory budget has them."""
        self.fault: ActiveFault | None = None
        self.dropped = 0
        """Bytes faults threw away (blackhole, past close-after, reset-after),
        over every fault this client had."""
        self.deadline: float | None = None
        """When `timer` must be called next (a fault's wake-up), if ever."""

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
        """Bytes received and not yet echoed (delayed ones included)."""
        fault = self.fault
        return len(self.outbuf) + (fault.held_bytes if fault is not None else 0)

    @property
    def discarded(self) -> int:
        """Bytes faults threw away, plus what is pending (thrown away at close)."""
        return self.pending + self.dropped

    def outgoing(self) -> bytes | bytearray:
        """What the loop may send now (when `WRITE` is of interest)."""
        fault = self.fault
        if fault is None or not _shapes_sends(fault.spec):
            return self.outbuf
        return bytes(memoryview(self.outbuf)[: self._send_limit(fault)])

    # ---- what happened -----------------------------------------------------------

    def received(self, data: memoryview, now: float) -> int:
        """`data` arrived from the client (at most `room` bytes).

        Returns `ECHO` when nothing is pending and no fault is set: `data` goes
        straight back, and is counted as sent (the fast path: one call per read);
        otherwise `data` joins the pending bytes, after them.
        """
        size = len(data)
        self.bytes_in += size
        self.last_received = now
        if self.recent is not None:
            self.recent = (self.recent + data)[-RING_SIZE:]
        if self.fault is None and not self.outbuf:
            self.bytes_out += size
            return ECHO
        if self.fault is not None:
            return self._received_under(self.fault, data, now)
        self.outbuf += data  # pending data is a bytearray: grows in place
        return self._after_change(now)

    def cut_short(self, data: memoryview, sent: int) -> int:
        """The send of the `data` that `received` let through took only `sent`
        bytes (0 if it failed): keep the rest, pending."""
        self.bytes_out -= len(data) - sent
        self.outbuf = bytearray(data[sent:])
        return self._after_change(self.last_received)

    def flushed(self, sent: int, now: float) -> int:
        """`sent` bytes of `outgoing()` went out."""
        self.bytes_out += sent
        if sent:
            del self.outbuf[:sent]  # type: ignore[union-attr] # pending: a bytearray
        if not self.outbuf:
            self.outbuf = NOTHING_PENDING  # let a big buffer's memory go
        fault = self.fault
        if fault is not None and sent:
            if _shapes_sends(fault.spec):
                fault.pieces += 1
            fault.tokens -= sent
            fault.send_after = now + fault.spec.gap
            cap = fault.spec.close_after
            if cap is not None and self.bytes_out - fault.out_base >= cap:
                return self._close("close-after", CloseHow.FIN)
        if self.eof_seen and not self.pending:
            return self._close("peer closed", CloseHow.AS_IS)
        return self._after_change(now)

    def eof(self, now: float) -> int:
        """The client shut down its sending side: echo what is pending, then close."""
        self.eof_seen = True
        if not self.pending:
            return self._close("peer closed", CloseHow.AS_IS)
        return self._after_change(now)

    def timer(self, now: float) -> int:
        """`deadline` came: release delayed bytes, allow paced sends, close on time."""
        fault = self.fault
        self.deadline = None  # whatever comes next is a new wake-up
        if fault is None:
            return 0
        if fault.close_at is not None and now >= fault.close_at:
            return self._close_in_time(fault.spec)
        self._release(fault, now)
        return self._after_change(now)

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

    def check_idle(self, now: float, idle_timeout: float) -> int:
        """Close with a FIN if the client sent nothing for `idle_timeout` seconds."""
        if now - self.last_received >= idle_timeout:
            return self._close("idle timeout", CloseHow.FIN)
        return 0

    def budget_changed(self, now: float) -> int:
        """The memory budget went over or back under: read accordingly."""
        return self._after_change(now)

    def set_fault(self, spec: FaultSpec | None, now: float) -> int:
        """Put `spec` in force (None: no fault), replacing any fault before it.

        Bytes delayed by the old fault keep their turn but wait no longer than the
        new fault's delay; without a fault they go at once.
        """
        old = self.fault
        if spec is None:
            if old is not None:
                self._release(old, None)  # what waited goes now, in its turn
            self.fault = None
            self.deadline = None
            return self._after_change(now)
        fault = ActiveFault(spec, now, self.bytes_in, self.bytes_out)
        if old is not None:
            latest = now + spec.delay + spec.jitter
            for release, chunk in old.held:
                fault.held.append((min(release, latest), chunk))
                fault.held_bytes += len(chunk)
                fault.last_release = min(release, latest)
        self.fault = fault
        self._release(fault, now)
        if fault.close_at is not None and fault.close_at <= now:
            return self._close_in_time(spec)
        if spec.close_after == 0:
            return self._close("close-after", CloseHow.FIN)
        if spec.reset_after == 0:
            return self._close("reset-after", CloseHow.RST)
        return self._after_change(now)

    def discard(self) -> int:
        """The connection is closed: its pending bytes leave the memory budget.

        Call after `closed_event`, which counts them as discarded.
        """
        counted, self.counted = self.counted, 0
        self.outbuf = NOTHING_PENDING
        if self.fault is not None:
            self.fault.held.clear()
            self.fault.held_bytes = 0
        return self.limits.budget.add(-counted) if counted else 0

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
            discarded=self.discarded,
            ts=ts,
        )

    # ---- the rules ----------------------------------------------------------------

    def _received_under(self, fault: ActiveFault, data: memoryview, now: float) -> int:
        """What arrives while a fault is set: thrown away, held back, or queued."""
        spec = fault.spec
        received = self.bytes_in - fault.in_base
        if spec.reset_after is not None and received >= spec.reset_after:
            self._drop(fault, len(data))  # never echoed: the RST comes first
            return self._close("reset-after", CloseHow.RST)
        if spec.blackhole:
            self._drop(fault, len(data))
            return 0
        if spec.close_after is not None:
            room = spec.close_after - (self.bytes_out - fault.out_base) - self.pending
            if room < len(data):
                self._drop(fault, len(data) - max(room, 0))
                data = data[: max(room, 0)]
        if not data:
            return 0
        if spec.delay or spec.jitter or fault.held:  # behind what waits, in order
            release = now + spec.delay
            if spec.jitter:
                release += self.limits.rng.random() * spec.jitter
            release = max(release, fault.last_release)  # order is kept
            fault.last_release = release
            fault.held.append((release, bytes(data)))
            fault.held_bytes += len(data)
            fault.delayed += len(data)
        elif self.outbuf:
            self.outbuf += data
        else:
            self.outbuf = bytearray(data)
        return self._after_change(now)

    def _drop(self, fault: ActiveFault, count: int) -> None:
        """A fault throws `count` received bytes away (counted twice: for the
        client's close, and for what this fault has done)."""
        self.dropped += count
        fault.discarded += count

    def _release(self, fault: ActiveFault, until: float | None) -> None:
        """Move delayed bytes whose time has come (all, if `until` is None) to the
        bytes that may go, after those already there."""
        held = fault.held
        if not held or (until is not None and held[0][0] > until):
            return
        ready = self.outbuf if self.outbuf else bytearray()
        while held and (until is None or held[0][0] <= until):
            _, chunk = held.popleft()
            fault.held_bytes -= len(chunk)
            ready += chunk
        self.outbuf = ready

    def _send_limit(self, fault: ActiveFault) -> int:
        """How many pending bytes one send may take under the fault (0: not now)."""
        spec = fault.spec
        limit = len(self.outbuf)
        if spec.slice is not None:
            limit = min(limit, spec.slice)
        if spec.rate is not None:
            limit = min(limit, int(fault.tokens + _TOKEN_SLACK))
        if spec.close_after is not None:
            limit = min(limit, spec.close_after - (self.bytes_out - fault.out_base))
        return max(limit, 0)

    def _send_wait(self, fault: ActiveFault, now: float) -> float:
        """Seconds until the fault lets the next piece go (0: now)."""
        spec = fault.spec
        wait = max(0.0, fault.send_after - now)
        rate = spec.rate
        if rate is not None:
            fault.refill(now)
            want = min(len(self.outbuf), max(1, rate // RATE_SENDS_PER_SECOND))
            if spec.slice is not None:
                want = min(want, spec.slice)
            if fault.tokens + _TOKEN_SLACK < want:
                wait = max(wait, (want - fault.tokens) / rate)
        return wait

    def _after_change(self, now: float) -> int:
        """Count the pending bytes, pause or resume reading, choose what to watch and
        when to wake; say what the loop must do."""
        fault = self.fault
        pending = self.pending
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
        deadline = None
        if fault is not None:
            if fault.spec.stall:
                interest = 0
            deadline = fault.close_at
            if fault.held:
                deadline = _earliest(deadline, fault.held[0][0])
        if self.outbuf:
            wait = 0.0
            if fault is not None and _shapes_sends(fault.spec):
                wait = self._send_wait(fault, now)
            if wait <= 0:
                interest |= WRITE
            else:
                deadline = _earliest(deadline, now + wait)
        if interest != self.interest:
            self.interest = interest
            todo |= INTEREST
        if deadline != self.deadline:
            self.deadline = deadline
            if deadline is not None:
                todo |= WAKE
        return todo

    def _close_in_time(self, spec: FaultSpec) -> int:
        """`close-in` or `reset-in` is due (whichever was set; a reset wins a tie)."""
        if spec.reset_in is not None and (
            spec.close_in is None or spec.reset_in <= spec.close_in
        ):
            return self._close("reset-in", CloseHow.RST)
        return self._close("close-in", CloseHow.FIN)

    def _close(self, reason: str, how: CloseHow) -> int:
        self.close_reason = reason
        self.close_how = how
        return CLOSE


def _shapes_sends(spec: FaultSpec) -> bool:
    """True when a fault limits what one send may take, or when."""
    return spec.shapes_output or spec.close_after is not None


def _earliest(first: float | None, second: float) -> float:
    return second if first is None or second < first else first


def close_reason(error: OSError) -> str:
    """A short, stable reason for an error on a client's socket."""
    if error.errno in _ERROR_REASONS:
        return _ERROR_REASONS[error.errno]
    if isinstance(error, TimeoutError):
        return "timed out"
    text = error.strerror or str(error) or type(error).__name__
    return text[0].lower() + text[1:]
