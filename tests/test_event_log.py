"""The event log's lines: one per event when quiet, a summary a second when busy."""

from __future__ import annotations

from tests.helpers import data_event
from tui_echo.book import ClientBook
from tui_echo.events import ClientClosed, ClientConnected
from tui_echo.ui.widgets.event_log import DataSummary, event_lines


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
    assert [line.split()[1] for line in lines] == ["connect", "data", "close"]
    assert "#1 127.0.0.1:5 +100 B" in lines[1]


def test_busy_data_is_summed_into_one_line_a_second() -> None:
    book = ClientBook(lambda: 0.0)
    summary = DataSummary()
    first = event_lines(
        [data_event(c, 100, ts=10.0) for c in range(1, 21)], book, summary
    )
    assert len(first) == 1
    assert "20 clients +2.0 KiB" in first[0]
    # Within the same second: summed, not written.
    assert (
        event_lines([data_event(c, 100, ts=10.5) for c in range(1, 21)], book, summary)
        == []
    )
    later = event_lines(
        [data_event(c, 100, ts=11.1) for c in range(1, 11)], book, summary
    )
    assert len(later) == 1
    assert "20 clients +2.9 KiB" in later[0]  # 3,000 bytes since the last line
    # A quiet batch after a busy spell says what the spell still held.
    event_lines([data_event(c, 100, ts=11.2) for c in range(1, 21)], book, summary)
    quiet = event_lines([data_event(1, 100, ts=11.3)], book, summary)
    assert "20 clients +2.0 KiB" in quiet[0]
    assert "#1 +100 B" in quiet[1]
