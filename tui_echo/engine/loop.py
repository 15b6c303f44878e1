"""`EchoLoop`: the readiness loop on the server's thread, doing all client I/O.

One loop serves every client. It owns the sockets, the poller (epoll on Linux, poll
elsewhere) and the queue of commands from other threads; every decision about a
client is its `Connection`'s (see `connection.py`): the loop reports what happened
and carries out the `Todo` flags it gets back.

Other threads hand it commands (`call`, engine/commands.py); it talks back through
the `EventFeed`: lifecycle events at once, data events coalesced once per `TICK`.

This module is the loop itself: readiness, I/O, closing. Its other parts are
rooms of their own that `EchoLoop` inherits: who comes in (admission.py), what
other threads ask of it (loop_commands.py), what it does each tick (tick.py),
when a deadline comes (timer_work.py), and TLS (tls_loop.py).
"""

from __future__ import annotations

import contextlib
import os
import random
import socket
import time
from collections import deque
from collections.abc import Sequence

from tui_echo.engine.acceptor import Acceptor
from tui_echo.engine.admission import Admission
from tui_echo.engine.clients import Clients
from tui_echo.engine.closing import close_socket
from tui_echo.engine.commands import Command, CommandQueue
from tui_echo.engine.config import ServerConfig
from tui_echo.engine.connection import (
    BUDGET,
    CLOSE,
    ECHO,
    INTEREST,
    RECV_SIZE,
    SEND,
    WAKE,
    Connection,
)
from tui_echo.engine.datagrams import DatagramPort
from tui_echo.engine.door import Door
from tui_echo.engine.feed import EventFeed
from tui_echo.engine.limits import Limits
from tui_echo.engine.loop_commands import LoopCommands
from tui_echo.engine.memory import MemoryBudget
from tui_echo.engine.peers import UDP_IDLE_TIMEOUT
from tui_echo.engine.poller import READ, READABLE, TROUBLE, WRITE, Poller
from tui_echo.engine.side_channel import SideChannel
from tui_echo.engine.tick import TICK, Ticking
from tui_echo.engine.timeline import Timeline
from tui_echo.engine.timer_work import TimerWork
from tui_echo.engine.timers import TIMER_SLACK, Timers, wait_until
from tui_echo.engine.tls_loop import TlsLoop
from tui_echo.engine.tls_setup import TlsServer
from tui_echo.events import (
    ClientClosed,
    ClientData,
    Event,
    ServerError,
    ShutdownComplete,
)
from tui_echo.faults.spec import chance_generator
from tui_echo.words import format_peer


class EchoLoop(LoopCommands, Admission, Ticking, TimerWork, TlsLoop):
    """The loop thread's world: listener, clients, poller, commands (see module doc).

    Only `call` and the read-only properties may be used from other threads.
    """

    def __init__(
        self,
        config: ServerConfig,
        feed: EventFeed,
        listener: socket.socket,
        datagrams: socket.socket | None = None,
        tls: TlsServer | None = None,
    ) -> None:
        self.config = config
        self.tls = tls
        """With `--tls`: every client speaks TLS (tls_loop.py handles it)."""
        self._handshakes = deque()
        self.feed = feed
        self._listener = listener
        self._limits = Limits(
            max_buffer=config.max_buffer,
            budget=MemoryBudget(config.max_memory),
            rng=random.Random(config.seed),
        )
        self._default_fault = config.fault
        """The fault each new client gets (`--fault`, `FAULT new`)."""
        self._chance = chance_generator(config.seed)
        """Draws `p=` among clients: seeded apart from the faults' own generator,
        so traffic (jitter's draws) never changes which clients are chosen."""
        self._timers = Timers()
        self.poller = Poller()
        """The loop's poller; side channels register their descriptors with it."""
        self._commands = CommandQueue(self.poller)
        self._acceptor = Acceptor(listener, self.poller, self._report)
        self._door = Door(self._acceptor, self._report)
        """The listener fault in force, carried out (door.py)."""
        self.clients = Clients(format_peer(listener.getsockname()))
        """Who is connected (loop thread; watchers read it there)."""
        self._by_fd = self.clients.by_fd
        self._by_id = self.clients.by_id
        self._active: set[Connection] = set()
        """Clients with I/O since the last tick: each gets a data event."""
        self._running = True
        self._buffer = bytearray(RECV_SIZE)
        self._view = memoryview(self._buffer)
        """Where every read lands; only what a partial write leaves is copied."""
        self._published = 0
        """Events published so far: the `seq` of the control socket's stream."""
        self._side: SideChannel | None = None
        self._timeline = (
            None
            if config.scenario is None
            else Timeline(
                config.scenario,
                self._timers,
                self.set_fault,
                self.set_listener_fault,
                self.publish,
                lambda client_id: "tcp" if self.peer(client_id) is None else "udp",
            )
        )
        """The scenario's steps to come (`--scenario`), or None."""
        self._alarms = () if self._timeline is None else (self._timeline.alarm,)
        """Timer entries that are no client's nor the door's."""
        self.udp = (
            None
            if datagrams is None
            else DatagramPort(
                datagrams,
                self.poller,
                self._limits,
                self.clients,
                config.idle_timeout or UDP_IDLE_TIMEOUT,
                # A new peer also waits for a backlogged feed (echoed, untracked).
                lambda: (
                    self._room_for_one(self._door.held) and not self.feed.backlogged
                ),
                self._peer_arrived,
                self.publish,
                self._publish_close,
                self._budget_flipped,
            )
        )
        """The UDP socket and its peers (`--udp`), or None."""
        self._udp_armed: float | None = None
        """The port's deadline as the timer heap has it."""

    def attach(self, side: SideChannel) -> None:
        """Serve `side`'s descriptors too (before `run`, on the starting thread)."""
        self._side = side

    # ---- any thread ---------------------------------------------------------------

    def call(self, command: Command) -> None:
        """Run `command` on the loop thread soon (any thread; dropped once closed)."""
        self._commands.call(command)

    # ---- the loop -------------------------------------------------------------------

    def run(self) -> None:
        """Serve until `request_stop`, then close everything (the thread's body)."""
        try:
            self._serve()
        except Exception as exc:  # a bug, not a client: say so, then shut down cleanly
            self._report_bug(exc)
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

    def _report(self, message: str) -> None:
        self.publish(ServerError(message=message))

    def _report_bug(self, exc: Exception) -> None:
        """A bug, not a client: say so; the loop goes on serving."""
        self._report(f"internal error: {exc!r}")

    def request_stop(self) -> None:
        """Leave the loop after this turn (loop thread: send it through `call`)."""
        self._running = False

    def _serve(self) -> None:
        poll = self.poller.poll
        by_fd = self._by_fd
        monotonic = time.monotonic
        on_readable = self._on_readable
        on_writable = self._on_writable
        if self.tls is not None:  # chosen once: plain clients pay no check per read
            on_readable = self._on_tls_readable
            on_writable = self._on_tls_writable
        timers = self._timers.heap
        next_tick = monotonic() + TICK
        timers_ran = 0.0
        while self._running:
            if timers and timers[0][0] < next_tick:
                ready = wait_until(poll, max(timers[0][0], timers_ran + TIMER_SLACK))
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
                timers_ran = now
            if now >= next_tick:
                try:
                    self._tick(now)
                except Exception as exc:  # a bug: report it and keep serving
                    self._report_bug(exc)
                next_tick = now + TICK

    def _on_special(self, fd: int, mask: int) -> None:
        try:
            if fd == self._commands.fileno():
                self._commands.run(self._report_bug)
            elif fd == self._listener.fileno():
                self._accept()
            elif self.udp is not None and fd == self.udp.fileno():
                self.udp.on_ready(mask, time.monotonic())
                self._arm_udp()
            elif self._side is not None and self._side.owns(fd):
                self._side.on_ready(fd, mask)
        except Exception as exc:  # a bug: report it and keep serving
            self._report_bug(exc)

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
            elif todo & SEND:  # a fault let it go now
                todo = self._send_pending(sock, conn, now)
        if todo:
            self._carry_out(sock, conn, todo)

    def _send_pending(self, sock: socket.socket, conn: Connection, now: float) -> int:
        """Send what may go of the pending bytes (`outgoing()`) and say so: when the
        socket is writable, and at once on `SEND` (it mostly fits the socket, and a
        `WRITE` round trip through the poller, two `epoll_ctl` and a turn of the
        loop, would cost more than the echo itself)."""
        if self.tls is not None:  # TLS records go as the TLS loop writes them
            return conn.flushed(0, now)
        try:
            sent = sock.send(conn.outgoing())
        except (BlockingIOError, InterruptedError):
            sent = 0  # `flushed` then asks the poller for `WRITE`
        except OSError as exc:
            return conn.failed(exc)
        self._active.add(conn)
        return conn.flushed(sent, now)

    def _on_writable(self, sock: socket.socket, conn: Connection, now: float) -> None:
        todo = self._send_pending(sock, conn, now)
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
            self.poller.modify(sock.fileno(), conn.interest)
        if todo & WAKE and conn.deadline is not None:
            self._timers.add(conn)
        if todo & BUDGET:
            self._budget_flipped()

    def _budget_flipped(self) -> None:
        """All clients together went over `max_memory`, or back under half of it:
        every connection reconsiders its reading (rare: the two lines are far apart).
        """
        now = time.monotonic()
        for sock, conn in self.clients.entries():
            todo = conn.budget_changed(now)
            if todo:
                self._carry_out(sock, conn, todo & ~BUDGET)

    # ---- closing ------------------------------------------------------------------

    def _close(self, sock: socket.socket, conn: Connection) -> None:
        """Forget a client and close its socket as its connection says; publish
        (nothing for a client closed already)."""
        fd = sock.fileno()
        if not self.clients.remove(fd, conn):
            return
        self._active.discard(conn)
        with contextlib.suppress(KeyError, ValueError, OSError):
            self.poller.unregister(fd)
        if self.tls is None:
            close_socket(sock, conn.close_how, self._buffer)
        else:
            self._close_tls_socket(sock, conn)
        ts = time.time()
        last_data = conn.take_data_event(ts) if conn.has_unreported_bytes else None
        if conn.fault is not None:  # flips made since the tick, before the close
            for event in conn.take_corrupted(ts):
                self.publish(event)
        closed = conn.closed_event(ts)
        self.clients.remember(closed, conn)
        self._publish_close(closed, last_data)
        if conn.discard() & BUDGET:
            self._budget_flipped()

    def _publish_close(
        self, closed: ClientClosed, last_data: ClientData | None
    ) -> None:
        """Publish a close, after the client's last data event if there is one."""
        if self._timeline is not None:  # its steps end with it (TCP or UDP)
            self._timeline.closed(closed.client)
        self.feed.publish_close(closed, last_data)
        self._count_and_stream([closed] if last_data is None else [last_data, closed])

    def start_scenario(self) -> None:
        """Start the scenario's clock now, if there is one (the server's thread,
        just after `listening` and before the loop runs)."""
        if self._timeline is not None:
            self._timeline.start(time.monotonic())

    def close_unstarted(self) -> None:
        """Close the poller and the wake-up pair of a loop whose thread could not
        start (the listener and the control socket are the caller's to give back)."""
        self._commands.close()
        self.poller.close()

    def _shutdown(self) -> None:
        """Close the listener and every client; the loop thread's last act."""
        self._door.close()
        self._acceptor.close()
        for sock, conn in self.clients.entries():
            self._carry_out(sock, conn, conn.shut_down())
        if self.udp is not None:
            self.udp.close()
        self.publish(ShutdownComplete())
        if self._side is not None:
            self._side.close()
        self._commands.close()
        self.poller.close()
