"""The queue between the threads: order, coalescing, bounds."""

from __future__ import annotations

import threading

from tests.helpers import data_event
from tui_echo.engine.feed import EventFeed
from tui_echo.events import ClientClosed, ClientConnected, ClientData, Rejected


def test_data_is_merged_per_client_while_it_waits() -> None:
    feed = EventFeed()
    feed.publish(ClientConnected(client=1, peer="a:1"))
    for total in range(10, 110, 10):
        feed.publish_data([data_event(1, total, step=10)])
    events = feed.drain()
    assert [e.kind for e in events] == ["connect", "data"]
    merged = events[1]
    assert isinstance(merged, ClientData)
    assert (merged.bytes, merged.bytes_in) == (100, 100)


def test_waiting_data_goes_out_before_the_close() -> None:
    feed = EventFeed()
    feed.publish(ClientConnected(client=1, peer="a:1"))
    feed.publish_data([data_event(1, 5, step=5)])
    feed.publish(ClientClosed(client=1, reason="peer closed", bytes_in=5, bytes_out=5))
    assert [e.kind for e in feed.drain()] == ["connect", "data", "close"]
    assert feed.drain() == []


def test_data_never_overtakes_a_connect_left_behind_by_a_drain_limit() -> None:
    feed = EventFeed()
    for client in (1, 2, 3):
        feed.publish(ClientConnected(client=client, peer="a:1"))
        feed.publish_data([data_event(client, 1, step=1)])
    first = feed.drain(max_events=2)
    assert [e.kind for e in first] == ["connect", "connect"]
    second = feed.drain(max_events=2)
    assert [e.kind for e in second] == ["connect", "data"]
    third = feed.drain()
    assert [e.kind for e in third] == ["data", "data"]
    seen = {e.client for e in second[1:] + third}  # type: ignore[union-attr]
    assert seen == {1, 2, 3}


def test_lifecycle_events_are_never_dropped_and_backlog_is_reported() -> None:
    feed = EventFeed(backlog_limit=100)
    for i in range(250):
        feed.publish(Rejected(peer=f"a:{i}", reason="full"))
    assert feed.backlogged
    assert feed.backlog == 250
    assert len(feed.drain()) == 250
    assert not feed.backlogged


def test_wait_wakes_on_publish_and_on_wake() -> None:
    feed = EventFeed()
    assert not feed.wait(0)
    threading.Thread(
        target=feed.publish, args=(Rejected(peer="a:1", reason="x"),)
    ).start()
    assert feed.wait(10)
    feed.drain()
    assert not feed.wait(0)
    feed.wake()
    assert feed.wait(0)


def test_the_backlog_alarm_rings_once_per_drain_at_its_mark() -> None:
    feed = EventFeed()
    rings: list[int] = []
    feed.on_backlog(3, lambda: rings.append(feed.backlog))
    for client in range(1, 6):
        feed.publish(ClientConnected(client=client, peer="127.0.0.1:1"))
    assert rings == [3]
    feed.drain(2)  # a partial drain: the alarm may ring again
    feed.publish(ClientConnected(client=6, peer="127.0.0.1:1"))
    assert rings == [3, 4]
    feed.drain()
    feed.publish(ClientConnected(client=7, peer="127.0.0.1:1"))
    assert rings == [3, 4]  # one waits: below the mark
