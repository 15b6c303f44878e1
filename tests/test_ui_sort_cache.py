"""The table sorts only when the order can have changed (issue 18: with 10,000 idle
clients a refresh sorted them all, twice per key press), yet never shows a stale
order: each kind of column names what may reorder it, and the book counts those
changes. Pure: a book, a fixed clock, the rows' functions."""

from __future__ import annotations

import pytest

from tests.helpers import data_event
from tui_echo.book import ClientBook
from tui_echo.events import ClientClosed, ClientConnected, FaultChanged
from tui_echo.ui.widgets.columns import BY_KEY, Moves, RowView
from tui_echo.ui.widgets.rows import order_stamp, ordered_clients

START = 1000.0


class Clock:
    def __init__(self, now: float = START) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def idle_book(clients: int = 3) -> tuple[ClientBook, Clock]:
    clock = Clock()
    book = ClientBook(clock, rate_window=2.0)
    for client in range(1, clients + 1):
        book.apply(ClientConnected(client=client, peer=f"10.0.0.{client}:9", ts=START))
    book.refresh()
    return book, clock


def stamp(book: ClientBook, column: str, now: float = START, text: str = "") -> object:
    return order_stamp(book, now, text, column, False)


@pytest.mark.parametrize("column", ["id", "peer", "in", "rate_in", "fault", "age"])
def test_a_refresh_of_idle_clients_keeps_every_order(column: str) -> None:
    book, clock = idle_book()
    before = stamp(book, column)
    clock.now += 0.5
    book.refresh()
    assert stamp(book, column, clock.now - 0.5) == before


def test_an_order_by_bytes_is_sorted_again_when_bytes_change() -> None:
    book, _ = idle_book()
    view = RowView(now=START)
    assert ordered_clients(book, view, "", "in", True) == [3, 2, 1]  # ties by id
    before = stamp(book, "in")
    book.apply(data_event(1, 500, ts=START))
    assert stamp(book, "in") != before
    assert ordered_clients(book, view, "", "in", True) == [1, 3, 2]


def test_an_order_by_id_holds_through_data_and_changes_when_rows_come_and_go() -> None:
    book, clock = idle_book()
    before = stamp(book, "id")
    book.apply(data_event(2, 10, ts=START))
    book.apply(FaultChanged(client=1, fault="stall", ts=START))
    assert stamp(book, "id") == before  # no reorder by id: no sort
    book.apply(ClientConnected(client=4, peer="10.0.0.4:9", ts=START))
    assert stamp(book, "id") != before
    after_connect = stamp(book, "id")
    book.apply(
        ClientClosed(client=4, reason="kicked", bytes_in=0, bytes_out=0, ts=START)
    )
    clock.now += 60  # past the linger: the row goes
    book.refresh()
    assert stamp(book, "id", clock.now) != after_connect


def test_a_filter_makes_even_an_order_by_id_follow_the_records() -> None:
    book, _ = idle_book()
    before = stamp(book, "id", text="stall")
    book.apply(FaultChanged(client=1, fault="stall", ts=START))
    assert stamp(book, "id", text="stall") != before


def test_a_rate_that_moves_reorders_and_one_that_settles_at_zero_stops_counting() -> (
    None
):
    book, clock = idle_book()
    book.apply(data_event(2, 4000, ts=START + 1))
    clock.now = START + 1.5
    book.refresh()
    moving = stamp(book, "rate_in", clock.now)
    assert book.clients[2].rate_in > 0
    clock.now = START + 10  # the window slid past client 2's data
    book.refresh()
    assert book.clients[2].rate_in == 0.0
    settled = stamp(book, "rate_in", clock.now)
    assert settled != moving
    clock.now = START + 20
    book.refresh()  # nothing moves any more: the order holds
    assert stamp(book, "rate_in", clock.now) == settled


def test_an_order_by_the_clock_is_sorted_again_each_second() -> None:
    book, _ = idle_book()
    assert BY_KEY["age"].moves is Moves.WITH_TIME
    assert stamp(book, "age", START + 0.2) == stamp(book, "age", START + 0.9)
    assert stamp(book, "age", START + 0.9) != stamp(book, "age", START + 1.1)


@pytest.mark.parametrize(
    "column", [c.key for c in BY_KEY.values() if c.attribute], ids=str
)
def test_a_column_sorted_by_its_attribute_sorts_as_its_key_says(column: str) -> None:
    """The fast path (attrgetter) and the column's own sort key agree, ties by id
    either way round."""
    book, _ = idle_book(6)
    for client, size in ((1, 300), (2, 100), (4, 300), (5, 900)):
        book.apply(data_event(client, size, size // 2, pending=size % 7, ts=START + 1))
    book.refresh()
    view = RowView(now=START + 2)
    sort_key = BY_KEY[column].sort_key
    assert sort_key is not None
    records = list(book.clients.values())
    for descending in (False, True):
        by_key = sorted(records, key=lambda r: (sort_key(r, view), r.id))
        if descending:
            by_key.reverse()
        expected = [record.id for record in by_key]
        assert ordered_clients(book, view, "", column, descending) == expected
