"""`EchoLoop`: the readiness loop on the server's thread, doing all client I/O.

One loop serves every client. It owns the sockets, the poller (epoll on Linux, poll
elsewhere) and the queue of commands from other threads; every decision about a
client is its `Connection`'s (see `connection.py`): the loop reports what happened
and carries out the `Todo` flags it gets back.

Other threads hand the loop commands (`call`) and wake it with one byte on a socket
pair; the loop talks back through the `EventFeed`: lifecycle events at once, data
events coalesced once per `TICK`.
"""

from __future__ import annotations

import contextlib
import errno
import heapq
import itertools
import math
import os
import random
import socket
import struct
import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from tui_echo.engine.config import ServerConfig
from tui_echo.engine.connection import (
    BUDGET,
    CLOSE,
    ECHO,
    INTEREST,
    RECV_SIZE,
    WAKE,
    Connection,
    Limits,
)
from tui_echo.engine.feed import EventFeed
from tui_echo.engine.kernel import read_kernel_stats
from tui_echo.engine.memory import MemoryBudget, release_freed_memory
from tui_echo.engine.poller import READ, READABLE, TROUBLE, WRITE, Poller
from tui_echo.events import (
    ClientConnected,
    Event,
    FaultChanged,
    KernelStats,
    Rejected,
    ServerError,
    ShutdownComplete,
)
from tui_echo.faults import FaultActivity, FaultSpec, FaultTarget, fault_text
from tui_echo.states import CloseHow
from tui_echo.words import format_peer

TICK = 0.1
"""Seconds between coalesced data events (and idle-timeout checks)."""

ACCEPT_BATCH = 64
"""Connections taken per readiness of the listener, so a flood can't starve clients."""

ACCEPT_RETRY = 0.1
"""Pause in accepting after EMFILE and friends, instead of spinning on the error."""

TIMER_GRAIN = 0.001
"""epoll's unit of time: below it, a deadline is met by sleeping, not polling."""

STALE_TIMERS = 1024
"""Timer entries beyond two per client that make the heap worth rebuilding."""

FIN_DRAIN_READS = 16
"""Reads of unread input before a FIN close: enough for any socket buffer, bounded."""

_OUT_OF_RESOURCES = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM})
_LINGER_ABORT = struct.pack("ii", 1, 0)

Command = Callable[[], object]


class SideChannel(Protocol):
    """Descriptors the loop serves beside its clients (the control socket): it
    registers them with `EchoLoop.poller`, the loop hands over what is ready and
    tells it of every event published. Loop thread only."""

    @property
    def wants_events(self) -> bool:
        """Whether `on_events` has anyone to tell (else it is not called)."""
        ...

    def owns(self, fd: int) -> bool:
        """True for its descriptors."""
        ...

    def on_ready(self, fd: int, mask: int) -> None:
        """The poller says one of its descriptors is ready."""

    def on_events(self, events: Sequence[Event], first_seq: int) -> None:
        """Events were published, numbered from `first_seq` (1 for the first)."""

    def tick(self, now: float) -> None:
        """The loop's periodic tick."""

    def close(self) -> None:
        """The loop stops: say what is left to say, and close."""


@dataclass(frozen=True, slots=True)
class Totals:
    """The server's counts at one moment (loop thread)."""

    clients: int
    total: int
    """Clients accepted since start (the latest id)."""
    rejected: int
    bytes_in: int
    bytes_out: int
    pending: int
    uptime: float
    listening: str
    default_fault: FaultSpec | None


class EchoLoop:
    """The loop thread's world: listener, clients, poller, commands (see module doc).

    Only `call` and the read-only properties may be used from other threads.
    """

    def __init__(
        self,
        config: ServerConfig,
        feed: EventFeed,
        listener: socket.socket,
    ) -> None:
        self.config = config
        self.feed = feed
        self._listener = listener
        self._limits = Limits(
            max_buffer=config.max_buffer,
            budget=MemoryBudget(config.max_memory),
            rng=random.Random(config.seed),
        )
        self._default_fault = config.fault
        """The fault each new client gets (`--fault`, `FAULT new`)."""
        self._timers: list[tuple[float, int, Connection]] = []
        """(deadline, tie-breaker, connection): when to call `Connection.timer`.
        An entry whose time is no longer its connection's deadline is stale."""
        self._timer_order = itertools.count()
        self._kernel: dict[int, KernelStats] = {}
        """The last kernel sample of the clients someone watches."""
        self.poller = Poller()
        """The loop's poller; side channels register their descriptors with it."""
        self._poller = self.poller
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._poller.register(self._wake_r.fileno(), READ)
        self._poller.register(listener.fileno(), READ)
        self._commands: deque[Command] = deque()
        self._by_fd: dict[int, tuple[socket.socket, Connection]] = {}
        self._by_id: dict[int, tuple[socket.socket, Connection]] = {}
        self._last_id = 0
        """The id of the latest client (ids count from 1, one per connection)."""
        self._active: set[Connection] = set()
        """Clients with I/O since the last tick: each gets a data event."""
        self._running = True
        self._closed = False
        self._accepting = True
        self._accept_paused_until = 0.0
        self._accept_error_reported = False
        self._buffer = bytearray(RECV_SIZE)
        self._view = memoryview(self._buffer)
        """Where every read lands; only what a partial write leaves is copied."""
        self._published = 0
        """Events published so far: the `seq` of the control socket's stream."""
        self._started_at = time.monotonic()
        self._listening = format_peer(listener.getsockname())
        self._rejected = 0
        self._closed_in = self._closed_out = 0
        """Bytes of the clients that are gone (for STATS)."""
        self._side: SideChannel | None = None

    def attach(self, side: SideChannel) -> None:
        """Serve `side`'s descriptors too (before `run`, on the starting thread)."""
        self._side = side

    # ---- any thread ---------------------------------------------------------------

    def call(self, command: Command) -> None:
        """Run `command` on the loop thread soon (any thread; dropped once closed)."""
        if self._closed:
            return
        self._commands.append(command)
        with contextlib.suppress(OSError):  # full (already awake) or closed (stopped)
            self._wake_w.send(b"\0")

    @property
    def client_count(self) -> int:
        """Clients connected now (a snapshot)."""
        return len(self._by_id)

    def recent_bytes(self, client_id: int) -> bytes | None:
        """The last bytes an inspected client sent, or None (a snapshot)."""
        entry = self._by_id.get(client_id)
        return None if entry is None else entry[1].recent

    def kernel_stats(self, client_id: int) -> KernelStats | None:
        """The kernel's view of a watched client at the last sample (a snapshot)."""
        return self._kernel.get(client_id)

    def fault_activity(self, client_id: int) -> FaultActivity | None:
        """What a client's fault has done, or None without one (a snapshot)."""
        entry = self._by_id.get(client_id)
        return None if entry is None else entry[1].fault_activity()

    # ---- the loop -------------------------------------------------------------------

    def run(self) -> None:
        """Serve until `request_stop`, then close everything (the thread's body)."""
        try:
            self._serve()
        except Exception as exc:  # a bug, not a client: say so, then shut down cleanly
            self.publish(ServerError(message=f"internal error: {exc!r}"))
        finally:
            self._shutdown()

    def publish(self, event: Event) -> None:
        """Publish a lifecycle event: to the feed, and to `EVENTS` readers (the loop
        thread; the server's thread before the loop starts)."""
        self.feed.publish(event)
        self._count_and_stream([event])

    def _count_and_stream(self, events: Sequence[Event]) -> None:
        """Number published events, and stream them to the control socket's
        `EVENTS` readers, if there are any."""
        first = self._published + 1
        self._published += len(events)
        side = self._side
        if side is not None and side.wants_events:
            side.on_events(events, first)

    def request_stop(self) -> None:
        """Leave the loop after this turn (loop thread: send it through `call`)."""
        self._running = False

    def _serve(self) -> None:
        poll = self._poller.poll
        by_fd = self._by_fd
        monotonic = time.monotonic
        on_readable = self._on_readable
        on_writable = self._on_writable
        timers = self._timers
        next_tick = monotonic() + TICK
        while self._running:
            if timers and timers[0][0] < next_tick:
                ready = self._wait_for_timer(timers[0][0])
            else:
                timeout = next_tick - monotonic()
                ready = poll(timeout if timeout > 0 else 0)
            now = monotonic()
            for fd, mask in ready:
                entry = by_fd.get(fd)
                if entry is None:
                    self._on_special(fd, mask)
                    continue
                sock, conn = entry
                # What this batch reports may be stale: a command or an earlier
                # event may have changed what the client wants (stall, pause), or
                # closed it and given its descriptor to a new client.
                mask &= conn.interest | TROUBLE
                try:
                    if mask & READABLE:
                        on_readable(sock, conn, mask, now)
                    if mask & WRITE and conn.close_reason is None:
                        on_writable(sock, conn, now)
                except Exception as exc:  # a bug must cost one client, not the loop
                    self._carry_out(sock, conn, conn.broke(exc))
            if timers and timers[0][0] <= now:
                self._run_timers(now)
            if now >= next_tick:
                try:
                    self._tick(now)
                except Exception as exc:  # a bug: report it and keep serving
                    self.publish(ServerError(message=f"internal error: {exc!r}"))
                next_tick = now + TICK

    def _wait_for_timer(self, deadline: float) -> list[tuple[int, int]]:
        """Poll until `deadline` (a fault's), or until a socket is ready, to the
        tenth of a millisecond: epoll counts whole milliseconds (rounded up, so a
        delay would come up to 1 ms late), so the last fraction is slept."""
        timeout = deadline - time.monotonic()
        if timeout >= TIMER_GRAIN:
            return self._poller.poll(math.floor(timeout * 1000) / 1000)
        ready = self._poller.poll(0)
        if not ready and timeout > 0:
            time.sleep(timeout)  # under a millisecond; the GIL is free meanwhile
        return ready

    def _on_special(self, fd: int, mask: int) -> None:
        try:
            if fd == self._wake_r.fileno():
                self._run_commands()
            elif fd == self._listener.fileno():
                self._accept()
            elif self._side is not None and self._side.owns(fd):
                self._side.on_ready(fd, mask)
        except Exception as exc:  # a bug: report it and keep serving
            self.publish(ServerError(message=f"internal error: {exc!r}"))

    def _run_commands(self) -> None:
        with contextlib.suppress(OSError):
            while self._wake_r.recv(4096):
                pass
        commands = self._commands
        while commands:
            command = commands.popleft()
            try:
                command()
            except Exception as exc:  # a bug in one: report it, run the others
                self.publish(ServerError(message=f"internal error: {exc!r}"))

    # ---- clients: I/O, then what the connection says --------------------------------

    def _on_readable(
        self, sock: socket.socket, conn: Connection, mask: int, now: float
    ) -> None:
        if not conn.interest & READ:  # an error or hang-up while not reading
            self._on_hangup(sock, conn)
            return
        try:
            # Into the one preallocated buffer: recv(256 KiB) would allocate
            # and shrink 256 KiB per call, which costs more than the syscall.
            count = sock.recv_into(self._buffer, conn.room)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as exc:
            self._carry_out(sock, conn, conn.failed(exc))
            return
        self._active.add(conn)
        if not count:
            todo = conn.eof(now)
        else:
            data = self._view[:count]
            todo = conn.received(data, now)
            if todo == ECHO:  # the fast path: send it all back, done
                try:
                    sent = sock.send(data)
                except (BlockingIOError, InterruptedError):
                    sent = 0
                except OSError as exc:
                    # None of it went: pending, then discarded by the close.
                    self._carry_out(sock, conn, conn.cut_short(data, 0) & BUDGET)
                    self._carry_out(sock, conn, conn.failed(exc))
                    return
                if sent == count:
                    return
                todo = conn.cut_short(data, sent)
        if todo:
            self._carry_out(sock, conn, todo)

    def _on_writable(self, sock: socket.socket, conn: Connection, now: float) -> None:
        try:
            sent = sock.send(conn.outgoing())
        except (BlockingIOError, InterruptedError):
            return
        except OSError as exc:
            self._carry_out(sock, conn, conn.failed(exc))
            return
        self._active.add(conn)
        todo = conn.flushed(sent, now)
        if todo:
            self._carry_out(sock, conn, todo)

    def _on_hangup(self, sock: socket.socket, conn: Connection) -> None:
        """The poller reports an error or a hang-up (both directions shut) on a
        socket that is not read (stalled, paused)."""
        error = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if error:
            self._carry_out(sock, conn, conn.failed(OSError(error, os.strerror(error))))
        elif not conn.interest & WRITE:  # nothing else would notice: don't spin
            self._carry_out(sock, conn, conn.eof(time.monotonic()))

    def _carry_out(self, sock: socket.socket, conn: Connection, todo: int) -> None:
        """Do what a connection's answer asks."""
        if todo & CLOSE:
            self._close(sock, conn)
            return
        if todo & INTEREST:
            self._poller.modify(sock.fileno(), conn.interest)
        if todo & WAKE and conn.deadline is not None:
            heapq.heappush(self._timers, (conn.deadline, next(self._timer_order), conn))
        if todo & BUDGET:
            self._budget_flipped()

    def _drop_stale_timers(self) -> None:
        """Rebuild the heap from the live deadlines: entries of closed clients
        (a churn of clients with `close-in=1h`, say) must not pile up."""
        self._timers[:] = [  # in place: the loop holds this list
            (conn.deadline, next(self._timer_order), conn)
            for _, conn in self._by_id.values()
            if conn.deadline is not None
        ]
        heapq.heapify(self._timers)

    def _run_timers(self, now: float) -> None:
        """Call `timer` on every connection whose deadline has come."""
        timers = self._timers
        by_id = self._by_id
        while timers and timers[0][0] <= now:
            when, _, conn = heapq.heappop(timers)
            entry = by_id.get(conn.id)
            if entry is None or conn.deadline != when:
                continue  # closed since, or its deadline moved (a new entry exists)
            try:
                todo = conn.timer(now)
                if todo:
                    self._carry_out(entry[0], conn, todo)
            except Exception as exc:  # a bug must cost one client, not the loop
                self._carry_out(entry[0], conn, conn.broke(exc))

    def _budget_flipped(self) -> None:
        """All clients together went over `max_memory`, or back under half of it:
        every connection reconsiders its reading (rare: the two lines are far apart).
        """
        now = time.monotonic()
        for sock, conn in list(self._by_id.values()):
            todo = conn.budget_changed(now)
            if todo:
                self._carry_out(sock, conn, todo & ~BUDGET)

    # ---- accepting ----------------------------------------------------------------

    def _accept(self) -> None:
        listener = self._listener
        for _ in range(ACCEPT_BATCH):
            try:
                sock, address = listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                if exc.errno in _OUT_OF_RESOURCES:
                    self._pause_accepting(exc)
                # ECONNABORTED and the like: that client gave up; go on serving
                return
            self._accept_error_reported = False
            peer = format_peer(address)
            limit = self.config.max_clients
            if limit is not None and len(self._by_id) >= limit:
                sock.close()
                self._rejected += 1
                self.publish(
                    Rejected(peer=peer, reason=f"max clients ({limit}) reached")
                )
            else:
                self._add_client(sock, peer)
            if self.feed.backlogged:
                self._set_accepting(False)
                return

    def _add_client(self, sock: socket.socket, peer: str) -> None:
        try:
            sock.setblocking(False)
            # Small echoes must not wait for Nagle's algorithm (asyncio does the same).
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:  # the client is already gone; nothing to report yet
            sock.close()
            return
        now = time.monotonic()
        self._last_id += 1
        conn = Connection(self._last_id, peer, self._limits, now)
        entry = (sock, conn)
        self._by_fd[sock.fileno()] = entry
        self._by_id[conn.id] = entry
        self._poller.register(sock.fileno(), conn.interest)
        self.publish(ClientConnected(client=conn.id, peer=peer, ts=time.time()))
        if self._default_fault is not None:  # the default, no event of its own
            self._carry_out(sock, conn, conn.set_fault(self._default_fault, now))

    def _pause_accepting(self, exc: OSError) -> None:
        """Out of descriptors or memory: stop accepting a moment rather than spin."""
        self._set_accepting(False)
        self._accept_paused_until = time.monotonic() + ACCEPT_RETRY
        if not self._accept_error_reported:
            self._accept_error_reported = True
            reason = exc.strerror or str(exc)
            self.publish(
                ServerError(
                    message=f"accept failed: {reason.lower()};"
                    " accepting paused until descriptors are free"
                )
            )

    def _set_accepting(self, accepting: bool) -> None:
        if accepting != self._accepting:
            self._poller.modify(self._listener.fileno(), READ if accepting else 0)
            self._accepting = accepting

    # ---- the tick -------------------------------------------------------------------

    def _tick(self, now: float) -> None:
        """Publish coalesced data events and run the periodic checks."""
        if self._active:
            ts = time.time()
            data = [c.take_data_event(ts) for c in self._active]
            self._active = set()
            self.feed.publish_data(data)
            self._count_and_stream(data)
        if self._side is not None:
            self._side.tick(now)
        idle_timeout = self.config.idle_timeout
        if idle_timeout is not None:
            for sock, conn in list(self._by_id.values()):
                todo = conn.check_idle(now, idle_timeout)
                if todo:
                    self._carry_out(sock, conn, todo)
        if self._limits.budget.trim_due(now):
            release_freed_memory()
        if len(self._timers) > 2 * len(self._by_id) + STALE_TIMERS:
            self._drop_stale_timers()
        if not self._accepting and self._may_accept_again(now):
            self._set_accepting(True)

    def _may_accept_again(self, now: float) -> bool:
        """True once an accept pause (EMFILE, event backlog) has served its purpose."""
        return (
            self._running
            and now >= self._accept_paused_until
            and not self.feed.backlogged
        )

    # ---- commands (loop thread: other threads send them through `call`) -----------

    def kick(self, client_id: int) -> bool:
        """Close a client with a FIN; False if there is no such client."""
        return self._tell(client_id, Connection.kick)

    def reset(self, client_id: int) -> bool:
        """Close a client with an RST; False if there is no such client."""
        return self._tell(client_id, Connection.reset)

    def kick_all(self) -> None:
        """Kick every client."""
        for client_id in list(self._by_id):
            self.kick(client_id)

    def set_fault(self, target: FaultTarget, spec: FaultSpec | None) -> bool:
        """Put a fault in force on a client, on `all` clients now, or on `new` ones;
        each change publishes a `fault` event. False if there is no such client."""
        text = fault_text(spec)
        if target == "new":
            self._default_fault = spec
            self.publish(FaultChanged(fault=text))
            return True
        now = time.monotonic()
        if target == "all":
            ids = list(self._by_id)
        elif int(target) in self._by_id:
            ids = [int(target)]
        else:
            return False
        for client_id in ids:
            entry = self._by_id.get(client_id)
            if entry is not None:  # not closed by an earlier one's fault
                sock, conn = entry
                self.publish(FaultChanged(client=client_id, fault=text))
                self._carry_out(sock, conn, conn.set_fault(spec, now))
        return True

    def sample_kernel(self, client_ids: Iterable[int]) -> None:
        """Ask the kernel about these clients now, forgetting the others (only the
        loop thread knows that a descriptor is still the client's)."""
        by_id = self._by_id
        sampled = {}
        for client_id in client_ids:
            entry = by_id.get(client_id)
            if entry is not None and (stats := read_kernel_stats(entry[0])):
                sampled[client_id] = stats
        self._kernel = sampled

    def inspect(self, client_id: int, enabled: bool) -> bool:
        """Start or stop keeping a client's recent bytes; False if it is unknown."""
        entry = self._by_id.get(client_id)
        if entry is not None:
            entry[1].inspect(enabled)
        return entry is not None

    def _tell(self, client_id: int, what: Callable[[Connection], int]) -> bool:
        entry = self._by_id.get(client_id)
        if entry is None:
            return False
        sock, conn = entry
        self._carry_out(sock, conn, what(conn))
        return True

    # ---- what watchers may read (loop thread) ---------------------------------

    def connections(self) -> Iterable[Connection]:
        """Every connected client's connection, in the order they came."""
        return [conn for _, conn in self._by_id.values()]

    def connection(self, client_id: int) -> Connection | None:
        """A connected client's connection, or None."""
        entry = self._by_id.get(client_id)
        return None if entry is None else entry[1]

    def totals(self) -> Totals:
        """The server's counts now (the clients still here count as they stand)."""
        conns = [conn for _, conn in self._by_id.values()]
        return Totals(
            clients=len(conns),
            total=self._last_id,
            rejected=self._rejected,
            bytes_in=self._closed_in + sum(c.bytes_in for c in conns),
            bytes_out=self._closed_out + sum(c.bytes_out for c in conns),
            pending=self._limits.budget.pending,
            uptime=time.monotonic() - self._started_at,
            listening=self._listening,
            default_fault=self._default_fault,
        )

    # ---- closing ------------------------------------------------------------------

    def _close(self, sock: socket.socket, conn: Connection) -> None:
        """Forget a client and close its socket as its connection says; publish.

        Closing a client that is closed already does nothing.
        """
        if self._by_id.pop(conn.id, None) is None:
            return
        fd = sock.fileno()
        del self._by_fd[fd]
        self._active.discard(conn)
        with contextlib.suppress(KeyError, ValueError, OSError):
            self._poller.unregister(fd)
        how = conn.close_how
        if how is CloseHow.FIN:
            self._send_fin(sock)
        if how is CloseHow.RST:
            _abort(sock)
        else:
            sock.close()
        ts = time.time()
        last_data = conn.take_data_event(ts) if conn.has_unreported_bytes else None
        closed = conn.closed_event(ts)
        self.feed.publish_close(closed, last_data)
        self._count_and_stream([closed] if last_data is None else [last_data, closed])
        self._closed_in += conn.bytes_in
        self._closed_out += conn.bytes_out
        if conn.discard() & BUDGET:
            self._budget_flipped()

    def _send_fin(self, sock: socket.socket) -> None:
        """FIN first, then throw away what the client sent meanwhile: closing a
        socket with unread bytes would make the kernel answer with an RST, which
        also drops what the kernel still had to deliver."""
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_WR)
            for _ in range(FIN_DRAIN_READS):
                if not sock.recv_into(self._buffer):
                    break

    def discard(self) -> None:
        """Close the loop's own poller and wake-up pair, for a loop that never ran
        (its thread could not start); the listener and the control socket stay the
        caller's to give back."""
        self._closed = True
        self._poller.close()
        self._wake_r.close()
        self._wake_w.close()

    def _shutdown(self) -> None:
        """Close the listener and every client; the loop thread's last act."""
        self._closed = True
        with contextlib.suppress(KeyError, ValueError, OSError):
            self._poller.unregister(self._listener.fileno())
        self._listener.close()
        for sock, conn in list(self._by_id.values()):
            self._carry_out(sock, conn, conn.shut_down())
        self.publish(ShutdownComplete())
        if self._side is not None:
            self._side.close()
        self._poller.close()
        self._wake_r.close()
        self._wake_w.close()


def _abort(sock: socket.socket) -> None:
    """Close with an RST rather than a FIN (SO_LINGER on, timeout 0)."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _LINGER_ABORT)
    sock.close()
