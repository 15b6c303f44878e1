"""`ClientBook` to the exact number (issue 21's mutation check): rates over their
window, what a close resets, counts that add up, floods at their edge, a fresh
book. Fixed clock, no sockets: `mutmut` runs these on `book.py`
(benchmarks/MUTATION.md).
"""

from __future__ import annotations

import pytest

from tests.helpers import data_event
from tui_echo.book import TIMELINE_LENGTH, ClientBook
from tui_echo.book.flood import FLOOD, FLOOD_ROWS
from tui_echo.events import (
    ClientClosed,
    ClientConnected,
    ClientState,
    Event,
    FaultChanged,
    Listening,
    Rejected,
    ServerError,
)


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def connect(client: int, ts: float = 100.0) -> ClientConnected:
    return ClientConnected(client=client, peer=f"127.0.0.1:{client}", ts=ts)


def close(client: int, ts: float = 100.0, **counts: int) -> ClientClosed:
    return ClientClosed(
        client=client,
        reason="peer closed",
        bytes_in=counts.get("bytes_in", 0),
        bytes_out=counts.get("bytes_out", 0),
        discarded=counts.get("discarded", 0),
        ts=ts,
    )


def rates_after(samples: list[tuple[float, int]], now: float) -> tuple[float, float]:
    """A client connected at 100.0 whose data events came at (ts, bytes_in), each
    echoed in full; its rates at `now` over a window of 2 s."""
    book = ClientBook(Clock(now), rate_window=2.0)
    book.apply(connect(1, ts=100.0))
    for ts, total in samples:
        book.apply(data_event(1, total, ts=ts))
    book.refresh()
    record = book.clients[1]
    return record.rate_in, record.rate_out


# ---- rates -----------------------------------------------------------------------


def test_the_rate_counts_from_the_connect_when_it_is_within_the_window() -> None:
    assert rates_after([(101.0, 1000)], now=101.0) == (1000.0, 1000.0)


def test_a_client_younger_than_a_second_never_shows_more_than_it_sent() -> None:
    # Issue 17: 27 bytes a moment after the connect read `116 B/s`. A rate is
    # bytes a second: over less than one, it would claim bytes never sent.
    assert rates_after([(100.5, 500)], now=100.5) == (500.0, 500.0)
    assert rates_after([(100.05, 27)], now=100.23) == (27.0, 27.0)


def test_the_rate_starts_at_the_last_sample_before_the_window() -> None:
    # 100 -> 105 -> 109: the window [108, 110] starts from the sample at 105.
    assert rates_after([(105.0, 900), (109.0, 1000)], now=110.0) == (20.0, 20.0)


def test_a_sample_exactly_at_the_windows_start_is_its_base() -> None:
    assert rates_after([(108.0, 900), (109.0, 1000)], now=110.0) == (50.0, 50.0)


def test_every_sample_before_the_window_but_the_last_is_dropped() -> None:
    samples = [(103.0, 100), (104.0, 200), (106.0, 900), (109.0, 1000)]
    assert rates_after(samples, now=110.0) == (25.0, 25.0)


def test_a_client_idle_past_the_window_has_no_rate() -> None:
    assert rates_after([(101.0, 1000)], now=110.0) == (0.0, 0.0)


def test_totals_rate_counts_the_clients_that_closed_too() -> None:
    # Issue 17: the sum of the open clients' rates said 0 B/s under churn.
    clock = Clock(101.0)
    book = ClientBook(clock, rate_window=2.0, linger=60.0)
    clock.now = 100.0
    book.apply(Listening(host="127.0.0.1", port=7, ts=100.0))
    book.refresh()  # the first refresh: growth is measured from here
    clock.now = 101.0
    for client in (1, 2, 3):
        book.apply(connect(client, ts=100.0))
    book.apply(data_event(1, 1000, 500, ts=101.0))
    book.apply(data_event(2, 300, 300, ts=101.0))
    book.apply(data_event(3, 7000, 7000, ts=101.0))
    book.apply(close(3, ts=101.0, bytes_in=7000, bytes_out=7000))
    book.refresh()
    assert (book.totals.rate_in, book.totals.rate_out) == (8300.0, 7800.0)
    assert (book.clients[3].rate_in, book.clients[3].rate_out) == (0.0, 0.0)


# ---- one client ------------------------------------------------------------------


def test_a_connect_makes_a_record_of_that_client() -> None:
    book = ClientBook(Clock(100.0))
    assert book.apply(connect(7, ts=100.25)) == 7
    record = book.clients[7]
    assert record.id == 7
    assert record.peer == "127.0.0.1:7"
    assert record.connected_at == 100.25
    assert record.last_active == 100.25
    assert record.samples == [(100.25, 0, 0)]
    assert record.state is ClientState.OPEN
    assert book.peer_of(7) == "127.0.0.1:7"


def test_connected_for_runs_to_now_then_stops_at_the_close() -> None:
    book = ClientBook(Clock(100.0), linger=60.0)
    book.apply(connect(1, ts=100.0))
    record = book.clients[1]
    assert record.connected_for(100.25) == 0.25
    assert record.connected_for(99.0) == 0.0
    book.apply(close(1, ts=100.5))
    assert record.connected_for(200.0) == 0.5


def test_the_timeline_keeps_the_latest_events_only() -> None:
    book = ClientBook(Clock(100.0))
    book.apply(connect(1))
    for total in range(1, TIMELINE_LENGTH + 11):
        book.apply(data_event(1, total, ts=100.0))
    timeline = book.clients[1].timeline
    assert timeline is not None
    assert len(timeline) == TIMELINE_LENGTH
    assert timeline[-1] == data_event(1, TIMELINE_LENGTH + 10, ts=100.0)


def test_a_close_zeroes_what_is_live_and_keeps_what_was_thrown_away() -> None:
    clock = Clock(101.0)
    book = ClientBook(clock, linger=60.0)
    book.apply(connect(1, ts=100.0))
    book.apply(data_event(1, 800, 500, pending=300, ts=101.0))
    book.refresh()
    record = book.clients[1]
    assert record.rate_in > 0
    book.apply(close(1, ts=101.0, bytes_in=800, bytes_out=500, discarded=300))
    assert record.pending == 0
    assert record.discarded == 300
    assert (record.rate_in, record.rate_out) == (0.0, 0.0)
    assert record.samples is None
    assert record.state is ClientState.CLOSED
    assert book.history[1].id == 1
    assert book.history[1].discarded == 300


def test_mark_closing_leaves_unknown_and_closed_clients_alone() -> None:
    book = ClientBook(Clock(100.0), linger=60.0)
    book.mark_closing(42)  # nobody: nothing happens
    book.apply(connect(1))
    book.apply(close(1))
    book.mark_closing(1)
    assert book.clients[1].state is ClientState.CLOSED
    book.apply(connect(2))
    book.mark_closing(2)
    assert book.clients[2].state is ClientState.CLOSING


def test_an_error_of_a_client_goes_to_its_timeline() -> None:
    book = ClientBook(Clock(100.0))
    book.apply(connect(1))
    error = ServerError(message="boom", client=1, ts=100.0)
    assert book.apply(error) == 1
    timeline = book.clients[1].timeline
    assert timeline is not None
    assert timeline[-1] is error


# ---- counts ----------------------------------------------------------------------


def test_counts_add_up_one_by_one() -> None:
    book = ClientBook(Clock(100.0))
    events: list[Event] = [
        connect(1),
        connect(2),
        Rejected(peer="127.0.0.1:9", reason="max clients", ts=100.0),
        Rejected(peer="127.0.0.1:10", reason="max clients", ts=100.0),
        ServerError(message="one", ts=100.0),
        ServerError(message="two", ts=100.0),
    ]
    assert book.apply_all(events) == {1, 2}
    assert book.totals.clients_now == 2
    assert book.totals.clients_total == 2
    assert book.totals.rejected == 2
    assert book.totals.errors == 2


def test_a_fresh_book_knows_nothing_yet() -> None:
    book = ClientBook(Clock(100.0))
    assert book.address is None
    assert book.started_at is None
    assert book.shut_down is False
    assert book.max_id == 0
    assert book.uptime() == 0.0
    assert book.peer_of(1) is None


def test_uptime_counts_from_listening_in_fractions() -> None:
    clock = Clock(100.5)
    book = ClientBook(clock)
    book.apply_all([connect(1)])  # no listening yet
    assert book.uptime() == 0.0
    book.apply(Listening(host="127.0.0.1", port=9, ts=100.25))
    assert book.uptime() == 0.25
    clock.now = 99.0
    assert book.uptime() == 0.0


# ---- floods ----------------------------------------------------------------------


def brief_flood(first: int, count: int, ts: float = 100.0) -> list[Event]:
    """`count` clients that connect and close within one batch."""
    events: list[Event] = [connect(c, ts) for c in range(first, first + count)]
    events += [
        close(c, ts + 1, bytes_in=10, bytes_out=10) for c in range(first, first + count)
    ]
    return events


def test_a_flood_counts_every_client_and_keeps_the_earlier_ones_connected() -> None:
    book = ClientBook(Clock(100.0), linger=60.0)
    book.apply_all([connect(c) for c in range(1, 6)])
    touched = book.apply_all(brief_flood(10, FLOOD + 1))
    assert book.totals.clients_now == 5
    assert book.totals.clients_total == 5 + FLOOD + 1
    assert book.totals.bytes_in == 10 * (FLOOD + 1)
    assert len(touched) == FLOOD_ROWS
    assert book.max_id == 10 + FLOOD


def test_a_floods_remembered_clients_keep_their_connect_time_and_fault() -> None:
    book = ClientBook(Clock(100.0))
    book.apply(FaultChanged(client=None, fault="delay=50ms", ts=99.0))
    events = brief_flood(1, FLOOD + 1, ts=100.0)
    # The first client's fault is cleared within the batch, the second's changed.
    events.insert(FLOOD + 1, FaultChanged(client=1, fault="off", ts=100.5))
    events.insert(FLOOD + 1, FaultChanged(client=2, fault="stall", ts=100.5))
    book.apply_all(events)
    assert 1 not in book.clients, "a brief client of a flood gets no row"
    first, second, third = book.history[1], book.history[2], book.history[3]
    assert (first.connected_at, first.closed_at) == (100.0, 101.0)
    assert first.fault is None
    assert second.fault == "stall"
    assert third.fault == "delay=50ms"
    assert book.peer_of(3) == "127.0.0.1:3"


def test_exactly_flood_clients_closing_is_no_flood() -> None:
    book = ClientBook(Clock(100.0), linger=60.0)
    events = [connect(c) for c in range(1, FLOOD + 2)]  # one more stays connected
    events += [close(c, 101.0) for c in range(1, FLOOD + 1)]
    assert book.apply_all(events) == set(range(1, FLOOD + 2))
    assert len(book.clients) == FLOOD + 1, "every client gets its row"


def test_many_closes_of_clients_connected_before_are_no_flood() -> None:
    book = ClientBook(Clock(100.0), linger=60.0)
    book.apply_all([connect(c) for c in range(1, FLOOD + 51)])
    events: list[Event] = [close(c, 101.0) for c in range(1, FLOOD + 51)]
    events += [connect(c, 101.0) for c in range(1000, 1010)]
    book.apply_all(events)
    assert len(book.clients) == FLOOD + 60
    assert all(book.clients[c].closed for c in range(1, FLOOD + 51))


def test_without_detail_a_flood_is_folded_client_by_client() -> None:
    book = ClientBook(Clock(100.0), linger=60.0, detail=False)
    book.apply_all(brief_flood(1, FLOOD + 1))
    assert len(book.clients) == FLOOD + 1
    assert book.history == {}


@pytest.mark.parametrize("clients", [FLOOD + 1, FLOOD + 60])
def test_a_flood_leaves_rows_for_its_last_clients(clients: int) -> None:
    book = ClientBook(Clock(100.0), linger=60.0)
    book.apply_all(brief_flood(1, clients))
    assert sorted(book.clients) == list(range(clients - FLOOD_ROWS + 1, clients + 1))
    assert len(book.history) == clients
