"""The view model: counters, states, rates, totals, lingering rows; fixed clock."""

from __future__ import annotations

from tests.helpers import data_event
from tui_echo.book import HISTORY_LENGTH, ClientBook
from tui_echo.events import (
    ClientClosed,
    ClientConnected,
    ClientState,
    Event,
    FaultChanged,
    Listening,
    Rejected,
    ServerError,
    ShutdownComplete,
)


class Clock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_a_client_is_followed_from_connect_to_close() -> None:
    clock = Clock()
    book = ClientBook(clock)
    book.apply(Listening(host="127.0.0.1", port=9000, ts=990.0))
    assert book.apply(ClientConnected(client=1, peer="127.0.0.1:5", ts=1000.0)) == 1
    book.apply(data_event(1, 100, 60, ts=1000.5, step=100, pending=40))
    record = book.clients[1]
    assert (record.bytes_in, record.bytes_out, record.pending) == (100, 60, 40)
    assert record.last_active == 1000.5
    book.apply(
        data_event(1, 100, 100, ts=1000.6, step=0, state=ClientState.HALF_CLOSED)
    )
    assert record.state == "half-closed"
    assert record.last_active == 1000.5, "no new bytes in: not activity"
    book.apply(
        ClientClosed(
            client=1, reason="peer closed", bytes_in=100, bytes_out=100, ts=1001.0
        )
    )
    assert record.closed
    assert record.state == "closed"
    assert record.close_reason == "peer closed"
    assert record.connected_for(5000.0) == 1.0
    assert book.totals.clients_now == 0
    assert book.totals.clients_total == 1
    assert (book.totals.bytes_in, book.totals.bytes_out) == (100, 100)
    assert book.address == ("127.0.0.1", 9000)
    clock.now = 1010.0
    assert book.uptime() == 20.0
    assert [e.kind for e in record.timeline] == ["connect", "data", "data", "close"]


def test_closed_clients_linger_then_leave() -> None:
    clock = Clock()
    book = ClientBook(clock, linger=3.0)
    book.apply(ClientConnected(client=1, peer="p", ts=1000.0))
    book.apply(
        ClientClosed(
            client=1, reason="kicked", bytes_in=0, bytes_out=0, discarded=5, ts=1000.0
        )
    )
    clock.now = 1002.9
    assert book.refresh() == set()
    assert 1 in book.clients
    clock.now = 1003.0
    assert book.refresh() == {1}
    assert 1 not in book.clients


def test_rates_follow_the_window_and_fall_to_zero_when_idle() -> None:
    clock = Clock(1000.0)
    book = ClientBook(clock, rate_window=2.0)
    book.apply(ClientConnected(client=1, peer="p", ts=1000.0))
    for second in range(1, 5):
        book.apply(
            data_event(1, second * 1000, second * 1000, ts=1000.0 + second, step=1000)
        )
    clock.now = 1004.0
    book.refresh()
    assert book.clients[1].rate_in == 1000.0
    assert book.clients[1].rate_out == 1000.0
    clock.now = 1010.0
    book.refresh()
    assert book.clients[1].rate_in == 0.0


def test_totals_count_rejections_errors_and_throughput_history() -> None:
    clock = Clock(1000.0)
    book = ClientBook(clock)
    book.apply(Rejected(peer="p", reason="full", ts=1000.0))
    book.apply(ServerError(message="accept failed", ts=1000.0))
    book.apply(ClientConnected(client=1, peer="p", ts=1000.0))
    book.apply(data_event(1, 500, 500, ts=1000.2, step=500))
    book.apply(data_event(1, 800, 700, ts=1001.5, step=300))
    clock.now = 1002.0
    book.refresh()
    assert book.totals.rejected == 1
    assert book.totals.errors == 1
    assert list(book.throughput)[-3:] == [1000, 500, 0]
    assert len(book.throughput) == 60


def test_closing_is_shown_until_the_close_arrives() -> None:
    book = ClientBook(Clock())
    book.apply(ClientConnected(client=1, peer="p", ts=1000.0))
    book.mark_closing(1)
    book.apply(data_event(1, 1, 1, ts=1000.1, step=1))
    assert book.clients[1].state == "closing"
    book.apply(
        ClientClosed(client=1, reason="kicked", bytes_in=1, bytes_out=1, ts=1000.2)
    )
    assert book.clients[1].state == "closed"


def test_events_for_unknown_clients_are_ignored_and_shutdown_is_noted() -> None:
    book = ClientBook(Clock())
    assert book.apply(data_event(9, 1, 1, ts=1.0, step=0)) is None
    assert (
        book.apply(ClientClosed(client=9, reason="x", bytes_in=0, bytes_out=0)) is None
    )
    book.apply(ShutdownComplete())
    assert book.shut_down
    assert book.peer_of(9) is None


def test_a_book_without_detail_keeps_no_samples_or_timeline() -> None:
    book = ClientBook(Clock(), detail=False)
    book.apply(ClientConnected(client=1, peer="p", ts=1000.0))
    book.apply(data_event(1, 10, 10, ts=1000.5, step=10))
    record = book.clients[1]
    assert record.samples is None
    assert record.timeline is None
    assert record.bytes_in == 10
    book.refresh()  # no rates to compute, and no error
    assert record.rate_in == 0.0


def test_a_fault_event_sets_and_clears_a_clients_fault() -> None:
    book = ClientBook(Clock())
    book.apply(ClientConnected(client=1, peer="p", ts=1000.0))
    assert book.clients[1].fault is None
    assert not book.faults_in_play
    assert book.apply(FaultChanged(client=1, fault="delay=50ms", ts=1001.0)) == 1
    record = book.clients[1]
    assert (record.fault, record.fault_set_at) == ("delay=50ms", 1001.0)
    assert book.faults_in_play
    assert record.timeline is not None
    assert record.timeline[-1].kind == "fault"
    book.apply(FaultChanged(client=1, fault="off", ts=1002.0))
    assert record.fault is None
    assert not book.faults_in_play
    assert book.apply(FaultChanged(client=9, fault="stall", ts=1003.0)) is None


def test_new_clients_inherit_the_default_fault_without_an_event_of_their_own() -> None:
    book = ClientBook(Clock())
    book.apply(ClientConnected(client=1, peer="p", ts=1000.0))
    book.apply(FaultChanged(fault="close-after=1K", ts=1001.0))
    assert book.default_fault == "close-after=1K"
    assert book.faults_in_play
    book.apply(ClientConnected(client=2, peer="q", ts=1002.0))
    assert book.clients[1].fault is None, "clients already there keep theirs"
    assert (book.clients[2].fault, book.clients[2].fault_set_at) == (
        "close-after=1K",
        1002.0,
    )
    book.apply(FaultChanged(fault="off", ts=1003.0))
    book.apply(ClientConnected(client=3, peer="r", ts=1004.0))
    assert book.default_fault is None
    assert book.clients[3].fault is None
    assert book.faults_in_play, "client 2 still has its fault"
    book.apply(
        ClientClosed(client=2, reason="close-after", bytes_in=2048, bytes_out=1024)
    )
    assert not book.faults_in_play


def test_closed_clients_go_into_a_bounded_history_with_their_story() -> None:
    clock = Clock()
    book = ClientBook(clock, linger=0.0)
    book.apply(ClientConnected(client=1, peer="127.0.0.1:5", ts=1000.0))
    book.apply(FaultChanged(client=1, fault="stall", ts=1000.5))
    book.apply(
        ClientClosed(
            client=1,
            reason="kicked",
            bytes_in=300,
            bytes_out=200,
            discarded=100,
            ts=1002.5,
        )
    )
    clock.now = 1002.5
    book.refresh()
    assert 1 not in book.clients
    closed = book.history[1]
    assert (closed.reason, closed.duration) == ("kicked", 2.5)
    assert (closed.bytes_in, closed.bytes_out, closed.discarded) == (300, 200, 100)
    assert (closed.peer, closed.fault) == ("127.0.0.1:5", "stall")
    assert book.peer_of(1) == "127.0.0.1:5", "the history still names it"
    for client in range(2, HISTORY_LENGTH + 12):
        book.apply(ClientConnected(client=client, peer=f"p{client}", ts=1003.0))
        book.apply(ClientClosed(client=client, reason="x", bytes_in=0, bytes_out=0))
    assert len(book.history) == HISTORY_LENGTH
    assert next(iter(book.history)) == 12, "the oldest are forgotten first"
    assert book.max_id == HISTORY_LENGTH + 11


def test_the_headless_book_keeps_no_history() -> None:
    book = ClientBook(Clock(), detail=False)
    book.apply(ClientConnected(client=1, peer="p", ts=1000.0))
    book.apply(ClientClosed(client=1, reason="x", bytes_in=0, bytes_out=0))
    assert not book.history


def test_a_flood_keeps_rows_for_its_latest_clients_and_counts_them_all() -> None:
    book = ClientBook(Clock(2000.0))
    events = []
    for i in range(1, 301):
        ts = 1000.0 + i / 100
        events += [
            ClientConnected(client=i, peer=f"127.0.0.1:{i}", ts=ts),
            data_event(i, 16, ts=ts),
            ClientClosed(
                client=i, reason="peer closed", bytes_in=16, bytes_out=16, ts=ts
            ),
        ]
    book.apply_all(events)
    assert sorted(book.clients) == list(range(251, 301))  # rows: the latest 50
    assert list(book.history) == list(range(1, 301))  # every one in the history
    assert book.history[7].peer == "127.0.0.1:7"
    assert book.peer_of(7) == "127.0.0.1:7"
    totals = book.totals
    assert (totals.clients_now, totals.clients_total) == (0, 300)
    assert (totals.bytes_in, totals.bytes_out) == (300 * 16, 300 * 16)
    assert book.max_id == 300


def test_a_flood_longer_than_the_history_keeps_its_latest_closes_in_order() -> None:
    book = ClientBook(Clock(2000.0))
    count = HISTORY_LENGTH + 500
    events: list[Event] = []
    for i in range(1, count + 1):
        ts = 1000.0 + i / 10_000
        events += [
            ClientConnected(client=i, peer=f"127.0.0.1:{i}", ts=ts),
            data_event(i, 16, 8, ts=ts),
            FaultChanged(client=i, fault="stall", ts=ts),
            ClientClosed(
                client=i, reason="peer closed", bytes_in=16, bytes_out=8, ts=ts
            ),
        ]
    book.apply_all(events)
    first_kept = count - HISTORY_LENGTH + 1
    assert list(book.history) == list(range(first_kept, count + 1))
    assert book.history[first_kept].peer == f"127.0.0.1:{first_kept}"
    assert book.history[first_kept].fault == "stall"
    totals = book.totals
    assert (totals.clients_now, totals.clients_total) == (0, count)
    assert (totals.bytes_in, totals.bytes_out) == (count * 16, count * 8)
    assert sum(book.throughput) == count * 24
    assert book.max_id == count


def test_clients_that_stay_are_no_flood() -> None:
    book = ClientBook(Clock(2000.0))
    book.apply_all(
        [ClientConnected(client=i, peer=f"p:{i}", ts=1000.0) for i in range(1, 500)]
    )
    assert len(book.clients) == 499
