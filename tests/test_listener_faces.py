"""Listener faults through every face but the screen: the command line (a real
process), the control socket (`LISTENER`, `STATS`), attach (the door state at
attach and the command back), the event's forms and the book's door state."""

from __future__ import annotations

import errno
import json
import socket
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.helpers import (
    COMMAND,
    DEADLINE,
    Headless,
    RunningServer,
    ask_control,
    recv_exactly,
    wait_until,
)
from tui_echo.book import ClientBook
from tui_echo.control.answers import parse_stats
from tui_echo.control.client import BadAnswerError
from tui_echo.events import ListenerChanged, to_json
from tui_echo.events_parse import from_json
from tui_echo.events_text import event_text
from tui_echo.faults.listener import ListenerFault
from tui_echo.sources.attached import RemoteServer

StartServer = Callable[..., RunningServer]


def refused(port: int) -> bool:
    with socket.socket() as client:
        client.settimeout(DEADLINE)
        return client.connect_ex(("127.0.0.1", port)) == errno.ECONNREFUSED


def echoes(port: int) -> bool:
    with socket.create_connection(("127.0.0.1", port), timeout=DEADLINE) as client:
        client.sendall(b"hi")
        return recv_exactly(client, 2) == b"hi"


# ---- the command line --------------------------------------------------------------


def test_listener_fault_on_the_command_line_follows_listening_and_runs_out() -> None:
    with Headless(
        "--log-format", "json", "--listener-fault", "refuse,for=500ms"
    ) as proc:
        port = json.loads(proc.next_line())["port"]
        announced = json.loads(proc.next_line())
        assert (announced["event"], announced["fault"]) == (
            "listener",
            "refuse,for=500ms",
        )
        assert refused(port)
        ended = json.loads(proc.line_matching('"listener"'))
        assert ended["fault"] == "off"
        # The door counts 500 ms on the monotonic clock from just before the first
        # event's wall-clock stamp is read, so the stamps may differ by a hair less.
        assert ended["ts"] - announced["ts"] >= 0.5 - 0.005
        assert echoes(port)
        code, stderr = proc.finish()
    assert code == 0, stderr


def test_the_text_log_says_what_the_door_does() -> None:
    with Headless("--listener-fault", "drop") as proc:
        proc.read_until("listening")
        assert proc.next_line().endswith("listener    drop")
        code, _ = proc.finish()
    assert code == 0


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("refuze", "unknown listener item 'refuze'"),
        ("drop,for=0", "listener item for=0s: must be longer than 0s"),
        (
            "accept-delay=\x1b]0;PWNED\x07",
            "listener item accept-delay=\\x1b]0;PWNED\\x07",
        ),
        ("", "empty listener fault"),
    ],
)
def test_a_bad_listener_fault_on_the_command_line_exits_2_naming_it(
    text: str, named: str
) -> None:
    result = subprocess.run(
        [*COMMAND, "--no-ui", "--listener-fault", text],
        capture_output=True,
        text=True,
        timeout=DEADLINE,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 2
    assert result.stderr.startswith("usage: tui-echo")
    assert f"argument --listener-fault: {named}" in result.stderr
    assert "\x1b" not in result.stderr
    assert "Traceback" not in result.stderr


# ---- the control socket ------------------------------------------------------------


def test_listener_over_the_control_socket_sets_the_door_and_stats_says_so(
    start_server: StartServer, tmp_path: Path
) -> None:
    path = tmp_path / "c.sock"
    running = start_server(control=str(path))
    port = running.address[1]
    assert parse_stats(ask_control(path, "STATS")[0]).listener == "off"
    assert ask_control(path, "LISTENER refuse") == ["OK"]
    running.events.wait_for(ListenerChanged, fault="refuse")
    assert refused(port)
    assert parse_stats(ask_control(path, "STATS")[0]).listener == "refuse"
    assert ask_control(path, "LISTENER drop,for=10s") == ["OK"]
    said = parse_stats(ask_control(path, "STATS")[0]).listener
    fault = ListenerFault.parse(said)
    assert fault is not None
    assert fault.mode == "drop"
    assert fault.lasting is not None
    assert 8.0 < fault.lasting <= 10.0  # the time left, not the time set
    assert ask_control(path, "LISTENER off") == ["OK"]
    running.events.wait_for(ListenerChanged, fault="off")
    assert echoes(port)
    [err] = ask_control(path, "LISTENER sometimes")
    assert err.startswith("ERR unknown listener item 'sometimes'")


@pytest.mark.parametrize(
    "listener",
    ["refuze", "drop,for=soon", "", "refuse,drop", "\\x1b[2J"],
)
def test_attach_refuses_a_stats_line_with_a_bad_listener_field(listener: str) -> None:
    line = (
        "clients=0 total=0 rejected=0 bytes_in=0 bytes_out=0 pending=0 uptime=1.0"
        f" started=1000.000 seq=1 listener={listener} listening=127.0.0.1:9"
        " fault=-"
    )
    with pytest.raises(BadAnswerError, match="listener"):
        parse_stats(line)


def test_attach_refuses_a_stats_line_without_the_listener_field() -> None:
    line = (
        "clients=0 total=0 rejected=0 bytes_in=0 bytes_out=0 pending=0 uptime=1.0"
        " started=1000.000 seq=1 listening=127.0.0.1:9 fault=-"
    )
    with pytest.raises(BadAnswerError, match="no listener="):
        parse_stats(line)


# ---- attach ------------------------------------------------------------------------


def test_an_attached_monitor_knows_the_door_at_attach_and_can_change_it(
    start_server: StartServer, tmp_path: Path
) -> None:
    path = tmp_path / "c.sock"
    running = start_server(control=str(path))
    running.set_listener_fault("accept-delay=200ms,for=1m")
    remote = RemoteServer(str(path))
    book = ClientBook(remote.clock)
    remote.prepare(book)
    try:
        fault = book.door.fault
        assert fault is not None
        assert (fault.mode, fault.delay) == ("accept-delay", 0.2)
        left = book.door.left(remote.clock())
        assert left is not None
        assert 50 < left <= 60
        assert str(book.door.words(remote.clock())).startswith("accept-delay 200ms (")
        remote.set_listener_fault(ListenerFault("refuse"))
        running.events.wait_for(ListenerChanged, fault="refuse")

        def folded() -> bool:
            book.apply_all(remote.feed.drain())
            return book.door.text == "refuse"

        wait_until(folded, message="the listener event at the attached monitor")
        assert book.door.words(remote.clock()) == "refusing connects"
    finally:
        remote.close()


# ---- the event and the book ----------------------------------------------------------


def test_the_listener_event_has_a_json_form_and_a_text_line() -> None:
    event = ListenerChanged(fault="refuse,for=5s", ts=2.0)
    assert to_json(event) == {"event": "listener", "ts": 2.0, "fault": "refuse,for=5s"}
    assert from_json(to_json(event)) == event
    assert event_text(event) == "listener    refuse,for=5s"
    assert (
        event_text(ListenerChanged(fault="off"))
        == "listener    off: accepting as usual"
    )
    with pytest.raises(ValueError, match="listener event without 'fault'"):
        from_json({"event": "listener", "ts": 1.0})
    with pytest.raises(ValueError, match="too long"):
        from_json({"event": "listener", "ts": 1.0, "fault": "x" * 5000})


def test_the_book_says_what_the_door_does_and_the_time_left() -> None:
    now = [100.0]
    book = ClientBook(lambda: now[0])
    assert book.door.open
    assert book.door.words(now[0]) is None
    book.apply(ListenerChanged(fault="refuse,for=5s", ts=100.0))
    now[0] = 101.0
    assert book.door.words(now[0]) == "refusing connects (4.0s left)"
    book.apply(ListenerChanged(fault="drop", ts=101.0))
    assert book.door.words(now[0]) == "dropping connects"
    book.apply(ListenerChanged(fault="accept-delay=200ms", ts=101.0))
    assert book.door.words(now[0]) == "accept-delay 200ms"
    book.apply(ListenerChanged(fault="off", ts=102.0))
    assert book.door.open
    assert book.door.words(now[0]) is None


def test_a_listener_fault_from_outside_that_does_not_parse_is_shown_escaped() -> None:
    book = ClientBook(lambda: 0.0)
    book.apply(from_json({"event": "listener", "ts": 1.0, "fault": "weird\x1b[2J"}))
    words = book.door.words(0.0)
    assert words == "listener weird\\x1b[2J"


def test_a_replayed_log_shows_the_door_as_it_was(tmp_path: Path) -> None:
    from tests.helpers import write_log
    from tui_echo.events import Listening
    from tui_echo.pytest_plugin import EventRecorder
    from tui_echo.sources.replay import LogReplay

    log = write_log(
        tmp_path / "door.jsonl",
        [
            Listening(host="127.0.0.1", port=9000, ts=1000.0),
            ListenerChanged(fault="drop,for=10s", ts=1000.1),
        ],
    )
    replay = LogReplay(str(log), speed=64)
    try:
        seen = EventRecorder(replay.feed)
        wait_until(lambda: replay.finished, message="the end of the log")
        book = ClientBook(replay.clock)
        book.apply_all(seen.poll())
        assert book.door.text == "drop,for=10s"
        assert book.door.words(1001.1) == "dropping connects (9.0s left)"
    finally:
        replay.stop()
