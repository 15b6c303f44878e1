"""The view model: counters, states, rates, totals, lingering rows; fixed clock."""

from __future__ import annotations

from tests.helpers import data_event
from tui_echo.book import ClientBook
from tui_echo.common import ClientState
from tui_echo.events import (
    ClientClosed,
    ClientConnected,
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
