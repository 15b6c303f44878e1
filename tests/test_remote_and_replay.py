"""The monitor's other sources: a server behind its control socket, and a log."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.helpers import (
    DEADLINE,
    RunningServer,
    recorded_session,
    recv_exactly,
    wait_until,
    write_log,
)
from tui_echo.book import ClientBook
from tui_echo.events import (
    ClientClosed,
    ClientConnected,
    ClientData,
    ClientState,
    Event,
    FaultChanged,
    Listening,
    ServerError,
    ShutdownComplete,
)
from tui_echo.faults import FaultSpec
from tui_echo.pytest_plugin import EventRecorder
from tui_echo.sources.attach_stream import GONE
from tui_echo.sources.attached import AttachError, RemoteServer
from tui_echo.sources.replay import PACE, LogReplay, ReplayError

StartServer = Callable[..., RunningServer]


@pytest.fixture
def served(start_server: StartServer, tmp_path: Path) -> RunningServer:
    return start_server(
        control=str(tmp_path / "e.sock"), fault=FaultSpec.parse("slice=7")
    )


def attach(served: RunningServer) -> tuple[RemoteServer, EventRecorder]:
    assert served.server.config.control is not None
    remote = RemoteServer(served.server.config.control)
    return remote, EventRecorder(remote.feed)


def test_attaching_shows_the_server_and_the_clients_already_there(
    served: RunningServer,
) -> None:
    with served.connect() as early:
        early_id = served.next_client()
        early.sendall(b"before")
        recv_exactly(early, 6)
        served.server.set_fault(early_id, "delay=10ms")
        served.events.wait_for(FaultChanged, client=early_id)
        remote, _ = attach(served)
        try:
            book = ClientBook()
            remote.prepare(book)  # the snapshot: no events of the past in the feed
            assert book.address == served.address
            assert book.default_fault == "slice=7"
            record = book.clients[early_id]
            assert (record.bytes_in, record.bytes_out, record.state) == (
                6,
                6,
                ClientState.OPEN,
            )
            assert record.fault == "delay=10ms"
        finally:
            remote.close()


def test_events_flow_and_commands_act_through_the_socket(
    served: RunningServer,
) -> None:
    remote, seen = attach(served)
    try:
        with served.connect() as client:
            client_id = seen.wait_for(ClientConnected).client
            remote.inspect(client_id, True)
            wait_until(lambda: served.server.recent_bytes(client_id) is not None)
            client.sendall(b"watch me")
            assert recv_exactly(client, 8) == b"watch me"
            seen.wait_for(ClientData, lambda e: e.bytes_in == 8, client=client_id)

            def refreshed() -> bool:
                remote.watch_kernel([client_id])
                return remote.recent_bytes(client_id) == b"watch me"

            wait_until(refreshed, message="the recent bytes through the socket")
            activity = remote.fault_activity(client_id)
            assert activity is not None  # slice=7 is every new client's fault
            assert activity.pieces >= 2
            if remote.kernel_stats(client_id) is not None:
                assert remote.kernel_stats(client_id).recv_q == 0  # type: ignore[union-attr]
            remote.set_fault(client_id, None)
            seen.wait_for(FaultChanged, client=client_id, fault="off")
            remote.kick(client_id)
            assert client.recv(10) == b""
        assert seen.wait_for(ClientClosed, client=client_id).reason == "kicked"
    finally:
        remote.close()


def test_when_the_server_stops_the_monitor_is_told(served: RunningServer) -> None:
    remote, seen = attach(served)
    try:
        served.server.stop()
        seen.wait_for(ShutdownComplete)
        assert seen.wait_for(ServerError).message == GONE
        assert remote.gone
    finally:
        remote.close()


def test_detaching_leaves_the_server_running(served: RunningServer) -> None:
    remote, _ = attach(served)
    remote.stop()
    assert served.server.running
    with served.connect() as client:
        client.sendall(b"ok")
        assert recv_exactly(client, 2) == b"ok"


def test_attaching_to_nothing_says_why(tmp_path: Path) -> None:
    with pytest.raises(AttachError, match="no such file or directory"):
        RemoteServer(str(tmp_path / "nothing.sock"))


# ---- replay --------------------------------------------------------------------


SESSION = recorded_session()


def play(replay: LogReplay) -> list[Event]:
    seen = EventRecorder(replay.feed)
    wait_until(lambda: replay.finished, message="the end of the log")
    return seen.poll()


def test_a_log_replays_in_order_at_its_recorded_pace(tmp_path: Path) -> None:
    replay = LogReplay(str(write_log(tmp_path / "run.jsonl", SESSION)))
    try:
        started = time.monotonic()
        assert play(replay) == SESSION
        assert time.monotonic() - started >= 0.55  # 0.6 s of log at speed 1
        assert replay.clock() == pytest.approx(1000.6, abs=0.05)  # stays at the end
        assert replay.commands is None  # nothing can be done to a log's clients
        assert replay.kernel is None
    finally:
        replay.stop()


def clock_rate(replay: LogReplay, seconds: float) -> float:
    """Seconds of the log's clock per second of wall time, over `seconds` of it."""
    log_start, wall_start = replay.clock(), time.monotonic()
    wait_until(lambda: time.monotonic() - wall_start >= seconds)
    log_end, wall_end = replay.clock(), time.monotonic()
    return (log_end - log_start) / (wall_end - wall_start)


def test_speed_and_pause(tmp_path: Path) -> None:
    long_session = [
        Listening(host="127.0.0.1", port=9000, ts=0.0),
        ShutdownComplete(ts=40.0),
    ]
    replay = LogReplay(str(write_log(tmp_path / "run.jsonl", long_session)), speed=8)
    try:
        seen = EventRecorder(replay.feed)
        seen.wait_for(Listening)
        # Within a fifth: half or double the speed is far outside.
        assert clock_rate(replay, 0.3) == pytest.approx(8, rel=0.2)
        replay.toggle_pause()
        assert clock_rate(replay, 0.1) == 0  # stopped, not slow
        replay.toggle_pause()
        replay.faster()
        assert replay.speed == 16
        assert clock_rate(replay, 0.3) == pytest.approx(16, rel=0.2)
        log_left = 40.0 - replay.clock()
        started = time.monotonic()
        seen.wait_for(ShutdownComplete, timeout=DEADLINE)
        took = time.monotonic() - started
        # The rest of the log at 16x (the player wakes every PACE at the most).
        assert log_left / 16 * 0.8 <= took <= log_left / 16 * 1.25 + PACE, took
        assert replay.clock() == pytest.approx(40.0, abs=0.05)  # stays at the end
    finally:
        replay.stop()


@pytest.mark.parametrize(
    ("tail", "why"),
    [
        ('{"event":"connect","ts":1000.7,"cli', "the log is cut off in the middle"),
        ("GET / HTTP/1.1\n", "not JSON"),
        ('{"event":"party","ts":1000.7}\n', "not a tui-echo event: unknown kind"),
    ],
)
def test_a_broken_log_replays_up_to_the_break_and_says_where(
    tmp_path: Path, tail: str, why: str
) -> None:
    path = write_log(tmp_path / "run.jsonl", SESSION, tail)
    replay = LogReplay(str(path), speed=64)
    try:
        events = play(replay)
        assert events[: len(SESSION)] == SESSION
        last = events[-1]
        assert isinstance(last, ServerError)
        assert last.message.startswith(f"replay stopped at line 6 of '{path}': {why}")
        assert replay.stopped_at is not None
    finally:
        replay.stop()


def test_a_missing_log_says_why(tmp_path: Path) -> None:
    with pytest.raises(ReplayError, match="no such file or directory"):
        LogReplay(str(tmp_path / "missing.jsonl"))


def test_a_command_about_a_client_gone_does_not_stop_later_commands(
    served: RunningServer,
) -> None:
    remote, seen = attach(served)
    try:
        with served.connect():
            gone = seen.wait_for(ClientConnected).client
            remote.inspect(gone, True)
        seen.wait_for(ClientClosed, client=gone)
        remote.watch_kernel([gone])  # RECENT/ACTIVITY/KERNEL of a client gone: ERR
        remote.kick(gone)  # ERR no client: answered, not fatal
        with served.connect() as client:
            later = seen.wait_for(ClientConnected, lambda e: e.client != gone).client
            remote.kick(later)
            assert client.recv(10) == b""
    finally:
        remote.close()
