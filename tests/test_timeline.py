"""The scenario runner's decisions without sockets: when steps fire, on whom,
repeats after a held-up loop, per-client steps cancelled and forgotten."""

from __future__ import annotations

from tui_echo.engine.timeline import ALARM_ID, Timeline
from tui_echo.engine.timers import STALE_TIMERS, Timers
from tui_echo.events import Event, ScenarioStep, ServerError
from tui_echo.faults import FaultSpec, FaultTarget
from tui_echo.faults.listener import ListenerFault
from tui_echo.faults.scenario_file import parse_scenario

START = 1000.0


class Loop:
    """What the timeline calls on the loop, recorded."""

    def __init__(self, clients: set[int] | None = None) -> None:
        self.clients = clients if clients is not None else set()
        self.faults: list[tuple[FaultTarget, FaultSpec | None]] = []
        self.listener: list[ListenerFault | None] = []
        self.events: list[Event] = []

    def set_fault(self, target: FaultTarget, spec: FaultSpec | None) -> bool:
        if isinstance(target, int) and target not in self.clients:
            return False
        self.faults.append((target, spec))
        return True


def timeline(toml: str, loop: Loop) -> tuple[Timeline, Timers]:
    timers = Timers()
    line = Timeline(
        parse_scenario(toml),
        timers,
        loop.set_fault,
        loop.listener.append,
        loop.events.append,
    )
    line.start(START)
    return line, timers


def ring(line: Timeline, timers: Timers, now: float) -> None:
    """What the loop does with its heap at `now`."""
    for due in timers.due(now):
        assert due is line.alarm
        line.alarm.ring(now)


def test_the_alarm_waits_for_the_nearest_step_and_no_other() -> None:
    loop = Loop()
    line, timers = timeline(
        '[[step]]\nat = "2s"\ntarget = "new"\nfault = "stall"\n'
        '[[step]]\nat = "1s"\ntarget = "all"\nfault = "off"\n',
        loop,
    )
    assert line.alarm.id == ALARM_ID
    assert timers.heap[0][0] == START + 1
    ring(line, timers, START + 0.999)
    assert loop.faults == []
    ring(line, timers, START + 1.0)
    assert loop.faults == [("all", None)]
    ring(line, timers, START + 5.0)
    assert loop.faults == [("all", None), ("new", FaultSpec(stall=True))]
    assert line.alarm.deadline is None  # nothing left: no entry, no wake-ups


def test_a_held_up_loop_fires_a_repeat_once_then_keeps_the_beat() -> None:
    loop = Loop()
    line, timers = timeline(
        '[[step]]\nat = "1s"\nevery = "1s"\ntarget = "new"\nfault = "stall"\n', loop
    )
    ring(line, timers, START + 10.5)  # ten repeats were due
    assert len(loop.faults) == 1
    assert line.alarm.deadline == START + 11
    steps = [e for e in loop.events if isinstance(e, ScenarioStep)]
    assert [(s.step, s.clock, s.next_at) for s in steps] == [(0, 0, 1), (1, 1, 11)]


def test_steps_of_a_client_that_closed_are_dropped_not_fired() -> None:
    loop = Loop(clients={1})
    line, timers = timeline('[[step]]\nafter_connect = "1s"\nfault = "stall"\n', loop)
    line.connected(1, START)
    line.connected(2, START)
    line.closed(2)
    ring(line, timers, START + 1)
    assert loop.faults == [(1, FaultSpec(stall=True))]
    assert not any(isinstance(e, ServerError) for e in loop.events)


def test_entries_of_closed_clients_do_not_pile_up() -> None:
    loop = Loop()
    line, _ = timeline('[[step]]\nafter_connect = "1h"\nfault = "stall"\n', loop)
    for client_id in range(1, 3 * STALE_TIMERS):
        line.connected(client_id, START)
        line.closed(client_id)
    assert len(line._clients) <= STALE_TIMERS + 1


def test_a_listener_step_goes_to_the_door() -> None:
    loop = Loop()
    line, timers = timeline(
        '[[step]]\nat = "1s"\ntarget = "listener"\nfault = "drop,for=2s"\n', loop
    )
    ring(line, timers, START + 1)
    assert loop.listener == [ListenerFault.parse("drop,for=2s")]
    assert loop.faults == []
