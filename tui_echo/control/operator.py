"""`LoopOperator`: the control socket's commands carried out on the loop, and its
answers read from the loop's state and written as lines (loop thread only).

The loop knows nothing of the protocol: it offers its connections, its totals and
its commands; this module turns them into `LIST`, `STATS`, `KERNEL`, `RECENT` and
`ACTIVITY` lines, Redis `CLIENT LIST` style.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence

from tui_echo.control.tls_fields import server_tls_words, tls_words
from tui_echo.engine.clients import ClosedClient, Totals
from tui_echo.engine.connection import Connection
from tui_echo.engine.loop import EchoLoop
from tui_echo.engine.tls import TlsConnection
from tui_echo.engine.tls_setup import TlsServer
from tui_echo.events import KernelStats
from tui_echo.faults import FaultActivity, FaultSpec, FaultTarget


class LoopOperator:
    """What the control socket may ask of a running `EchoLoop` (its `Operator`)."""

    def __init__(self, loop: EchoLoop) -> None:
        self.loop = loop

    def list_lines(self) -> Iterator[str]:
        """A line per client connected when asked (one that left meanwhile is left
        out), made as the session writes them: a slice per turn of the loop."""
        loop = self.loop
        clients = loop.clients
        for client_id in list(clients.by_id):
            conn = clients.connection(client_id)
            if conn is not None:
                yield list_line(conn, time.monotonic(), loop.published)

    def stats_line(self) -> str:
        return stats_line(self.loop.totals(), self.loop.tls)

    def history_lines(self) -> Iterator[str]:
        """The clients that left, oldest first (the latest `HISTORY_LENGTH`)."""
        for closed in list(self.loop.clients.history):
            yield history_line(closed)

    def kick(self, client_id: int) -> bool:
        return self.loop.kick(client_id)

    def kick_all(self) -> None:
        self.loop.kick_all()

    def reset(self, client_id: int) -> bool:
        return self.loop.reset(client_id)

    def set_fault(self, target: FaultTarget, spec: FaultSpec | None) -> bool:
        return self.loop.set_fault(target, spec)

    def inspect(self, client_id: int, enabled: bool) -> bool:
        return self.loop.inspect(client_id, enabled)

    def recent_line(self, client_id: int) -> str | None:
        conn = self.loop.clients.connection(client_id)
        return None if conn is None else recent_line(conn.recent)

    def activity_line(self, client_id: int) -> str | None:
        conn = self.loop.clients.connection(client_id)
        return None if conn is None else activity_line(conn.fault_activity())

    def kernel_lines(self, client_ids: Sequence[int]) -> Iterator[str]:
        """The kernel's view of each client asked for (once each, in order), read
        as the session writes the lines."""
        clients = self.loop.clients
        for client_id in dict.fromkeys(client_ids):
            stats = clients.read_kernel(client_id)
            if stats is not None:
                yield kernel_line(client_id, stats)


def list_line(conn: Connection, now: float, seq: int) -> str:
    """A client as `LIST` shows it, as of event `seq` (`fault` comes last: its
    SPEC may hold `=` and `,`)."""
    fault = "-" if conn.fault is None else str(conn.fault.spec)
    tls = conn.tls if isinstance(conn, TlsConnection) else None
    return (
        f"id={conn.id} peer={conn.peer} state={conn.state}"
        f" age={now - conn.connected_at:.1f} idle={now - conn.last_received:.1f}"
        f" in={conn.bytes_in} out={conn.bytes_out} pending={conn.pending}"
        f"{'' if tls is None else tls_words(tls)} seq={seq} fault={fault}"
    )


def stats_line(totals: Totals, tls: TlsServer | None = None) -> str:
    """The server's totals as `STATS` shows them, then when it started (seconds
    since the epoch), where it listens, with `--tls` the CA clients should trust
    and the certificate's fingerprint, and the fault of new clients (last: its
    SPEC may hold `=` and `,`)."""
    fault = totals.default_fault
    shown = "" if tls is None else server_tls_words(tls.ca_path, tls.fingerprint)
    return (
        f"clients={totals.clients} total={totals.total} rejected={totals.rejected}"
        f" bytes_in={totals.bytes_in} bytes_out={totals.bytes_out}"
        f" pending={totals.pending} uptime={totals.uptime:.1f}"
        f" started={totals.started:.3f} seq={totals.seq}"
        f" listening={totals.listening}{shown}"
        f" fault={'-' if fault is None else fault}"
    )


def history_line(gone: ClosedClient) -> str:
    """A client that left, as `HISTORY` shows it: times in seconds since the
    epoch; `fault` (no spaces) then `reason`, which takes the rest of the line."""
    closed = gone.closed
    fault = "-" if gone.fault is None else gone.fault
    return (
        f"id={closed.client} peer={gone.peer} connected={gone.connected_at:.3f}"
        f" closed={closed.ts:.3f} in={closed.bytes_in} out={closed.bytes_out}"
        f" discarded={closed.discarded} fault={fault} reason={closed.reason}"
    )


def recent_line(recent: bytes | None) -> str:
    """`RECENT`: the bytes kept for an inspected client, as hex (`hex=` when none)."""
    return f"hex={(recent or b'').hex()}"


def activity_line(activity: FaultActivity | None) -> str:
    """`ACTIVITY`: what a client's fault has done (`fault=-` without one)."""
    if activity is None:
        return "fault=-"
    return (
        f"delayed={activity.delayed} pieces={activity.pieces}"
        f" discarded={activity.discarded}"
    )


def kernel_line(client_id: int, stats: KernelStats) -> str:
    """`KERNEL`: one client's socket as the kernel sees it."""
    return (
        f"id={client_id} recvq={stats.recv_q} sendq={stats.send_q}"
        f" rtt_us={stats.rtt_us} rttvar_us={stats.rttvar_us}"
        f" retrans={stats.retransmits}"
        f" cwnd={stats.cwnd} lost={stats.lost}"
    )
