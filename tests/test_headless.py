"""The headless sink's parts: writing lines that may fail, noticing a log backlog."""

from __future__ import annotations

import os

import pytest

from tests.helpers import data_event
from tui_echo.cli.headless import BacklogNotice, LineWriter
from tui_echo.engine.feed import EventFeed
from tui_echo.events import ClientConnected


def test_lines_are_written_whole_to_the_descriptor() -> None:
    read_end, write_end = os.pipe()
    warnings: list[str] = []
    try:
        writer = LineWriter(write_end, warnings.append)
        writer.write(["one", "two"])
        assert os.read(read_end, 100) == b"one\ntwo\n"
        assert (writer.lost, writer.reader_gone, warnings) == (0, False, [])
    finally:
        os.close(read_end)
        os.close(write_end)


def test_a_reader_that_went_away_is_noticed_not_raised() -> None:
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        writer = LineWriter(write_end, [].append)
        writer.write(["nobody reads this"])
        assert writer.reader_gone
        writer.write(["nor this"])  # no second attempt, no error
    finally:
        os.close(write_end)


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
def test_a_full_disk_costs_lines_not_the_server() -> None:
    warnings: list[str] = []
    fd = os.open("/dev/full", os.O_WRONLY)
    try:
        writer = LineWriter(fd, warnings.append)
        writer.write(["a", "b", "c"])
        writer.write(["d"])
        writer.report()
    finally:
        os.close(fd)
    assert writer.lost == 4
    assert warnings == [
        "cannot write the log: no space left on device;"
        " the server keeps serving and counts the lines lost",
        "4 log lines could not be written (no space left on device)",
    ]


def test_the_backlog_notice_says_when_accepting_stops_and_when_it_resumes() -> None:
    feed = EventFeed(backlog_limit=3)
    said: list[str] = []
    notice = BacklogNotice(feed, said.append)
    notice.look()
    assert said == []
    for client in range(5):
        feed.publish(ClientConnected(client=client, peer="127.0.0.1:1"))
    notice.look()
    notice.look()
    assert said == [
        "the log is 5 events behind: not accepting new clients until it catches up"
    ]
    feed.drain()
    feed.publish_data([data_event(1, 10)])  # data alone never backs up
    notice.look()
    notice.look()
    assert said[1:] == ["the log caught up: accepting new clients again"]
