"""`LoopOperator`: the control socket's commands carried out on the loop, and its
answers read from the loop's state and written as lines (loop thread only).

The loop knows nothing of the protocol: it offers its connections, its totals and
its commands; this module turns them into `LIST`, `STATS`, `KERNEL`, `RECENT`,
`ACTIVITY` and `SCENARIO` lines, Redis `CLIENT LIST` style.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence

from tui_echo.control.tls_fields import server_tls_words, tls_words
from tui_echo.engine.clients import ClosedClient, Totals
from tui_echo.engine.connection import Connection
from tui_echo.engine.loop import EchoLoop
from tui_echo.engine.peers import Peer
from tui_echo.engine.tls import TlsConnection
from tui_echo.engine.tls_setup import TlsServer
from tui_echo.events import KernelStats, json_line
from tui_echo.faults import FaultActivity, FaultSpec, FaultTarget
from tui_echo.faults.listener import ListenerFault, listener_text


class LoopOperator:
    """What the control socket may ask of a running `EchoLoop` (its `Operator`)."""

    def __init__(self, loop: EchoLoop) -> None:
        self.loop = loop

    def list_lines(self) -> Iterator[str]:
        """A line per client connected when asked (one that left meanwhile is left
        out), made as the session writes them: a slice per turn of the loop."""
        loop = self.loop
        clients = loop.clients
        peers = {} if loop.udp is None else loop.udp.peers.by_id
        for client_id in sorted([*clients.by_id, *peers]):
            conn = clients.connection(client_id) or peers.get(client_id)
            if conn is not None:
                yield list_line(conn, time.monotonic(), loop.published)

    def stats_line(self) -> str:
        loop = self.loop
        return stats_line(
            loop.totals(),
            door_text(loop.listener_fault, loop.listener_left()),
            loop.tls,
        )

    def history_lines(self) -> Iterator[str]:
        """The clients that left, oldest first (the latest `HISTORY_LENGTH`)."""
        for closed in list(self.loop.clients.history):
            yield history_line(closed)

    def scenario_lines(self) -> list[str]:
        """The latest `scenario` event as a JSON line (an attached monitor starts its
        scenario clock from it); none without a scenario."""
        step = self.loop.scenario_step
        return [] if step is None else [json_line(step)]

    def kick(self, client_id: int) -> bool:
        return self.loop.kick(client_id)

    def kick_all(self) -> None:
        self.loop.kick_all()

    def reset(self, client_id: int) -> bool:
        return self.loop.reset(client_id)

    def set_fault(self, target: FaultTarget, spec: FaultSpec | None) -> bool:
        return self.loop.set_fault(target, spec)

    def set_listener_fault(self, fault: ListenerFault | None) -> None:
        self.loop.set_listener_fault(fault)

    def inspect(self, client_id: int, enabled: bool) -> bool:
        return self.loop.inspect(client_id, enabled)

    def recent_line(self, client_id: int) -> str | None:
        conn = self.loop.clients.connection(client_id) or self.loop.peer(client_id)
        return None if conn is None else recent_line(conn.recent)

    def activity_line(self, client_id: int) -> str | None:
        conn = self.loop.clients.connection(client_id) or self.loop.peer(client_id)
        return None if conn is None else activity_line(conn.fault_activity())

    def kernel_lines(self, client_ids: Sequence[int]) -> Iterator[str]:
        """The kernel's view of each client asked for (once each, in order), read
        as the session writes the lines."""
        clients = self.loop.clients
        for client_id in dict.fromkeys(client_ids):
            stats = clients.read_kernel(client_id)
            if stats is not None:
                yield kernel_line(client_id, stats)


def list_line(conn: Connection | Peer, now: float, seq: int) -> str:
    """A client as `LIST` shows it, as of event `seq` (`fault` comes last: its
    SPEC may hold `=` and `,`); a UDP peer with its datagram counts."""
    fault = "-" if conn.fault is None else str(conn.fault.spec)
    datagrams = (
        f" proto=udp datagrams_in={conn.datagrams_in}"
        f" datagrams_out={conn.datagrams_out} dropped={conn.dropped}"
        if isinstance(conn, Peer)
        else " proto=tcp"
    )
    tls = conn.tls if isinstance(conn, TlsConnection) else None
    return (
        f"id={conn.id} peer={conn.peer} state={conn.state}"
        f" age={now - conn.connected_at:.1f} idle={now - conn.last_received:.1f}"
        f" in={conn.bytes_in} out={conn.bytes_out} pending={conn.pending}"
        f"{datagrams}{'' if tls is None else tls_words(tls)} seq={seq} fault={fault}"
    )


def stats_line(
    totals: Totals, listener: str = "off", tls: TlsServer | None = None
) -> str:
    """The server's totals as `STATS` shows them, then when it started (seconds
    since the epoch), the listener fault (`door_text`), where it listens, with
    `--tls` the CA clients should trust and the certificate's fingerprint, and
    the fault of new clients (last: its SPEC may hold `=` and `,`)."""
    fault = totals.default_fault
    untracked = "" if totals.untracked is None else f" untracked={totals.untracked}"
    shown = "" if tls is None else server_tls_words(tls.ca_path, tls.fingerprint)
    return (
        f"clients={totals.clients} total={totals.total} rejected={totals.rejected}"
        f" bytes_in={totals.bytes_in} bytes_out={totals.bytes_out}"
        f" pending={totals.pending} uptime={totals.uptime:.1f}"
        f" started={totals.started:.3f} seq={totals.seq}{untracked} listener={listener}"
        f" listening={totals.listening}{shown}"
        f" fault={'-' if fault is None else fault}"
    )


def door_text(fault: ListenerFault | None, left: float | None) -> str:
    """The listener fault for `STATS`: `off`, `drop`, or with `for=` the time left
    (`refuse,for=4.2s`), so a monitor attaching now knows when it ends."""
    if fault is not None and left is not None:
        fault = ListenerFault(fault.mode, fault.delay, left)
    return listener_text(fault)


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
    datagrams = (
        f" dropped={activity.dropped} duplicated={activity.duplicated}"
        f" reordered={activity.reordered} truncated={activity.truncated}"
        if activity.dropped
        or activity.duplicated
        or activity.reordered
        or activity.truncated
        else ""  # (none: what a TCP client's says; absent reads as 0)
    )
    return (
        f"delayed={activity.delayed} pieces={activity.pieces}"
        f" discarded={activity.discarded} corrupted={activity.corrupted}{datagrams}"
    )


def kernel_line(client_id: int, stats: KernelStats) -> str:
    """`KERNEL`: one client's socket as the kernel sees it."""
    return (
        f"id={client_id} recvq={stats.recv_q} sendq={stats.send_q}"
        f" rtt_us={stats.rtt_us} rttvar_us={stats.rttvar_us}"
        f" retrans={stats.retransmits}"
        f" cwnd={stats.cwnd} lost={stats.lost}"
    )
