"""`DatagramPort`: the UDP socket of `--udp` on the loop thread, its peers and their
datagrams.

The port shares the loop's thread and poller with the TCP clients. Readable: it
takes at most `RECV_BATCH` datagrams (a flood cannot starve the TCP clients), and
sends each back to its sender with `sendto`, as one datagram, byte for byte. What
the socket will not take now (EAGAIN, ENOBUFS) waits per peer, bounded by
`--max-buffer` and `--max-memory`: beyond them a datagram is dropped and counted.
A peer's fault (faults/datagram_stages.py) may drop, cut, double, reorder or hold
its datagrams; the port's own timer heap wakes it when one may go, and the loop
holds the port in its heap by its nearest deadline (`deadline`, `id`).

ICMP errors (a peer's port closed) come back as an error of a later call on an
unconnected socket, if at all: they cost that one datagram, never the loop.
"""

from __future__ import annotations

import contextlib
import errno
import socket
import time
from collections.abc import Callable

from tui_echo.engine.clients import Clients, ClosedClient
from tui_echo.engine.limits import Limits
from tui_echo.engine.peers import PEER_CEILING, Address, Peer, PeerTable
from tui_echo.engine.poller import READ, READABLE, WRITE, Poller
from tui_echo.engine.timers import Timers
from tui_echo.events import ClientClosed, ClientConnected, ClientData, FaultChanged
from tui_echo.faults import FaultSpec
from tui_echo.faults.datagram_stages import DatagramFaults
from tui_echo.states import CloseReason
from tui_echo.words import format_address, format_peer, os_reason

RECV_BATCH = 64
"""Datagrams taken per readiness of the socket, so a flood cannot starve TCP."""

MAX_DATAGRAM = 65_507
"""The largest UDP payload over IPv4 (65,535 less the IP and UDP headers)."""

_RECV_BUFFER = 65_536
"""Larger than any UDP payload (IPv6's is 65,527 without jumbograms): a datagram
is never cut by the read."""

PORT_ID = -3
"""The port's id in the loop's timer heap: one no client, door or alarm has."""

_BLOCKED = frozenset({errno.EAGAIN, errno.EWOULDBLOCK, errno.ENOBUFS, errno.EINTR})
"""What a `sendto` says when it should be tried again later."""


class DatagramPortError(Exception):
    """The UDP socket could not be bound: one line for the operator."""


def bind_datagram_socket(host: str, port: int) -> socket.socket:
    """A non-blocking UDP socket bound to host:port (the caller's thread).

    Raises:
        DatagramPortError: the host does not resolve, or the bind fails.
    """
    where = format_address(host, port)
    try:
        infos = socket.getaddrinfo(
            host, port, type=socket.SOCK_DGRAM, flags=socket.AI_PASSIVE
        )
    except (socket.gaierror, UnicodeError) as exc:
        raise DatagramPortError(f"cannot listen for UDP on {where}: {exc}") from None
    family, kind, proto, _, sockaddr = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.bind(sockaddr)
        sock.setblocking(False)
    except OSError as exc:
        sock.close()
        raise DatagramPortError(
            f"cannot listen for UDP on {where}: {os_reason(exc)}"
        ) from None
    return sock


class DatagramPort:
    """The UDP socket and its peers (loop thread only; `peers` snapshots any)."""

    id = PORT_ID

    def __init__(
        self,
        sock: socket.socket,
        poller: Poller,
        limits: Limits,
        clients: Clients,
        idle_timeout: float,
        admit: Callable[[], bool],
        give_default: Callable[[int], tuple[FaultSpec | None, FaultChanged | None]],
        publish: Callable[[ClientConnected | FaultChanged], None],
        publish_close: Callable[[ClientClosed, ClientData | None], None],
        budget_flipped: Callable[[], None],
    ) -> None:
        self.sock = sock
        self._poller = poller
        self._limits = limits
        self._clients = clients
        self._idle_timeout = idle_timeout
        self._admit = admit
        """True while a new peer may be tracked (`--max-clients`, the feed)."""
        self._give_default = give_default
        """The fault a new peer gets (and its `fault` event, if one is due)."""
        self._publish = publish
        self._publish_close = publish_close
        self._budget_flipped = budget_flipped
        self.peers = PeerTable()
        self._timers = Timers()
        self._blocked: dict[int, Peer] = {}
        """Peers with datagrams the socket did not take, in the order they waited."""
        self._active: set[Peer] = set()
        self._buffer = bytearray(_RECV_BUFFER)
        self._view = memoryview(self._buffer)
        self._interest = READ
        poller.register(sock.fileno(), READ)

    def fileno(self) -> int:
        return self.sock.fileno()

    @property
    def deadline(self) -> float | None:
        """When a peer's fault may let a datagram go next (for the loop's heap)."""
        heap = self._timers.heap
        return heap[0][0] if heap else None

    # ---- readiness ------------------------------------------------------------

    def on_ready(self, mask: int, now: float) -> None:
        """The socket is readable or writable (or reports an error)."""
        if mask & WRITE:
            for peer in list(self._blocked.values()):
                if self._send_queue(peer):
                    del self._blocked[peer.id]
                self._account(peer)
        if mask & READABLE:
            self._read(now)
        interest = READ | WRITE if self._blocked else READ
        if interest != self._interest:
            self._interest = interest
            self._poller.modify(self.sock.fileno(), interest)

    def _read(self, now: float) -> None:
        sock, buffer, view = self.sock, self._buffer, self._view
        by_address = self.peers.by_address
        for _ in range(RECV_BATCH):
            try:
                size, address = sock.recvfrom_into(buffer)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:  # an ICMP error of an earlier send: that is all it is
                continue
            data = view[:size]
            peer = by_address.get(address)
            if peer is None:
                peer = self._new_peer(address, now)
                if peer is None:  # not tracked: echoed all the same, counted
                    self.peers.untracked += 1
                    with contextlib.suppress(OSError):
                        sock.sendto(data, address)
                    continue
            peer.saw(data, now)
            self._active.add(peer)
            if peer.fault is None and not peer.queue:
                try:  # the fast path: straight back
                    sent = sock.sendto(data, address)
                except OSError as exc:
                    if exc.errno in _BLOCKED:
                        self._enqueue(peer, bytes(data), now)
                    else:
                        self._drop(peer, size)
                    continue
                peer.datagrams_out += 1
                peer.bytes_out += sent
            else:
                self._enqueue(peer, bytes(data), now)

    def _new_peer(self, address: Address, now: float) -> Peer | None:
        """Track a new peer, or None when the limit (or a backlogged feed) says no."""
        if not self._admit() or len(self.peers) >= PEER_CEILING:
            return None
        peer = Peer(self._clients.next_id(), address, format_peer(address), now, 0.0)
        peer.connected_wall = time.time()
        self.peers.add(peer)
        self._publish(
            ClientConnected(
                client=peer.id, peer=peer.peer, proto="udp", ts=peer.connected_wall
            )
        )
        spec, announced = self._give_default(peer.id)
        if spec is not None:
            peer.fault = DatagramFaults(spec, now, self._limits.rng)
        if announced is not None:  # once in force, as `set_fault`'s are
            self._publish(announced)
        return peer

    # ---- what waits -----------------------------------------------------------

    def _enqueue(self, peer: Peer, data: bytes, now: float) -> None:
        """A datagram that cannot go straight back: through the fault, then to
        the socket as it allows; dropped if it would not fit the limits."""
        limits = self._limits
        if limits.budget.over or peer.pending + len(data) > limits.max_buffer:
            self._drop(peer, len(data))
            return
        fault = peer.fault
        if fault is None:
            self._queue(peer, [data])
        else:
            lost = fault.dropped
            fault.admit(data, now)
            if fault.dropped != lost:  # `loss`: counted with the peer's drops
                self._drop(peer, len(data))
            self._queue(peer, fault.ready(now))
            self._schedule(peer, now)
        self._account(peer)

    def _queue(self, peer: Peer, datagrams: list[bytes]) -> None:
        """Datagrams to go now, after those that wait already."""
        if not datagrams:
            return
        peer.queue.extend(datagrams)
        peer.queued += sum(len(d) for d in datagrams)
        if peer.id not in self._blocked and not self._send_queue(peer):
            self._blocked[peer.id] = peer
            if not self._interest & WRITE:
                self._interest |= WRITE
                self._poller.modify(self.sock.fileno(), self._interest)

    def _send_queue(self, peer: Peer) -> bool:
        """Send what waits for `peer`; True once nothing does."""
        queue, sock, address = peer.queue, self.sock, peer.address
        while queue:
            data = queue[0]
            try:
                sent = sock.sendto(data, address)
            except OSError as exc:
                if exc.errno in _BLOCKED:
                    return False
                sent = -1
            queue.popleft()
            peer.queued -= len(data)
            if sent < 0:
                self._drop(peer, len(data))
            else:
                peer.datagrams_out += 1
                peer.bytes_out += sent
        self._active.add(peer)
        return True

    def _drop(self, peer: Peer, size: int) -> None:
        peer.dropped += 1
        peer.dropped_bytes += size
        self._active.add(peer)

    def _account(self, peer: Peer) -> None:
        """Tell the memory budget how much the peer holds now."""
        pending = peer.pending
        if pending != peer.counted:
            flipped = self._limits.budget.add(pending - peer.counted)
            peer.counted = pending
            if flipped:
                self._budget_flipped()

    def _schedule(self, peer: Peer, now: float) -> None:
        fault = peer.fault
        deadline = None if fault is None else fault.deadline(now)
        if deadline != peer.deadline:
            peer.deadline = deadline
            if deadline is not None:
                self._timers.add(peer)

    def timer(self, now: float) -> None:
        """The nearest deadline came: let the datagrams whose time it is go."""
        for due in list(self._timers.due(now)):
            peer = self.peers.by_id.get(due.id)
            if peer is None or peer.fault is None:
                continue
            peer.deadline = None
            self._queue(peer, peer.fault.ready(now))
            self._schedule(peer, now)
            self._account(peer)
        if self._timers.stale(len(self.peers)):
            self._timers.rebuild(self.peers.peers())

    # ---- the tick, commands, closing ---------------------------------------------

    def take_data_events(self, ts: float) -> list[ClientData]:
        """A data event per peer with traffic since the last tick."""
        if not self._active:
            return []
        events = [
            p.take_data_event(ts) for p in self._active if p.id in self.peers.by_id
        ]
        self._active = set()
        return events

    def sweep_idle(self, now: float) -> None:
        """Forget the peers silent for the idle timeout (reason `idle`)."""
        for peer in list(self.peers.silent(now, self._idle_timeout)):
            self.forget(peer, CloseReason.IDLE)

    def set_fault(self, peer: Peer, spec: FaultSpec | None, now: float) -> None:
        """Put `spec` in force on `peer`; what the old fault held goes now."""
        if peer.fault is not None:
            waiting = peer.fault.release_all()
            self._queue(peer, waiting)
        peer.fault = (
            None if spec is None else DatagramFaults(spec, now, self._limits.rng)
        )
        peer.deadline = None
        self._schedule(peer, now)
        self._account(peer)

    def forget(self, peer: Peer, reason: CloseReason) -> None:
        """Stop tracking `peer` and publish its close (what waits is discarded)."""
        if not self.peers.remove(peer):
            return
        peer.close_reason = reason
        peer.deadline = None
        self._blocked.pop(peer.id, None)
        ts = time.time()
        last = peer.take_data_event(ts) if peer in self._active else None
        self._active.discard(peer)
        closed = peer.closed_event(ts)
        self._clients.history.append(
            ClosedClient(
                closed,
                peer.peer,
                peer.connected_wall,
                None if peer.fault is None else peer.fault.spec,
            )
        )
        self._publish_close(closed, last)
        peer.queue.clear()
        peer.queued = 0
        if peer.fault is not None:
            peer.fault.clear()
        self._account(peer)

    def close(self) -> None:
        """Forget every peer (reason `shutdown`) and close the socket."""
        for peer in self.peers.peers():
            self.forget(peer, CloseReason.SHUTDOWN)
        with contextlib.suppress(KeyError, ValueError, OSError):
            self._poller.unregister(self.sock.fileno())
        self.sock.close()
