"""`Clients`: the connected clients by descriptor and by id, and the server's counts
(loop thread; the read-only snapshots any thread)."""

from __future__ import annotations

import socket
import time
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from tui_echo.engine.connection import Connection
from tui_echo.engine.kernel import read_kernel_stats
from tui_echo.events import ClientClosed, KernelStats
from tui_echo.faults import FaultActivity, FaultSpec

Entry = tuple[socket.socket, Connection]

HISTORY_LENGTH = 1000
"""Closed clients the server remembers (for `HISTORY`: an attached monitor starts
from them)."""


@dataclass(slots=True)
class ClosedClient:
    """A client that left, as the server remembers it (a value: not frozen only
    because a frozen dataclass costs several times as much to make, and one is made
    at every close, churn included)."""

    closed: ClientClosed
    peer: str
    connected_at: float
    """Wall-clock time of its connect."""
    fault: FaultSpec | None
    """The fault in force when it closed."""


@dataclass(frozen=True, slots=True)
class Totals:
    """The server's counts at one moment."""

    clients: int
    total: int
    """Clients accepted since start (the latest id)."""
    rejected: int
    bytes_in: int
    bytes_out: int
    pending: int
    uptime: float
    started: float
    """Wall-clock time the server started."""
    listening: str
    default_fault: FaultSpec | None
    seq: int
    """Events published up to this moment: these counts include theirs."""
    untracked: int | None = None
    """Datagrams echoed for UDP peers beyond `--max-clients` (None without
    `--udp`)."""


class Clients:
    """Who is connected, and what the server counted of those who left."""

    def __init__(self, listening: str) -> None:
        self.by_fd: dict[int, Entry] = {}
        self.by_id: dict[int, Entry] = {}
        self.last_id = 0
        """The id of the latest client (ids count from 1, one per connection)."""
        self.rejected = 0
        self.closed_in = self.closed_out = 0
        """Bytes of the clients that are gone."""
        self.listening = listening
        self.started_at = time.monotonic()
        self.started = time.time()
        self._wall_offset = self.started - self.started_at
        """Wall-clock minus monotonic time: a connect's wall time, without a
        clock read per close."""
        self.history: deque[ClosedClient] = deque(maxlen=HISTORY_LENGTH)
        """The latest clients that left, oldest first."""
        self._idle_check_at = 0.0
        """When the client silent longest may reach `--idle-timeout` (monotonic)."""
        self.kernel: dict[int, KernelStats] = {}
        """The last kernel sample of the clients someone watches."""

    def __len__(self) -> int:
        return len(self.by_id)

    def next_id(self) -> int:
        """An id for a new client."""
        self.last_id += 1
        return self.last_id

    def add(self, sock: socket.socket, conn: Connection) -> None:
        entry = (sock, conn)
        self.by_fd[sock.fileno()] = entry
        self.by_id[conn.id] = entry

    def remove(self, fd: int, conn: Connection) -> bool:
        """Forget a client, on descriptor `fd` (counting its bytes); False if it was
        gone already."""
        if self.by_id.pop(conn.id, None) is None:
            return False
        del self.by_fd[fd]
        self.closed_in += conn.bytes_in
        self.closed_out += conn.bytes_out
        return True

    def remember(self, closed: ClientClosed, conn: Connection) -> None:
        """Keep a client that left (its close event) in the bounded history."""
        connected_at = conn.connected_at + self._wall_offset
        fault = None if conn.fault is None else conn.fault.spec
        self.history.append(ClosedClient(closed, conn.peer, connected_at, fault))

    def sweep_idle(
        self, now: float, idle_timeout: float
    ) -> Iterator[tuple[socket.socket, Connection, int]]:
        """The clients `--idle-timeout` closes now, with what to do. A sweep looks
        at every client, but only once the one silent longest could be due: its
        cost follows the timeout, not the loop's tick."""
        if now < self._idle_check_at:
            return
        oldest = now
        for sock, conn in self.entries():
            todo = conn.check_idle(now, idle_timeout)
            if todo:
                yield sock, conn, todo
            elif conn.last_received < oldest:
                oldest = conn.last_received
        self._idle_check_at = oldest + idle_timeout

    def entries(self) -> list[Entry]:
        """Every client's socket and connection, in the order they came (a copy:
        the caller may close them as it goes)."""
        return list(self.by_id.values())

    def connections(self) -> list[Connection]:
        """Every client's connection, in the order they came."""
        return [conn for _, conn in self.by_id.values()]

    def connection(self, client_id: int) -> Connection | None:
        """A connected client's connection, or None."""
        entry = self.by_id.get(client_id)
        return None if entry is None else entry[1]

    # ---- snapshots: any thread may read them ----------------------------------------

    def recent_bytes(self, client_id: int) -> bytes | None:
        """The last bytes an inspected client sent, or None."""
        conn = self.connection(client_id)
        return None if conn is None else conn.recent

    def kernel_stats(self, client_id: int) -> KernelStats | None:
        """The kernel's view of a watched client at the last sample."""
        return self.kernel.get(client_id)

    def fault_activity(self, client_id: int) -> FaultActivity | None:
        """What a client's fault has done, or None without one."""
        conn = self.connection(client_id)
        return None if conn is None else conn.fault_activity()

    def read_kernel(self, client_id: int) -> KernelStats | None:
        """The kernel's view of a connected client now (loop thread), or None."""
        entry = self.by_id.get(client_id)
        return None if entry is None else read_kernel_stats(entry[0])

    def sample_kernel(self, client_ids: Iterable[int]) -> None:
        """Ask the kernel about these clients now, forgetting the others (loop
        thread: only it knows that a descriptor is still the client's)."""
        sampled = {}
        for client_id in client_ids:
            stats = self.read_kernel(client_id)
            if stats is not None:
                sampled[client_id] = stats
        self.kernel = sampled

    def totals(self, pending: int, default_fault: FaultSpec | None, seq: int) -> Totals:
        """The counts now (the clients still here count as they stand)."""
        conns = self.connections()
        return Totals(
            clients=len(conns),
            total=self.last_id,
            rejected=self.rejected,
            bytes_in=self.closed_in + sum(c.bytes_in for c in conns),
            bytes_out=self.closed_out + sum(c.bytes_out for c in conns),
            pending=pending,
            uptime=time.monotonic() - self.started_at,
            started=self.started,
            listening=self.listening,
            default_fault=default_fault,
            seq=seq,
        )
