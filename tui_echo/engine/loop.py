"""`EchoLoop`: the readiness loop on the server's thread, doing all client I/O.

One loop serves every client. It owns the sockets, the poller (epoll on Linux, poll
elsewhere) and the queue of commands from other threads; every decision about a
client is its `Connection`'s (see `connection.py`): the loop reports what happened
and carries out the `Todo` flags it gets back.

Other threads hand it commands (`call`, engine/commands.py); it talks back through
the `EventFeed`: lifecycle events at once, data events coalesced once per `TICK`.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import random
import socket
import time
from collections import deque
from collections.abc import Callable, Sequence

from tui_echo.engine.acceptor import Acceptor
from tui_echo.engine.clients import Clients, Totals
from tui_echo.engine.closing import close_socket
from tui_echo.engine.commands import Command, CommandQueue
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
from tui_echo.engine.datagrams import DatagramPort
from tui_echo.engine.door import Door
from tui_echo.engine.feed import EventFeed
from tui_echo.engine.memory import MemoryBudget, release_freed_memory
from tui_echo.engine.peers import UDP_IDLE_TIMEOUT, Peer, with_peers
from tui_echo.engine.poller import READ, READABLE, TROUBLE, WRITE, Poller
from tui_echo.engine.side_channel import SideChannel
from tui_echo.engine.timeline import Alarm, Timeline
from tui_echo.engine.timers import Timers, wait_until
from tui_echo.engine.tls_loop import TlsLoop
from tui_echo.engine.tls_setup import TlsServer
from tui_echo.events import (
    ClientClosed,
    ClientConnected,
    ClientData,
    Event,
    FaultChanged,
    ListenerChanged,
    Rejected,
    ScenarioStep,
    ServerError,
    ShutdownComplete,
)
from tui_echo.faults import FaultSpec, FaultTarget, fault_text
from tui_echo.faults.listener import ListenerFault, listener_text
from tui_echo.faults.spec import CHANCE, chance_generator, check_protocol
from tui_echo.states import CloseReason
from tui_echo.words import format_peer, reset_refused

TICK = 0.1
"""Seconds between coalesced data events (and idle-timeout checks)."""


class EchoLoop(TlsLoop):
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
                lambda: self._room_for_one() and not self.feed.backlogged,
                lambda client_id: self._give_default("udp", client_id),
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
        while self._running:
            if timers and timers[0][0] < next_tick:
                ready = wait_until(poll, timers[0][0])
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
            self.poller.modify(sock.fileno(), conn.interest)
        if todo & WAKE and conn.deadline is not None:
            self._timers.add(conn)
        if todo & BUDGET:
            self._budget_flipped()

    def _run_timers(self, now: float) -> None:
        """Call `timer` on every connection whose deadline has come."""
        by_id = self._by_id
        for due in self._timers.due(now):
            entry = by_id.get(due.id)
            if entry is None:
                if due is self._door:
                    self._door_due(now)
                elif isinstance(due, Alarm):  # a scenario's next step
                    self._ring(due, now)
                elif due is self.udp:
                    self._udp_armed = None
                    self.udp.timer(now)
                    self._arm_udp()
                continue  # closed since
            conn = entry[1]
            try:
                todo = conn.timer(now)
                if todo:
                    self._carry_out(entry[0], conn, todo)
            except Exception as exc:  # a bug must cost one client, not the loop
                self._carry_out(entry[0], conn, conn.broke(exc))

    def _arm_udp(self) -> None:
        """Keep the UDP port in the timer heap at its nearest deadline."""
        udp = self.udp
        if udp is not None and udp.deadline != self._udp_armed:
            self._udp_armed = udp.deadline
            if udp.deadline is not None:
                self._timers.add(udp)

    def _ring(self, alarm: Alarm, now: float) -> None:
        try:
            alarm.ring(now)
        except Exception as exc:  # a bug: report it and keep serving
            self._report_bug(exc)

    def _budget_flipped(self) -> None:
        """All clients together went over `max_memory`, or back under half of it:
        every connection reconsiders its reading (rare: the two lines are far apart).
        """
        now = time.monotonic()
        for sock, conn in self.clients.entries():
            todo = conn.budget_changed(now)
            if todo:
                self._carry_out(sock, conn, todo & ~BUDGET)

    # ---- accepting ----------------------------------------------------------------

    def _accept(self) -> None:
        acceptor = self._acceptor
        for sock, peer in acceptor.take():
            self._admit(sock, peer)
            if self.feed.backlogged:
                acceptor.pause()

    def _admit(self, sock: socket.socket, peer: str) -> None:
        """A connection just accepted: refused over --max-clients, held back by the
        door (accept-delay), or a client now."""
        door = self._door
        limit = self.config.max_clients
        # Connections the door holds back count: each becomes a client.
        if not self._room_for_one(door.held):
            sock.close()
            self.clients.rejected += 1
            self.publish(Rejected(peer=peer, reason=f"max clients ({limit}) reached"))
        elif door.holding:
            if door.hold(sock, peer, time.monotonic()):
                self._timers.add(door)
        else:
            self._add_client(sock, peer)

    def _room_for_one(self, held: int = 0) -> bool:
        """True if one more client or UDP peer may come (`--max-clients`; UDP
        peers and the `held` connections the door holds count)."""
        limit = self.config.max_clients
        peers = 0 if self.udp is None else len(self.udp.peers)
        return limit is None or len(self._by_id) + peers + held < limit

    def _door_due(self, now: float) -> None:
        """The door's timer: let in the connections whose delay is over; end a
        `for=` that ran out."""
        door = self._door
        released, expired = door.due(now)
        for sock, peer in released:
            self._add_client(sock, peer)
        if expired:
            self.set_listener_fault(None)
        elif door.deadline is not None:
            self._timers.add(door)

    def _add_client(self, sock: socket.socket, peer: str) -> None:
        if self.tls is not None:
            self._add_tls_client(sock, peer, self.tls)
            return
        try:
            sock.setblocking(False)
            # Small echoes must not wait for Nagle's algorithm (asyncio does the same).
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:  # the client is already gone; nothing to report yet
            sock.close()
            return
        now = time.monotonic()
        conn = Connection(self.clients.next_id(), peer, self._limits, now)
        self._welcome(sock, conn, now)

    def _welcome(self, sock: socket.socket, conn: Connection, now: float) -> None:
        """A client is here (TCP or TLS): watch it, announce it, give it the default
        fault and its scenario's steps."""
        self.clients.add(sock, conn)
        self.poller.register(sock.fileno(), conn.interest)
        self.publish(ClientConnected(client=conn.id, peer=conn.peer, ts=time.time()))
        if self._default_fault is not None:
            given = self._give_default("tcp", conn.id)
            if given is not None:
                self._carry_out(sock, conn, conn.set_fault(given, now))
        if self._timeline is not None and self._timeline.per_client:
            self._timeline.connected(conn.id, now)

    def _give_default(self, proto: str, client_id: int) -> FaultSpec | None:
        """The fault a new client or peer gets of the default: the items that mean
        something for its protocol, drawn if `p=` says so. It goes without an
        event of its own when it is the default as set (the book knows it);
        otherwise (a `p=` draw chosen, items left out) a `fault` event says so."""
        default = self._default_fault
        if default is None:
            return None
        mine = default.for_protocol(proto)
        given = None if mine is None else mine.drawn(self._chance)
        assumed = None if default.get(CHANCE) is not None else default
        if given != assumed:
            self.publish(FaultChanged(client=client_id, fault=fault_text(given)))
        return given

    # ---- the tick -------------------------------------------------------------------

    def _tick(self, now: float) -> None:
        """Publish coalesced data events and run the periodic checks."""
        if self._active:
            ts = time.time()
            data = [c.take_data_event(ts) for c in self._active]
            flips = [
                event
                for c in self._active
                if c.fault is not None
                for event in c.take_corrupted(ts)
            ]
            self._active = set()
            self.feed.publish_data(data)
            self._count_and_stream(data)
            for event in flips:  # a few a client at most (LISTED_FLIPS)
                self.publish(event)
        if self.udp is not None:
            peers_data = self.udp.take_data_events(time.time())
            if peers_data:
                self.feed.publish_data(peers_data)
                self._count_and_stream(peers_data)
            self.udp.sweep_idle(now)
        if self._side is not None:
            self._side.tick(now)
        if self._handshakes:
            self._expire_handshakes(now)
        idle_timeout = self.config.idle_timeout
        if idle_timeout is not None:
            for sock, conn, todo in self.clients.sweep_idle(now, idle_timeout):
                self._carry_out(sock, conn, todo)
        if self._limits.budget.trim_due(now):
            release_freed_memory()
        if self._timers.stale(len(self._by_id)):
            self._timers.rebuild(
                itertools.chain(
                    self.clients.connections(),
                    (self._door,),
                    self._alarms,
                    () if self.udp is None else (self.udp,),
                )
            )
        self._acceptor.resume_if_due(
            now, allowed=self._running and not self.feed.backlogged
        )

    # ---- commands (loop thread: other threads send them through `call`) -----------

    def kick(self, client_id: int) -> bool:
        """Close a client with a FIN, or forget a UDP peer; False if there is no
        such client."""
        peer = self.peer(client_id)
        if peer is not None and self.udp is not None:
            self.udp.forget(peer, CloseReason.FORGOTTEN)
            return True
        return self._tell(client_id, Connection.kick)

    def reset(self, client_id: int) -> bool:
        """Close a client with an RST; False if there is no such client.

        Raises:
            ValueError: the client is a UDP peer (nothing to reset).
        """
        if self.peer(client_id) is not None:
            raise ValueError(reset_refused(client_id))
        return self._tell(client_id, Connection.reset)

    def kick_all(self) -> None:
        """Kick every client (and forget every UDP peer)."""
        for client_id in [
            *self._by_id,
            *(() if self.udp is None else self.udp.peers.by_id),
        ]:
            self.kick(client_id)

    def peer(self, client_id: int) -> Peer | None:
        """The UDP peer of that id, or None (any thread: a dict lookup)."""
        return None if self.udp is None else self.udp.peers.by_id.get(client_id)

    def set_fault(self, target: FaultTarget, spec: FaultSpec | None) -> bool:
        """Put a fault in force on a client, on `all` clients now, or on `new` ones;
        each change publishes a `fault` event. False if there is no such client.

        A `p=` is drawn per client (each new one, or each one now for `all`, in
        the order they connected): those chosen get the fault without `p`, the
        others none."""
        text = fault_text(spec)
        if target == "new":
            self._default_fault = spec
            self.publish(FaultChanged(fault=text))
            return True
        now = time.monotonic()
        peers = {} if self.udp is None else self.udp.peers.by_id
        if target == "all":  # each gets what means something for its protocol
            ids = sorted([*self._by_id, *peers])
        elif int(target) in self._by_id or int(target) in peers:
            ids = [int(target)]
            check_protocol(spec, "udp" if ids[0] in peers else "tcp", ids[0])
        else:
            return False
        for client_id in ids:
            peer = peers.get(client_id)
            mine = (
                spec
                if spec is None
                else spec.for_protocol(peer.proto if peer else "tcp")
            )
            if spec is not None and mine is None:
                continue  # nothing in it for this one's protocol: left as it is
            given = None if mine is None else mine.drawn(self._chance)
            if peer is not None and self.udp is not None:
                self.publish(FaultChanged(client=client_id, fault=fault_text(given)))
                self.udp.set_fault(peer, given, now)
                self._arm_udp()
                continue
            entry = self._by_id.get(client_id)
            if entry is not None:  # not closed by an earlier one's fault
                sock, conn = entry
                for event in conn.take_corrupted(time.time()):  # the old fault's
                    self.publish(event)
                self.publish(FaultChanged(client=client_id, fault=fault_text(given)))
                self._carry_out(sock, conn, conn.set_fault(given, now))
        return True

    def set_listener_fault(self, fault: ListenerFault | None) -> None:
        """Put a listener fault in force (None: off) and publish a `listener` event
        (loop thread; the starting thread before the loop runs)."""
        door = self._door
        if fault is not None and fault.mode == "refuse" and not self._acceptor.shut:
            # What the kernel completed before the door shuts is served, not reset.
            for sock, peer in self._acceptor.drain():
                self._admit(sock, peer)
        released = door.set(fault, time.monotonic())
        self.publish(ListenerChanged(fault=listener_text(fault)))
        for sock, peer in released:
            self._add_client(sock, peer)
        if door.deadline is not None:
            self._timers.add(door)

    @property
    def listener_fault(self) -> ListenerFault | None:
        """The listener fault in force (loop thread)."""
        return self._door.fault

    def listener_left(self) -> float | None:
        """Seconds until the listener fault's `for=` runs out, or None (loop thread)."""
        return self._door.left(time.monotonic())

    def inspect(self, client_id: int, enabled: bool) -> bool:
        """Start or stop keeping a client's recent bytes; False if it is unknown."""
        peer = self.peer(client_id)
        if peer is not None:
            peer.inspect(enabled)
            return True
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

    def totals(self) -> Totals:
        """The server's counts now, UDP peers included (loop thread)."""
        totals = self.clients.totals(
            self._limits.budget.pending, self._default_fault, self._published
        )
        return totals if self.udp is None else with_peers(totals, self.udp.peers)

    @property
    def scenario_step(self) -> ScenarioStep | None:
        """The latest `scenario` event, None without a scenario (loop thread)."""
        return None if self._timeline is None else self._timeline.latest

    @property
    def published(self) -> int:
        """Events published so far: the `seq` of the latest (loop thread)."""
        return self._published

    # ---- closing ------------------------------------------------------------------

    def _close(self, sock: socket.socket, conn: Connection) -> None:
        """Forget a client and close its socket as its connection says; publish
        (nothing for a client closed already)."""
        fd = sock.fileno()
        if not self.clients.remove(fd, conn):
            return
        self._active.discard(conn)
        if self._timeline is not None:
            self._timeline.closed(conn.id)
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
