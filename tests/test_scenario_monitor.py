"""The scenario as the monitor shows it: its clock and next step in the status bar,
live through the pilot, and from a log's or a stream's `scenario` events through
the book (replay and attach fold the same events)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.helpers import RunningServer, ask_control
from tests.pilot import running_monitor
from tui_echo.book import ClientBook
from tui_echo.book.seed import Snapshot, seed_book
from tui_echo.events import (
    Listening,
    ScenarioStep,
    json_line,
    to_json,
)
from tui_echo.events_parse import from_json, from_json_line
from tui_echo.faults.scenario_file import parse_scenario
from tui_echo.sources.attached import RemoteServer

StartServer = Callable[..., RunningServer]

TIMELINE = """
[[step]]
at = "0.3s"
target = "new"
fault = "delay=200ms"

[[step]]
at = "45s"
target = "all"
fault = "off"
"""


async def test_the_status_bar_shows_the_scenario_clock_and_next_step() -> None:
    async with running_monitor(scenario=parse_scenario(TIMELINE)) as monitor:
        await monitor.until(
            lambda: (
                "next at 0.3s: step 1, set new to delay=200ms" in monitor.screen_text()
            ),
            "the first step on screen",
        )
        await monitor.until(
            lambda: "next at 45s: step 2, set all to off" in monitor.screen_text(),
            "the next step once the first fired",
        )
        assert "scenario 0." in monitor.screen_text()  # its clock, under a second
        await monitor.until(
            lambda: any("step 1 at 0.3s" in line for line in monitor.log_lines()),
            "the step in the event log",
        )


async def test_a_monitor_without_a_scenario_shows_none() -> None:
    async with running_monitor() as monitor:
        await monitor.until(
            lambda: "listening on" in monitor.screen_text(), "the status bar"
        )
        assert "scenario" not in monitor.screen_text()


def test_the_book_keeps_the_clock_and_next_step_of_the_latest_event() -> None:
    now = [1000.0]
    book = ClientBook(clock=lambda: now[0])
    assert book.scenario is None
    book.apply(Listening(host="127.0.0.1", port=9, ts=990.0))
    book.apply(
        ScenarioStep(
            step=1,
            clock=5.0,
            does="set new to stall",
            next_at=8.0,
            next_does="step 2, set all to off",
            ts=995.0,
        )
    )
    assert book.scenario is not None
    assert book.scenario.clock(now[0]) == 10.0
    assert (book.scenario.next_at, book.scenario.next_does) == (
        8.0,
        "step 2, set all to off",
    )
    book.apply(
        ScenarioStep(step=2, clock=8.0, does="x", next_at=0.0, next_does="", ts=998.0)
    )
    assert book.scenario.next_at is None


def test_the_scenario_event_reads_back_from_its_json() -> None:
    event = ScenarioStep(
        step=3,
        clock=12.5,
        does='set all to "x"',
        next_at=42.5,
        next_does="step 1, set new to delay=1ms",
        ts=1700000000.25,
    )
    line = json_line(event)
    assert json.loads(line) == to_json(event)
    assert from_json_line(line) == event


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("clock", 1e300),
        ("clock", -1),
        ("next_at", float("inf")),
        ("step", -1),
        ("step", 10**400),
        ("does", "x" * 5000),
        ("next_does", 3),
    ],
)
def test_a_hostile_scenario_event_is_refused(field: str, value: object) -> None:
    payload = to_json(
        ScenarioStep(step=1, clock=1.0, does="", next_at=0.0, next_does="", ts=1.0)
    )
    payload[field] = value
    with pytest.raises(ValueError, match=field):
        from_json(payload)


def test_a_replayed_escape_sequence_reaches_the_book_escaped() -> None:
    payload = to_json(
        ScenarioStep(
            step=0, clock=0.0, does="", next_at=1.0, next_does="\x1b[2J", ts=1.0
        )
    )
    book = ClientBook()
    book.apply(from_json(payload))
    assert book.scenario is not None
    assert "\x1b" not in book.scenario.next_does


def test_a_snapshot_with_the_latest_scenario_event_seeds_the_clock() -> None:
    """What an attached monitor starts from, once the control socket carries the
    loop's `scenario_step` (see `Snapshot.scenario`)."""
    step = ScenarioStep(
        step=2,
        clock=30.0,
        does="set all to blackhole",
        next_at=45.0,
        next_does="step 5, set all to off",
        ts=2030.0,
    )
    snapshot = Snapshot(
        host="127.0.0.1",
        port=9000,
        started_at=2000.0,
        default_fault=None,
        clients_now=0,
        clients_total=0,
        rejected=0,
        bytes_in=0,
        bytes_out=0,
        seq=10,
        taken_at=2040.0,
        scenario=step,
    )
    book = ClientBook(clock=lambda: 2040.0)
    seed_book(book, snapshot)
    assert book.scenario is not None
    assert book.scenario.clock(2040.0) == 40.0
    assert book.scenario.next_does == "step 5, set all to off"


def test_the_loop_keeps_its_latest_scenario_event(start_server: StartServer) -> None:
    running = start_server(scenario=parse_scenario(TIMELINE))
    step = running.events.wait_for(ScenarioStep, step=1)
    loop = running.server._loop
    assert loop is not None
    assert loop.scenario_step == step
    plain = start_server()
    assert plain.server._loop is not None
    assert plain.server._loop.scenario_step is None


def test_the_control_socket_says_the_latest_step_and_attach_starts_from_it(
    start_server: StartServer, tmp_path: Path
) -> None:
    path = tmp_path / "c.sock"
    running = start_server(scenario=parse_scenario(TIMELINE), control=str(path))
    step = running.events.wait_for(ScenarioStep, step=1)
    said = ask_control(path, "SCENARIO")
    assert said[-1] == "OK"
    (line,) = said[:-1]
    told = from_json_line(line)
    assert isinstance(told, ScenarioStep)
    assert (told.step, told.does, told.next_does) == (1, step.does, step.next_does)
    assert told.ts == pytest.approx(step.ts, abs=1e-5)
    remote = RemoteServer(str(path))
    book = ClientBook(remote.clock)
    try:
        remote.prepare(book)
        assert book.scenario is not None
        assert book.scenario.next_does == step.next_does
        assert book.scenario.clock(step.ts) == pytest.approx(step.clock, abs=1e-3)
    finally:
        remote.close()


def test_without_a_scenario_the_control_socket_says_none(
    start_server: StartServer, tmp_path: Path
) -> None:
    path = tmp_path / "c.sock"
    start_server(control=str(path))
    assert ask_control(path, "SCENARIO") == ["OK"]
