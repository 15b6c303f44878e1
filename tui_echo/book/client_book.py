"""`ClientBook`: the live view model, folded from events. Pure: no I/O, no threads.

The app and the headless logger both read the numbers they show from here, so what
the screen says is unit-testable without a terminal. Time comes from an injected
clock, so tests and screenshots can fix it.
"""

from __future__ import annotations

import time
from collections import OrderedDict, deque
from collections.abc import Callable, Collection, Sequence

from tui_echo.book.default_fault import given_at_connect
from tui_echo.book.door import DoorState
from tui_echo.book.flood import NOBODY, BriefClient, flood_clients
from tui_echo.book.rates import server_rates, window_rates
from tui_echo.book.records import (
    HISTORY_LENGTH,
    HISTORY_SECONDS,
    LINGER,
    RATE_WINDOW,
    TIMELINE_LENGTH,
    ClientRecord,
    ClosedClient,
    ScenarioClock,
    Totals,
)
from tui_echo.events import (
    FAULT_OFF,
    ClientClosed,
    ClientConnected,
    ClientData,
    ClientState,
    Corrupted,
    Event,
    FaultChanged,
    ListenerChanged,
    Listening,
    Rejected,
    ScenarioStep,
    ServerError,
    ShutdownComplete,
    TlsEstablished,
)

Clock = Callable[[], float]

_OF_A_CLIENT = frozenset(
    {ClientConnected, ClientData, ClientClosed, FaultChanged, TlsEstablished}
)
"""Event kinds that always name a client (`fault` may, for one)."""


class ClientBook:
    """Per-client records and server totals, built by folding events in order."""

    def __init__(
        self,
        clock: Clock = time.time,
        *,
        linger: float = LINGER,
        rate_window: float = RATE_WINDOW,
        detail: bool = True,
    ) -> None:
        self.clock = clock
        self.detail = detail
        """Keep what rates, the detail view and the history need: each client's
        samples and recent events, the closed clients. The headless logger needs
        none of it and saves the memory."""
        self.linger = linger
        self.rate_window = rate_window
        self.clients: dict[int, ClientRecord] = {}
        """Open and lingering clients, by id."""
        self.totals = Totals()
        self.address: tuple[str, int] | None = None
        self.tls: tuple[str | None, str] | None = None
        """With `--tls`: the CA path (None with `--cert`) and the fingerprint."""
        self.started_at: float | None = None
        self.shut_down = False
        self.throughput: deque[int] = deque([0] * HISTORY_SECONDS, HISTORY_SECONDS)
        """Bytes echoed per second (in + out), the last `HISTORY_SECONDS` seconds."""
        self._history_second: int | None = None
        self._total_samples: deque[tuple[float, int, int]] = deque()
        """(time, bytes in, bytes out) of the totals at each refresh in the rate
        window: the server's rate is their growth, so clients that came and went
        between two refreshes count too."""
        self.history: OrderedDict[int, ClosedClient] = OrderedDict()
        """The last `HISTORY_LENGTH` closed clients by id, oldest first (with
        `detail` only)."""
        self.default_fault: str | None = None
        """The SPEC new clients get, None for none."""
        self.scenario: ScenarioClock | None = None
        """The scenario's clock and next step, once a `scenario` event said them."""
        self.door = DoorState()
        """What the server's door (the listener fault) is doing."""
        self.max_id = 0
        """The largest client id seen (the table sizes its ID column by it)."""
        self._faulted: set[int] = set()
        """Connected clients with a fault in force."""
        self._brief: dict[int, BriefClient] = {}
        """A flood's clients that skip their row, from connect to close (one
        batch: see `apply_all`)."""
        self._rating: set[int] = set()
        """Clients whose rate may be above zero: data came within the window. The
        others' rates are zero and stay so, and `refresh` skips them (at 10,000
        idle clients that is most of a refresh)."""
        self.changes = 0
        """Counts changes to the records (an event folded, a rate moved, a row
        gone): while it stays, an order sorted from them still holds."""
        self.comings_and_goings = 0
        """Counts clients coming and rows going: while it stays, an order by
        what never changes (id, peer) still holds."""

    # ---- folding events ---------------------------------------------------------

    def apply_all(self, events: Sequence[Event]) -> set[int]:
        """Fold events in order; return the ids of the clients they touched.

        In a flood (more than `FLOOD` clients that came and went within the
        batch), all but the last `FLOOD_ROWS` of those skip their row: they are
        counted, and the latest go to the history (a row each would be a blur on
        screen, and costs microseconds each, taken from the echo loop's GIL).
        """
        touched: set[int] = set()
        brief, remembered = flood_clients(events) if self.detail else (NOBODY, NOBODY)
        for event in events:
            kind = type(event)
            if brief and kind in _OF_A_CLIENT and event.client in brief:  # type: ignore[union-attr,operator]
                if kind is not ClientData:  # its bytes are counted with its close
                    self._skim(event, kind, remembered)
                continue
            client = self.apply(event)
            if client is not None:
                touched.add(client)
        return touched

    def _skim(self, event: Event, kind: type, remembered: Collection[int]) -> None:
        """Fold a connect, close or fault of a flood's brief client: its counts,
        and its history line if that would be kept. (Its data events are left
        out: the close carries the same running totals.)"""
        client: int = event.client  # type: ignore[union-attr,assignment]
        totals = self.totals
        if kind is ClientConnected:
            totals.clients_now += 1
            totals.clients_total += 1
            if client > self.max_id:
                self.max_id = client
            if client in remembered:
                self._brief[client] = BriefClient(
                    event.peer,  # type: ignore[union-attr]
                    event.ts,
                    given_at_connect(self.default_fault),
                )
        elif kind is ClientClosed:
            totals.clients_now -= 1
            closed: ClientClosed = event  # type: ignore[assignment]
            self._count_growth(closed.bytes_in, closed.bytes_out, closed.ts)
            if client in remembered:
                self._add_history(self._brief.pop(client), closed)
        elif kind is FaultChanged and client in remembered:
            fault = event.fault  # type: ignore[union-attr]
            self._brief[client].fault = None if fault == FAULT_OFF else fault

    def apply(self, event: Event) -> int | None:
        """Fold one event; return the id of the client it touched, if any."""
        self.changes += 1
        match event:
            case ClientData():
                return self._on_data(event)
            case ClientConnected():
                return self._on_connect(event)
            case ClientClosed():
                return self._on_close(event)
            case FaultChanged():
                return self._on_fault(event)
            case TlsEstablished():
                return self._on_tls(event)
            case Listening():
                self.address = (event.host, event.port)
                self.started_at = event.ts
                if event.tls_fingerprint is not None:
                    self.tls = (event.tls_ca, event.tls_fingerprint)
            case Rejected():
                self.totals.rejected += 1
            case ServerError():
                self.totals.errors += 1
                if event.client in self.clients:
                    self._remember(self.clients[event.client], event)
                    return event.client
            case ShutdownComplete():
                self.shut_down = True
            case ScenarioStep():
                self.scenario = ScenarioClock(
                    origin=event.ts - event.clock,
                    next_at=event.next_at if event.next_does else None,
                    next_does=event.next_does,
                )
            case ListenerChanged():
                self.door.changed(event)
            case Corrupted():
                record = self.clients.get(event.client)
                if record is not None:  # into its timeline, for its detail view
                    self._remember(record, event)
                    return event.client
        return None

    def _on_connect(self, event: ClientConnected) -> int:
        record = ClientRecord(
            id=event.client,
            peer=event.peer,
            connected_at=event.ts,
            last_active=event.ts,
            proto=event.proto,
        )
        if self.tls is not None and event.proto == "tcp":  # TLS negotiates first
            record.state = ClientState.HANDSHAKE
        if self.detail:
            record.samples = [(event.ts, 0, 0)]
            record.timeline = []
        given = given_at_connect(self.default_fault)
        if given is not None:
            # The server gives new clients its default without an event of their own.
            record.fault = given
            record.fault_set_at = event.ts
            self._faulted.add(event.client)
        self._remember(record, event)
        self.clients[event.client] = record
        self.comings_and_goings += 1
        self.max_id = max(self.max_id, event.client)
        self.totals.clients_now += 1
        self.totals.clients_total += 1
        return event.client

    def _on_data(self, event: ClientData) -> int | None:
        record = self.clients.get(event.client)
        if record is None or record.closed:
            return None
        self._count(record, event.bytes_in, event.bytes_out, event.ts)
        record.pending = event.pending
        if event.datagrams_in is not None:  # a UDP peer's
            record.datagrams_in = event.datagrams_in
            record.datagrams_out = event.datagrams_out or 0
            record.dropped = event.dropped or 0
        if record.state is not ClientState.CLOSING:
            record.state = event.state
        if event.bytes:
            record.last_active = event.ts
        if record.samples is not None:
            record.samples.append((event.ts, event.bytes_in, event.bytes_out))
            self._rating.add(event.client)
        self._remember(record, event)
        return event.client

    def _on_close(self, event: ClientClosed) -> int | None:
        record = self.clients.get(event.client)
        if record is None:
            return None
        self._count(record, event.bytes_in, event.bytes_out, event.ts)
        record.pending = 0
        record.discarded = event.discarded
        record.state = ClientState.CLOSED
        record.closed_at = event.ts
        record.close_reason = event.reason
        record.rate_in = record.rate_out = 0.0
        record.samples = None
        self._remember(record, event)
        self.totals.clients_now -= 1
        self._faulted.discard(event.client)
        if self.detail:
            self._add_history(record, event)
        return event.client

    def _add_history(
        self, client: ClientRecord | BriefClient, event: ClientClosed
    ) -> None:
        """The client's story, told by its close, into the bounded history."""
        history = self.history
        history[event.client] = ClosedClient(
            id=event.client,
            peer=client.peer,
            connected_at=client.connected_at,
            closed_at=event.ts,
            reason=event.reason,
            bytes_in=event.bytes_in,
            bytes_out=event.bytes_out,
            discarded=event.discarded,
            fault=client.fault,
        )
        if len(history) > HISTORY_LENGTH:
            history.popitem(last=False)

    def _on_tls(self, event: TlsEstablished) -> int | None:
        record = self.clients.get(event.client)
        if record is None or record.closed:
            return None
        record.tls = event
        if record.state is ClientState.HANDSHAKE:
            record.state = ClientState.OPEN
        self._remember(record, event)
        return event.client

    def _on_fault(self, event: FaultChanged) -> int | None:
        fault = None if event.fault == FAULT_OFF else event.fault
        if event.client is None:
            self.default_fault = fault
            return None
        record = self.clients.get(event.client)
        if record is None or record.closed:
            return None
        record.fault = fault
        record.fault_set_at = event.ts
        if fault is None:
            self._faulted.discard(record.id)
        else:
            self._faulted.add(record.id)
        self._remember(record, event)
        return event.client

    def _count(
        self,
        record: ClientRecord,
        bytes_in: int,
        bytes_out: int,
        ts: float,
    ) -> None:
        """Move a client's counters forward and add the growth to the totals."""
        grown_in = bytes_in - record.bytes_in
        grown_out = bytes_out - record.bytes_out
        record.bytes_in, record.bytes_out = bytes_in, bytes_out
        self._count_growth(grown_in, grown_out, ts)

    def _count_growth(self, grown_in: int, grown_out: int, ts: float) -> None:
        """Add bytes received and echoed at `ts` to the totals and the history."""
        totals = self.totals
        totals.bytes_in += grown_in
        totals.bytes_out += grown_out
        second = int(ts)
        if second != self._history_second:  # once a second: most events skip it
            self._roll_history(second)
        self.throughput[-1] += grown_in + grown_out

    def _roll_history(self, second: int) -> None:
        """Advance the per-second history to `second`, adding empty seconds."""
        if self._history_second is None:
            self._history_second = second
        gap = min(second - self._history_second, HISTORY_SECONDS)
        if gap > 0:
            self.throughput.extend([0] * gap)
            self._history_second = second

    @staticmethod
    def _remember(record: ClientRecord, event: Event) -> None:
        """Keep the event in the client's timeline, the latest `TIMELINE_LENGTH`
        (a list, not a bounded deque: an empty deque costs 760 bytes a client)."""
        timeline = record.timeline
        if timeline is not None:
            timeline.append(event)
            if len(timeline) > TIMELINE_LENGTH:
                del timeline[0]

    # ---- asking -----------------------------------------------------------------

    def peer_of(self, client_id: int) -> str | None:
        """The peer address of a known client, lingering or in the history."""
        record = self.clients.get(client_id)
        if record is not None:
            return record.peer
        closed = self.history.get(client_id)
        return None if closed is None else closed.peer

    @property
    def faults_in_play(self) -> bool:
        """True when a connected client has a fault or new clients get one."""
        return self.default_fault is not None or bool(self._faulted)

    def mark_closing(self, client_id: int) -> None:
        """The operator asked to close this client; show it until the close comes."""
        record = self.clients.get(client_id)
        if record is not None and not record.closed:
            record.state = ClientState.CLOSING
            self.changes += 1

    def refresh(self) -> set[int]:
        """Bring rates up to `clock()`, drop expired closed rows; return their ids."""
        now = self.clock()
        self._roll_history(int(now))
        horizon = now - self.rate_window
        gone = self.prune()
        clients, settled = self.clients, []
        for client_id in self._rating:
            record = clients.get(client_id)
            if record is None or not record.samples:  # closed or gone: final
                settled.append(client_id)
                continue
            rates = window_rates(record.samples, now, horizon)
            if rates != (record.rate_in, record.rate_out):
                record.rate_in, record.rate_out = rates
                self.changes += 1
            if len(record.samples) == 1:  # the window slid past its last data: zero now
                settled.append(client_id)
        self._rating.difference_update(settled)
        totals = self.totals
        totals.rate_in, totals.rate_out = server_rates(
            self._total_samples, totals, clients.values(), now, horizon
        )
        return gone

    def prune(self, keep: Collection[int] = ()) -> set[int]:
        """Forget the closed clients whose linger time is over, but those in `keep`
        (a frozen screen still shows them); return their ids."""
        expired = self.clock() - self.linger
        gone = {
            cid
            for cid, record in self.clients.items()
            if record.closed_at is not None
            and record.closed_at <= expired
            and cid not in keep
        }
        for cid in gone:
            del self.clients[cid]
        if gone:
            self.changes += 1
            self.comings_and_goings += 1
        return gone

    def uptime(self) -> float:
        """Seconds since the server started listening."""
        if self.started_at is None:
            return 0.0
        return max(0.0, self.clock() - self.started_at)
