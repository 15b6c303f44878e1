"""The records of the view model: a client, a closed client, the server's totals.

Plain slotted dataclasses the book keeps up to date and the widgets read.
"""

from __future__ import annotations

from dataclasses import dataclass

from tui_echo.events import ClientState, Event, TlsEstablished

RATE_WINDOW = 2.0
"""Seconds behind a rate: short enough to feel live, long enough to be calm."""

LINGER = 3.0
"""Seconds a closed client stays in the book (dimmed on screen) before it goes."""

HISTORY_SECONDS = 60
"""Length of the throughput history behind the sparkline."""

TIMELINE_LENGTH = 200
"""Events kept per client for its detail view."""

HISTORY_LENGTH = 1000
"""Closed clients remembered for the history view (the oldest are forgotten)."""


@dataclass(slots=True)
class ClientRecord:
    """What is known of one client, for a table row or a detail view."""

    id: int
    peer: str
    connected_at: float
    state: ClientState = ClientState.OPEN
    bytes_in: int = 0
    bytes_out: int = 0
    pending: int = 0
    discarded: int = 0
    last_active: float = 0.0
    closed_at: float | None = None
    close_reason: str | None = None
    rate_in: float = 0.0
    """Bytes per second received over the last `RATE_WINDOW` seconds."""
    rate_out: float = 0.0
    samples: list[tuple[float, int, int]] | None = None
    """(ts, bytes_in, bytes_out) behind the rates, oldest first (a few at most)."""
    timeline: list[Event] | None = None
    """The client's recent events, for its detail view (when the book keeps them)."""
    fault: str | None = None
    """The SPEC of the fault in force on this client, None without one."""
    fault_set_at: float | None = None
    """When that fault was put in force (at connect, for an inherited default)."""
    proto: str = "tcp"
    """`tcp`, or `udp` for a UDP peer."""
    datagrams_in: int = 0
    """A UDP peer's datagrams received, echoed and dropped (0 for TCP)."""
    datagrams_out: int = 0
    dropped: int = 0

    @property
    def udp(self) -> bool:
        """True for a UDP peer."""
        return self.proto == "udp"

    tls: TlsEstablished | None = None
    """What its TLS handshake negotiated (`--tls`), once done."""

    @property
    def closed(self) -> bool:
        """True once the connection is gone (the row may still linger)."""
        return self.closed_at is not None

    def connected_for(self, now: float) -> float:
        """Seconds from connect to `now`, or to the close."""
        end = self.closed_at if self.closed_at is not None else now
        return max(0.0, end - self.connected_at)


@dataclass(slots=True)
class ClosedClient:
    """A client's story once it is over: one line of the history view."""

    id: int
    peer: str
    connected_at: float
    closed_at: float
    reason: str
    bytes_in: int
    bytes_out: int
    discarded: int
    fault: str | None

    @property
    def duration(self) -> float:
        """Seconds from connect to close."""
        return max(0.0, self.closed_at - self.connected_at)


@dataclass(slots=True)
class Totals:
    """Server-wide numbers for the status bar and the shutdown summary."""

    clients_now: int = 0
    clients_total: int = 0
    rejected: int = 0
    errors: int = 0
    bytes_in: int = 0
    bytes_out: int = 0
    rate_in: float = 0.0
    rate_out: float = 0.0


@dataclass(frozen=True, slots=True)
class ScenarioClock:
    """Where a scenario (`--scenario`) stands, from its latest `scenario` event."""

    origin: float
    """Wall-clock time its clock started (the `listening` event)."""
    next_at: float | None
    """When its next `at` step fires, seconds on its clock; None: none left."""
    next_does: str
    """That step (`step 3, set all to off`); empty when none is left."""

    def clock(self, now: float) -> float:
        """Seconds on the scenario's clock at wall-clock `now`."""
        return max(0.0, now - self.origin)
