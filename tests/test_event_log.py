"""The event log's lines: one per event when quiet, a summary a second when busy,
always in the order things happened, each with its own time."""

from __future__ import annotations

from tests.helpers import data_event
from tui_echo.book import ClientBook
from tui_echo.engine.feed import EventFeed
from tui_echo.events import ClientClosed, ClientConnected, FaultChanged
from tui_echo.ui.widgets.event_log import MAX_LINES, DataSummary, Note, event_lines


def texts(lines: list[tuple[bool, str]]) -> list[str]:
    return [text for _, text in lines]


def test_quiet_batches_get_a_line_per_event_in_order() -> None:
    book = ClientBook(lambda: 0.0)
    events = [
        ClientConnected(client=1, peer="127.0.0.1:5", ts=0.0),
        data_event(1, 100, ts=0.1),
        ClientClosed(
            client=1, reason="peer closed", bytes_in=100, bytes_out=100, ts=0.2
        ),
    ]
    book.apply_all(events)
    lines = event_lines(events, book, DataSummary())
    assert [text.split()[1] for text in texts(lines)] == ["connect", "data", "close"]
    assert [lifecycle for lifecycle, _ in lines] == [True, False, True]
    assert "#1 127.0.0.1:5 +100 B" in lines[1][1]


def test_lines_follow_the_events_times_not_the_feeds_order() -> None:
    """The feed hands over lifecycle events before merged data: a close at .5
    came out ahead of data at .25 (issue 11: the log went back in time)."""
    feed = EventFeed()
    feed.publish(ClientConnected(client=5, peer="127.0.0.1:5", ts=39.0))
    feed.publish(ClientConnected(client=6, peer="127.0.0.1:6", ts=39.1))
    feed.publish_data([data_event(6, 10, ts=39.25)])
    feed.publish(
        ClientClosed(client=5, reason="peer closed", bytes_in=0, bytes_out=0, ts=39.5)
    )
    events = feed.drain()
    assert [e.ts for e in events] == [39.0, 39.1, 39.5, 39.25]  # the feed's order
    book = ClientBook(lambda: 40.0)
    book.apply_all(events)
    lines = texts(event_lines(events, book, DataSummary()))
    times = [line.split()[0] for line in lines]
    assert times == sorted(times)
    assert lines[2].split()[0].endswith(":39.250")
    assert " data        #6 127.0.0.1:6 +10 B" in lines[2]
    assert lines[3].split()[0].endswith(":39.500")
    assert " close       #5 127.0.0.1:5 peer closed" in lines[3]


def test_busy_data_is_summed_into_one_line_a_second() -> None:
    book = ClientBook(lambda: 0.0)
    summary = DataSummary()
    first = event_lines(
        [data_event(c, 100, ts=10.0) for c in range(1, 21)], book, summary
    )
    assert len(first) == 1
    assert first[0][0] is False, "a summary is a data line"
    assert "20 clients +2.0 KiB" in first[0][1]
    # Within the same second: summed, not written.
    assert (
        event_lines([data_event(c, 100, ts=10.5) for c in range(1, 21)], book, summary)
        == []
    )
    later = event_lines(
        [data_event(c, 100, ts=11.1) for c in range(1, 11)], book, summary
    )
    assert len(later) == 1
    assert "20 clients +2.9 KiB" in later[0][1]  # 3,000 bytes since the last line
    # A quiet batch after a busy spell says what the spell still held.
    event_lines([data_event(c, 100, ts=11.2) for c in range(1, 21)], book, summary)
    quiet = texts(event_lines([data_event(1, 100, ts=11.3)], book, summary))
    assert "20 clients +2.0 KiB" in quiet[0]
    assert "#1 +100 B" in quiet[1]


def test_a_busy_summary_sits_after_its_data_and_before_later_events() -> None:
    book = ClientBook(lambda: 0.0)
    book.apply(ClientConnected(client=1, peer="127.0.0.1:1", ts=9.0))
    events = [
        ClientClosed(client=1, reason="kicked", bytes_in=0, bytes_out=0, ts=10.9),
        *(data_event(c, 100, ts=10.5) for c in range(2, 12)),
        ClientConnected(client=12, peer="127.0.0.1:12", ts=10.1),
    ]
    lines = texts(event_lines(events, book, DataSummary()))
    assert [line.split()[1] for line in lines] == ["connect", "data", "close"]
    times = [line.split()[0] for line in lines]
    assert times == sorted(times)


def test_operator_notes_take_their_place_among_the_events() -> None:
    book = ClientBook(lambda: 0.0)
    events = [
        ClientConnected(client=1, peer="127.0.0.1:1", ts=1.0),
        FaultChanged(client=1, fault="stall", ts=3.0),
    ]
    book.apply_all(events)
    lines = event_lines(events, book, DataSummary(), [Note(2.0, "kick        #1")])
    assert [text.split()[1] for _, text in lines] == ["connect", "kick", "fault"]
    assert all(lifecycle for lifecycle, _ in lines)
    assert "fault       #1 127.0.0.1:1: stall" in lines[2][1]


def test_a_flood_of_connects_is_counted_not_written_beyond_what_the_log_keeps() -> None:
    book = ClientBook(lambda: 0.0)
    events = [
        ClientConnected(client=i, peer=f"127.0.0.1:{i}", ts=i / 1000)
        for i in range(1, MAX_LINES + 501)
    ]
    lines = event_lines(events, book, DataSummary())
    assert len(lines) == MAX_LINES + 1
    assert lines[0][1].endswith(
        "… 500 events not shown: too many to read (the connects and closes of a flood)"
    )
    assert lines[1][1].endswith("connect     #501 127.0.0.1:501")
    assert lines[-1][1].endswith(f"#{MAX_LINES + 500} 127.0.0.1:{MAX_LINES + 500}")
