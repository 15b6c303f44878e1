"""One client's rules, as the loop thread keeps them. No I/O here.

The loop (`loop.py`) owns the socket, the poller and the timer heap. It tells a
`Connection` what happened and gets back what to do, as `Todo` flags (0: nothing):

    todo = conn.received(data, now)     # bytes arrived
    if todo & ECHO:                     # nothing waits: send `data` back at once;
        todo = conn.cut_short(data, sent)   # ...only if not all of it went
    todo = conn.flushed(sent, now)      # pending bytes (`conn.outgoing()`) went
    todo = conn.eof(now)                # the client shut down its sending side
    todo = conn.timer(now)              # `conn.deadline` came
    if todo & SEND:                     # (of `received` or `timer`) a fault let bytes
        todo = conn.flushed(sent, now)  # go: send `outgoing()`, say how many went

and acts on the flags: `INTEREST` (register `conn.interest` with the poller),
`WAKE` (call `timer` at `conn.deadline`), `CLOSE` (close the socket the way
`conn.close_how` says, for `conn.close_reason`), `BUDGET` (the shared memory budget
crossed a line: call `budget_changed` on every connection).

The rules, each here and only here:

- Echo eagerly: while nothing is pending and no fault is set, what arrives goes
  straight back (the fast path: two calls, no state change); so it does under a
  fault that does nothing to those bytes (a `slice` they fit in, counted as a
  piece; `close-in`, `reset-in`).
- Pending bytes never exceed `max_buffer`: a read takes at most `room` bytes, and
  reading stops (state `paused`) once the buffer is full; it resumes at half.
- All clients' pending bytes together are bounded by `max_memory` (`MemoryBudget`):
  past it every client with bytes pending stops reading, and the others read at most
  `OVER_BUDGET_READ` at a time (so they are still served, at a bounded cost), until
  the total is back under half.
- After the client's EOF nothing more is read; once everything pending has been
  echoed the connection closes (`peer closed`).
- The poller watches readability only while reading is wanted and writability only
  while something may be sent now and a send did not take it (`SEND`: try first).
- Every close has a reason (`CloseReason`, or an error's words) that says how the
  socket closes: kick, shutdown, idle timeout, `close-after` and `close-in` with a
  FIN; reset, `reset-after` and `reset-in` with an RST; an error as it is. Every
  byte received is echoed or counted as discarded: at close,
  `bytes_in == bytes_out + discarded`.
- A fault is a `FaultStack` (faults/stack.py) of stages this class knows nothing
  of: it asks the stack what to keep, what to hold back, how much one send may take
  and when, and when to wake or close. A client without a fault pays nothing for
  any of it.
"""

from __future__ import annotations

from tui_echo.engine.limits import Limits
from tui_echo.engine.poller import READ, WRITE
from tui_echo.events import ClientClosed, ClientData, Corrupted
from tui_echo.faults import FaultActivity, FaultSpec
from tui_echo.faults.stack import FaultStack
from tui_echo.states import ClientState, CloseHow, CloseReason, error_reason
from tui_echo.units import RING_SIZE

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
SEND = 32
"""Send `outgoing()` now, then report it with `flushed` (bytes a fault let go, to a
socket not known to be full: one send, not a `WRITE` round trip via the poller)."""

OVER_BUDGET_READ = 4096
"""Most a client with nothing pending may read while all clients together are over
`max_memory`: what it adds to memory before its echo goes is bounded by this."""

NOTHING_PENDING = b""
"""The outbound buffer of every client with nothing pending (saves memory when idle)."""


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
        """Why the connection closes (a `CloseReason` or an error's words), once a
        call returned `CLOSE`."""
        self.counted = 0
        """Pending bytes as the memory budget has them."""
        self.fault: FaultStack | None = None
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
        """What the loop may send now (when `WRITE` is of interest, or on `SEND`)."""
        fault = self.fault
        if fault is None or not (fault.shapes_sends or fault.alters_bytes):
            return self.outbuf
        return fault.outgoing(self.outbuf, self.bytes_out)

    # ---- what happened -----------------------------------------------------------

    def received(self, data: memoryview, now: float) -> int:
        """`data` arrived from the client (at most `room` bytes).

        Returns `ECHO` when nothing is pending and no fault is set (or the fault
        lets `data` pass as it is): `data` goes straight back, and is counted as
        sent (the fast path: one call per read); otherwise `data` joins the
        pending bytes, after them (`SEND` if a fault lets them go now).
        """
        size = len(data)
        self.bytes_in += size
        self.last_received = now
        if self.recent is not None:
            self.recent = (self.recent + data)[-RING_SIZE:]
        fault = self.fault
        if not self.outbuf and (
            fault is None or (fault.passing and fault.passes(size))
        ):
            self.bytes_out += size
            return ECHO
        if fault is not None:
            return self._received_under(fault, data, now)
        self.outbuf += data  # pending data is a bytearray: grows in place
        return self._after_change(now)

    def cut_short(self, data: memoryview, sent: int) -> int:
        """The send of the `data` that `received` let through took only `sent`
        bytes (0 if it failed): keep the rest, pending."""
        self.bytes_out -= len(data) - sent
        if not sent and self.fault is not None:
            self.fault.unsent()  # the send `passes` counted took nothing
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
        if fault is not None and sent and fault.hears_sends:
            reason = fault.sent(sent, self.bytes_out, now)
            if reason is not None:
                return self._close(reason)
        if self.eof_seen and not self.pending:
            return self._close(CloseReason.PEER_CLOSED)
        return self._after_change(now)

    def eof(self, now: float) -> int:
        """The client shut down its sending side: echo what is pending, then close."""
        self.eof_seen = True
        if not self.pending:
            return self._close(CloseReason.PEER_CLOSED)
        return self._after_change(now)

    def timer(self, now: float) -> int:
        """`deadline` came: release held bytes, allow paced sends, close on time."""
        fault = self.fault
        self.deadline = None  # whatever comes next is a new wake-up
        if fault is None:
            return 0
        reason = fault.due(now) if fault.timed else None
        if reason is not None:
            return self._close(reason)
        self.outbuf = fault.release(self.outbuf, now)
        return SEND if self._sends_now(fault, now) else self._after_change(now)

    def failed(self, error: OSError) -> int:
        """The socket failed (reset, broken pipe, ...): close it with a reason."""
        return self._close(error_reason(error))

    def broke(self, error: Exception) -> int:
        """Serving this client raised (a bug): close it, as it is, saying so."""
        return self._close(f"internal error: {error!r}")

    def kick(self) -> int:
        """The operator kicks the client: FIN, pending bytes discarded."""
        return self._close(CloseReason.KICKED)

    def reset(self) -> int:
        """The operator resets the client: RST."""
        return self._close(CloseReason.RESET)

    def shut_down(self) -> int:
        """The server stops: FIN, pending bytes discarded."""
        return self._close(CloseReason.SHUTDOWN)

    def check_idle(self, now: float, idle_timeout: float) -> int:
        """Close with a FIN if the client sent nothing for `idle_timeout` seconds."""
        if now - self.last_received >= idle_timeout:
            return self._close(CloseReason.IDLE_TIMEOUT)
        return 0

    def budget_changed(self, now: float) -> int:
        """The memory budget went over or back under: read accordingly."""
        return self._after_change(now)

    def set_fault(self, spec: FaultSpec | None, now: float) -> int:
        """Put `spec` in force (None: no fault), replacing any fault before it.

        Bytes held by the old fault keep their turn but wait no longer than the
        new fault would hold them; without a fault they go at once.
        """
        old = self.fault
        if spec is None:
            if old is not None:  # what waited goes now, in its turn
                self.outbuf = old.release(self.outbuf, None)
            self.fault = None
            self.deadline = None
            return self._after_change(now)
        fault = FaultStack(spec, now, self.bytes_in, self.bytes_out, self.limits.rng)
        reason = fault.start(now, old)
        self.fault = fault
        self.outbuf = fault.release(self.outbuf, now)
        if reason is not None:
            return self._close(reason)
        return self._after_change(now)

    def discard(self) -> int:
        """The connection is closed: its pending bytes leave the memory budget.

        Call after `closed_event`, which counts them as discarded.
        """
        counted, self.counted = self.counted, 0
        self.outbuf = NOTHING_PENDING
        if self.fault is not None:
            self.fault.clear()
        return BUDGET if counted and self.limits.budget.add(-counted) else 0

    def inspect(self, enabled: bool) -> None:
        """Start (or stop) keeping the last `RING_SIZE` bytes received."""
        if not enabled:
            self.recent = None
        elif self.recent is None:
            self.recent = b""

    def fault_activity(self) -> FaultActivity | None:
        """What the client's fault has done since it was set, or None."""
        return None if self.fault is None else self.fault.activity()

    def take_corrupted(self, ts: float) -> list[Corrupted]:
        """A `corrupt` event for each bit the fault flipped since the last call."""
        fault = self.fault
        return [] if fault is None else fault.take_corrupted(self.id, ts)

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

    def _received_under(self, fault: FaultStack, data: memoryview, now: float) -> int:
        """What arrives while a fault is set: thrown away, held back, or queued."""
        if fault.admits:
            size = len(data)
            keep, reason = fault.admit(
                size, self.bytes_in, self.bytes_out, self.pending
            )
            self.dropped += size - keep
            if reason is not None:
                return self._close(reason)
            if not keep:
                return 0
            if keep < size:
                data = data[:keep]
        if not (fault.holds and fault.hold(data, now)):  # held: behind the rest
            if self.outbuf:
                self.outbuf += data
            else:
                self.outbuf = bytearray(data)
            if self._sends_now(fault, now):
                return SEND
        return self._after_change(now)

    def _sends_now(self, fault: FaultStack, now: float) -> bool:
        """Pending bytes may go now with one send (a piece of them, if the fault
        cuts them): the socket is not known to be full (`WRITE` not watched) and
        the fault lets a piece go."""
        if not self.outbuf or self.interest & WRITE:
            return False
        return not fault.shapes_sends or fault.send_wait(len(self.outbuf), now) <= 0

    def _after_change(self, now: float) -> int:
        """Count the pending bytes, pause or resume reading, choose what to watch and
        when to wake; say what the loop must do."""
        fault = self.fault
        outbuf = self.outbuf
        # `pending`, inlined: this runs twice for each delayed message
        pending = len(outbuf) if fault is None else len(outbuf) + fault.held_bytes
        limits = self.limits
        budget = limits.budget
        todo = 0
        if pending != self.counted:
            if budget.add(pending - self.counted):
                todo = BUDGET
            self.counted = pending
        if self.full:
            full = self.full = pending > limits.resume_below
        else:
            full = self.full = pending >= limits.max_buffer
        over = budget.over
        self.paused = paused = full or (over and pending > 0)
        read_cap = OVER_BUDGET_READ if over else RECV_SIZE
        self.room = min(read_cap, limits.max_buffer - pending)
        interest = 0 if paused or self.eof_seen else READ
        deadline = None
        if fault is None:
            if outbuf:
                interest |= WRITE
        else:
            if fault.stops_reading:
                interest = 0
            deadline = fault.deadline()
            if outbuf:
                wait = fault.send_wait(len(outbuf), now) if fault.shapes_sends else 0.0
                if wait <= 0:
                    interest |= WRITE
                elif deadline is None or now + wait < deadline:
                    deadline = now + wait
        if interest != self.interest:
            self.interest = interest
            todo |= INTEREST
        if deadline != self.deadline:
            self.deadline = deadline
            if deadline is not None:
                todo |= WAKE
        return todo

    def _close(self, reason: str) -> int:
        """Close for `reason`: its own way if it is a `CloseReason`, else (an
        error's words) as the socket is."""
        self.close_reason = reason
        self.close_how = (
            reason.how if isinstance(reason, CloseReason) else CloseHow.AS_IS
        )
        return CLOSE
