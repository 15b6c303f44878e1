"""`Peer` and `PeerTable`: the UDP peers the server tracks (`--udp`), each a row
like a TCP client's (loop thread; snapshots any thread).

A peer is an (address, port) the server heard a datagram from. It has no
connection: it comes with its first datagram (`connect`, `proto` `udp`) and goes
after `--idle-timeout` of silence (60 s without one: reason `idle`) or when kicked
(`forgotten`: UDP has no way to tell the peer). No I/O here: the port
(datagrams.py) reads and sends.
"""

from __future__ import annotations

import dataclasses
from collections import deque
from collections.abc import Iterator

from tui_echo.engine.clients import Totals
from tui_echo.events import ClientClosed, ClientData, ClientState
from tui_echo.faults import FaultActivity
from tui_echo.faults.datagram_stages import DatagramFaults
from tui_echo.units import RING_SIZE

Address = tuple[object, ...]
"""A socket address as `recvfrom` gives it: (host, port) or IPv6's four."""

UDP_IDLE_TIMEOUT = 60.0
"""Seconds of silence after which a peer is forgotten without `--idle-timeout`."""

PEER_CEILING = 65_536
"""Peers tracked at most without `--max-clients`: a flood from more source ports
is echoed, counted as untracked, and holds no memory per port (a peer is about
half a KiB)."""


class Peer:
    """One UDP peer's counters, its fault and the datagrams waiting to go."""

    __slots__ = (
        "address",
        "bytes_in",
        "bytes_out",
        "close_reason",
        "connected_at",
        "connected_wall",
        "counted",
        "datagrams_in",
        "datagrams_out",
        "deadline",
        "dropped",
        "dropped_bytes",
        "fault",
        "id",
        "last_received",
        "peer",
        "queue",
        "queued",
        "recent",
        "reported_in",
    )

    proto = "udp"

    def __init__(
        self, client_id: int, address: Address, peer: str, now: float, wall: float
    ) -> None:
        self.id = client_id
        self.address = address
        self.peer = peer
        self.connected_at = now
        self.connected_wall = wall
        """Wall-clock time of its first datagram (for the history)."""
        self.last_received = now
        self.bytes_in = self.bytes_out = self.reported_in = 0
        self.datagrams_in = self.datagrams_out = 0
        self.dropped = 0
        """Datagrams thrown away: by `loss`, or beyond `--max-buffer` /
        `--max-memory` while sends waited."""
        self.dropped_bytes = 0
        self.queue: deque[bytes] = deque()
        """Datagrams ready to go that the socket did not take yet (EAGAIN)."""
        self.queued = 0
        """Bytes in `queue`."""
        self.counted = 0
        """Pending bytes as the memory budget has them."""
        self.fault: DatagramFaults | None = None
        self.deadline: float | None = None
        """When its fault may let a datagram go next (the port's timer heap)."""
        self.recent: bytes | None = None
        """The last `RING_SIZE` bytes received, while it is inspected."""
        self.close_reason: str | None = None

    def __repr__(self) -> str:
        return f"<Peer #{self.id} {self.peer} in={self.datagrams_in}>"

    @property
    def state(self) -> ClientState:
        """Always `open`: a peer never pauses (what does not fit is dropped)."""
        return ClientState.OPEN

    @property
    def pending(self) -> int:
        """Bytes waiting: for the socket, and held by the fault."""
        fault = self.fault
        return self.queued + (fault.held_bytes if fault is not None else 0)

    def saw(self, data: memoryview, now: float) -> None:
        """A datagram of `data` came from the peer: count it."""
        self.datagrams_in += 1
        self.bytes_in += len(data)
        self.last_received = now
        if self.recent is not None:
            self.recent = (self.recent + data)[-RING_SIZE:]

    def inspect(self, enabled: bool) -> None:
        """Start (or stop) keeping the last `RING_SIZE` bytes received."""
        if not enabled:
            self.recent = None
        elif self.recent is None:
            self.recent = b""

    def fault_activity(self) -> FaultActivity | None:
        """What the peer's fault has done since it was set, or None."""
        return None if self.fault is None else self.fault.activity()

    def take_data_event(self, ts: float) -> ClientData:
        """A data event with what arrived since the last one; marks it reported."""
        event = ClientData(
            client=self.id,
            bytes=self.bytes_in - self.reported_in,
            bytes_in=self.bytes_in,
            bytes_out=self.bytes_out,
            pending=self.pending,
            state=ClientState.OPEN,
            ts=ts,
            datagrams_in=self.datagrams_in,
            datagrams_out=self.datagrams_out,
            dropped=self.dropped,
        )
        self.reported_in = self.bytes_in
        return event

    def closed_event(self, ts: float) -> ClientClosed:
        """The close event: pending bytes and dropped ones count as discarded."""
        return ClientClosed(
            client=self.id,
            reason=self.close_reason or "closed",
            bytes_in=self.bytes_in,
            bytes_out=self.bytes_out,
            discarded=self.pending + self.dropped_bytes,
            ts=ts,
        )


class PeerTable:
    """The peers tracked, by address and by id; and what was not tracked."""

    def __init__(self) -> None:
        self.by_address: dict[Address, Peer] = {}
        self.by_id: dict[int, Peer] = {}
        self.untracked = 0
        """Datagrams echoed for peers beyond `--max-clients` (or `PEER_CEILING`)."""
        self.closed_in = self.closed_out = 0
        """Bytes of the peers forgotten."""
        self._idle_check_at = 0.0

    def __len__(self) -> int:
        return len(self.by_id)

    def add(self, peer: Peer) -> None:
        self.by_address[peer.address] = peer
        self.by_id[peer.id] = peer

    def remove(self, peer: Peer) -> bool:
        """Forget a peer (counting its bytes); False if it was gone already."""
        if self.by_id.pop(peer.id, None) is None:
            return False
        del self.by_address[peer.address]
        self.closed_in += peer.bytes_in
        self.closed_out += peer.bytes_out
        return True

    def peers(self) -> list[Peer]:
        """Every peer, in the order they came (a copy)."""
        return list(self.by_id.values())

    def silent(self, now: float, idle_timeout: float) -> Iterator[Peer]:
        """The peers silent for `idle_timeout`; looks at all of them only once the
        one silent longest may be due (a sweep's cost follows the timeout)."""
        if now < self._idle_check_at:
            return
        oldest = now
        for peer in self.peers():
            if now - peer.last_received >= idle_timeout:
                yield peer
            elif peer.last_received < oldest:
                oldest = peer.last_received
        self._idle_check_at = oldest + idle_timeout


def with_peers(totals: Totals, peers: PeerTable) -> Totals:
    """The server's counts with the UDP peers' added (they are clients too)."""
    now = peers.peers()
    return dataclasses.replace(
        totals,
        clients=totals.clients + len(now),
        bytes_in=totals.bytes_in + peers.closed_in + sum(p.bytes_in for p in now),
        bytes_out=totals.bytes_out + peers.closed_out + sum(p.bytes_out for p in now),
        untracked=peers.untracked,
    )
