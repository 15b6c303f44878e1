"""Who comes in: the loop's accepting half (loop thread only).

Connections the acceptor takes go through `--max-clients` and the door (the
listener fault, door.py: refused, held back for `accept-delay`, or let in), then
become clients: watched, announced, given their share of the default fault (a
`p=` draw, the items that mean something for their protocol) and their
scenario's per-client steps. `EchoLoop` inherits this; the attributes and calls
declared below for the type checker are the loop's own.
"""

from __future__ import annotations

import socket
import time
from typing import TYPE_CHECKING

from tui_echo.engine.connection import Connection
from tui_echo.events import ClientConnected, FaultChanged, ListenerChanged, Rejected
from tui_echo.faults import FaultSpec, fault_text
from tui_echo.faults.listener import ListenerFault, listener_text
from tui_echo.faults.spec import CHANCE

if TYPE_CHECKING:
    import random

    from tui_echo.engine.acceptor import Acceptor
    from tui_echo.engine.clients import Clients
    from tui_echo.engine.config import ServerConfig
    from tui_echo.engine.datagrams import DatagramPort
    from tui_echo.engine.door import Door
    from tui_echo.engine.feed import EventFeed
    from tui_echo.engine.limits import Limits
    from tui_echo.engine.poller import Poller
    from tui_echo.engine.timeline import Timeline
    from tui_echo.engine.timers import Timers
    from tui_echo.engine.tls_setup import TlsServer
    from tui_echo.events import Event


class Admission:
    """The accepting half of `EchoLoop` (a mixin)."""

    if TYPE_CHECKING:  # the loop's, read and called here
        config: ServerConfig
        feed: EventFeed
        clients: Clients
        poller: Poller
        tls: TlsServer | None
        udp: DatagramPort | None
        _acceptor: Acceptor
        _door: Door
        _timers: Timers
        _timeline: Timeline | None
        _limits: Limits
        _default_fault: FaultSpec | None
        _chance: random.Random
        _by_id: dict[int, tuple[socket.socket, Connection]]

        def publish(self, event: Event) -> None: ...
        def _carry_out(
            self, sock: socket.socket, conn: Connection, todo: int
        ) -> None: ...
        def _add_tls_client(
            self, raw: socket.socket, peer: str, tls: TlsServer
        ) -> None: ...

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
            given, announced = self._give_default("tcp", conn.id)
            todo = 0 if given is None else conn.set_fault(given, now)
            if announced is not None:  # once in force, as `set_fault`'s are
                self.publish(announced)
            if todo:
                self._carry_out(sock, conn, todo)
        if self._timeline is not None and self._timeline.per_client:
            self._timeline.connected(conn.id, now)

    def _peer_arrived(
        self, client_id: int
    ) -> tuple[FaultSpec | None, FaultChanged | None]:
        """A UDP peer's first datagram made it a client: its scenario steps are
        armed; returns its share of the default fault, and the event to publish
        once it is in force (see `_give_default`)."""
        given = self._give_default("udp", client_id)
        if self._timeline is not None and self._timeline.per_client:
            self._timeline.connected(client_id, time.monotonic())
        return given

    def _give_default(
        self, proto: str, client_id: int
    ) -> tuple[FaultSpec | None, FaultChanged | None]:
        """The fault a new client or peer gets of the default: the items that mean
        something for its protocol, drawn if `p=` says so; and the `fault` event
        to publish once it is in force. There is none when it is the default as
        set (the book knows it); otherwise (a `p=` draw chosen, items left out)
        the event says so."""
        default = self._default_fault
        if default is None:
            return None, None
        mine = default.for_protocol(proto)
        given = None if mine is None else mine.drawn(self._chance)
        assumed = None if default.get(CHANCE) is not None else default
        if given == assumed:
            return given, None
        return given, FaultChanged(client=client_id, fault=fault_text(given))

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
