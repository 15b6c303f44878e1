"""Bring a new `ClientBook` to a server's state: the snapshot an attached monitor
starts from, then the events that streamed while the snapshot was taken.

Pure, like the book: no I/O. Only the book's public attributes and `apply` are
used. The snapshot is one cut of the server's event count (`seq`): each client as
`LIST` showed it (its line's `seq`), the totals as `STATS` showed them (its `seq`,
at or after every line's), the closed clients `HISTORY` remembers. An event the
snapshot already reflects is skipped, so nothing is counted twice and nothing is
missed; seeded bytes are set, not folded, so the bytes of before the attach are no
growth (no sparkline spike, rates from zero).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace

from tui_echo.book.client_book import ClientBook
from tui_echo.book.records import HISTORY_LENGTH, ClosedClient
from tui_echo.events import (
    FAULT_OFF,
    ClientConnected,
    ClientState,
    Event,
    FaultChanged,
    ListenerChanged,
    ScenarioStep,
    TlsEstablished,
)


@dataclass(slots=True)
class SeedClient:
    """A connected client as the server described it, and the event count its
    description reflects."""

    id: int
    peer: str
    state: ClientState
    connected_at: float
    last_active: float
    bytes_in: int
    bytes_out: int
    pending: int
    fault: str | None
    seq: int
    proto: str = "tcp"
    datagrams_in: int | None = None
    """A UDP peer's datagram counts (None for a TCP client)."""
    datagrams_out: int | None = None
    dropped: int | None = None
    tls: TlsEstablished | None = None
    """What a TLS client negotiated, if its handshake is done."""


@dataclass(slots=True)
class Snapshot:
    """What a server said of itself at one cut (`seq`: events published by then)."""

    host: str
    port: int
    started_at: float
    default_fault: str | None
    clients_now: int
    clients_total: int
    rejected: int
    bytes_in: int
    bytes_out: int
    seq: int
    taken_at: float
    """The monitor's clock when it was taken (rates start from here)."""
    listener: str = FAULT_OFF
    """The listener fault (`STATS`: a `for=` is the time left at `taken_at`)."""
    clients: list[SeedClient] = field(default_factory=list)
    history: list[ClosedClient] = field(default_factory=list)
    """Closed clients, oldest first."""
    scenario: ScenarioStep | None = None
    """The server's latest `scenario` event (`EchoLoop.scenario_step`), if it runs
    a scenario: the clock and next step an attached monitor starts from."""
    tls: tuple[str | None, str] | None = None
    """With `--tls`: the CA path (None with `--cert`) and the fingerprint."""


def seed_book(
    book: ClientBook, snapshot: Snapshot, early: Iterable[tuple[int, Event]] = ()
) -> None:
    """Bring a fresh `book` to `snapshot`, then fold the `early` events (with their
    `seq`, in order, none after `snapshot.seq`) that it does not reflect yet.

    Later events (after `snapshot.seq`) are folded as usual, with `apply_all`.
    """
    book.address = (snapshot.host, snapshot.port)
    book.started_at = snapshot.started_at
    if snapshot.scenario is not None:
        book.apply(snapshot.scenario)
    book.tls = snapshot.tls
    for closed in snapshot.history[-HISTORY_LENGTH:]:
        if book.detail:
            book.history[closed.id] = closed
        book.max_id = max(book.max_id, closed.id)
    # No default yet: a seeded client has the fault LIST says, never the default
    # of new clients (set after it connected, or not at all).
    book.default_fault = None
    listed_at: dict[int, int] = {}
    for seeded in snapshot.clients:
        _seed_client(book, seeded, snapshot.taken_at)
        listed_at[seeded.id] = seeded.seq
    book.default_fault = snapshot.default_fault
    for seq, event in early:
        client: int | None = getattr(event, "client", None)
        if client is not None and seq <= listed_at.get(client, 0):
            continue  # its LIST line reflects it already
        book.apply(event)
    # The totals are STATS': every event up to its seq is in them (the early ones
    # folded above moved the clients, not the totals).
    book.default_fault = snapshot.default_fault
    book.door.changed(ListenerChanged(fault=snapshot.listener, ts=snapshot.taken_at))
    totals = book.totals
    totals.clients_now = snapshot.clients_now
    totals.clients_total = snapshot.clients_total
    totals.rejected = snapshot.rejected
    totals.bytes_in = snapshot.bytes_in
    totals.bytes_out = snapshot.bytes_out


def _seed_client(book: ClientBook, client: SeedClient, now: float) -> None:
    """A client's row as the server described it: connected (the book's own way,
    so its timeline starts there), then its counts set, not folded as growth."""
    book.apply(
        ClientConnected(
            client=client.id,
            peer=client.peer,
            ts=client.connected_at,
            proto=client.proto,
        )
    )
    record = book.clients[client.id]
    record.datagrams_in = client.datagrams_in or 0
    record.datagrams_out = client.datagrams_out or 0
    record.dropped = client.dropped or 0
    record.state = client.state
    record.bytes_in = client.bytes_in
    record.bytes_out = client.bytes_out
    record.pending = client.pending
    record.last_active = client.last_active
    if record.samples is not None:  # rates count from here: the past is no burst
        record.samples = [(now, client.bytes_in, client.bytes_out)]
    if client.tls is not None:  # the line does not say when: as of the snapshot
        book.apply(replace(client.tls, ts=now))
    if client.fault is not None:  # through the book, so it knows a fault is in play
        book.apply(FaultChanged(client=client.id, fault=client.fault, ts=now))
