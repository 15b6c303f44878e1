"""`Timeline`: a scenario (`--scenario`) carried out on the loop thread.

Its `at` steps wait in one heap (seconds since start), its `after_connect` steps in
another (one entry per client and step, on the monotonic clock); one `Alarm` in
the loop's `Timers` stands for the nearer of the two, so a scenario costs the loop
nothing between its steps, and a server without one nothing at all. Each step is
carried out through the loop's own commands (`set_fault`, and the listener's), so
it publishes the `fault` event it causes; an `at` step publishes a `scenario`
event first (the step, and the next).
"""

from __future__ import annotations

import heapq
import itertools
import math
from collections.abc import Callable

from tui_echo.engine.timers import STALE_TIMERS, Timers
from tui_echo.events import Event, ScenarioStep, ServerError
from tui_echo.faults import FaultSpec, FaultTarget
from tui_echo.faults.listener import ListenerFault
from tui_echo.faults.scenario import CLIENT, Scenario, Step

SetFault = Callable[[FaultTarget, FaultSpec | None], bool]
"""The loop's `set_fault`: False when there is no such client."""
SetListenerFault = Callable[[ListenerFault | None], None]
"""The loop's `set_listener_fault`."""


ALARM_ID = -2
"""A timeline's id in the loop's timer heap: one no client (nor the door) has."""


class Alarm:
    """A timeline's entry in the loop's timer heap: the loop calls `ring(now)` at
    its `deadline` (set it, then `Timers.add` it)."""

    __slots__ = ("deadline", "ring")
    id = ALARM_ID

    def __init__(self, ring: Callable[[float], None]) -> None:
        self.deadline: float | None = None
        self.ring = ring


class Timeline:
    """The steps to come and when (loop thread only, once `start`ed)."""

    __slots__ = (
        "_alarm",
        "_armed",
        "_by_number",
        "_clients",
        "_order",
        "_per_client",
        "_proto_of",
        "_publish",
        "_set_fault",
        "_set_listener_fault",
        "_start",
        "_timed",
        "_timers",
        "latest",
    )

    def __init__(
        self,
        scenario: Scenario,
        timers: Timers,
        set_fault: SetFault,
        set_listener_fault: SetListenerFault,
        publish: Callable[[Event], None],
        proto_of: Callable[[int], str] = lambda client_id: "tcp",
    ) -> None:
        """`proto_of` says what a client speaks (`tcp`, `udp`): an `after_connect`
        step gives it the items of the SPEC that mean something for that."""
        self._by_number = {step.number: step for step in scenario.steps}
        self._proto_of = proto_of
        self._per_client = scenario.per_client
        self._timers = timers
        self._set_fault = set_fault
        self._set_listener_fault = set_listener_fault
        self._publish = publish
        self._alarm = Alarm(self._ring)
        self._start = 0.0
        self._timed: list[tuple[float, int, int]] = []
        """(seconds since start, step number, repeats so far), nearest first."""
        self._clients: list[tuple[float, int, int, int, int]] = []
        """(monotonic time, order, client id, step number, repeats so far)."""
        self._armed: set[int] = set()
        """Clients whose `after_connect` steps are still to come (open ones)."""
        self._order = itertools.count()
        self.latest: ScenarioStep | None = None
        """The last `scenario` event published (for a snapshot: attach)."""

    @property
    def alarm(self) -> Alarm:
        """Its entry in the loop's timer heap (the loop keeps it when rebuilding)."""
        return self._alarm

    @property
    def per_client(self) -> bool:
        """True if clients that connect have steps of their own."""
        return bool(self._per_client)

    def start(self, now: float) -> None:
        """Start the clock at `now` (monotonic; the `listening` event) and publish
        the `scenario` event that says so (before the loop runs, or on it)."""
        self._start = now
        for step in self._by_number.values():
            if step.at is not None:
                heapq.heappush(self._timed, (step.at, step.number, 0))
        self._publish(self._event(None, 0.0))
        self._arm()

    def connected(self, client_id: int, now: float) -> None:
        """A client connected at `now`: arm its `after_connect` steps."""
        self._armed.add(client_id)
        for step in self._per_client:
            assert step.after_connect is not None
            when = now + step.after_connect
            entry = (when, next(self._order), client_id, step.number, 0)
            heapq.heappush(self._clients, entry)
        self._arm()

    def closed(self, client_id: int) -> None:
        """A client closed: its steps are cancelled (their entries dropped lazily)."""
        if client_id not in self._armed:
            return
        self._armed.discard(client_id)
        live = len(self._armed) * len(self._per_client)
        if len(self._clients) > 2 * live + STALE_TIMERS:
            armed = self._armed
            self._clients = [e for e in self._clients if e[2] in armed]
            heapq.heapify(self._clients)

    def clock(self, now: float) -> float:
        """Seconds since the scenario started."""
        return now - self._start

    # ---- the alarm ----------------------------------------------------------------

    def _arm(self) -> None:
        """Have the loop's alarm ring at the nearest step's time."""
        nearest = math.inf
        if self._timed:
            nearest = self._start + self._timed[0][0]
        if self._clients:
            nearest = min(nearest, self._clients[0][0])
        if nearest == math.inf:
            self._alarm.deadline = None
        elif nearest != self._alarm.deadline:
            self._alarm.deadline = nearest
            self._timers.add(self._alarm)

    def _ring(self, now: float) -> None:
        """Carry out every step whose time has come (the loop calls it)."""
        self._alarm.deadline = None  # its entry is gone from the heap
        try:
            timed = self._timed
            while timed and self._start + timed[0][0] <= now:
                at, number, repeats = heapq.heappop(timed)
                step = self._by_number[number]
                if step.every is not None:
                    self._again(step, repeats, now)
                self._publish(self._event(step, at))
                self._apply(step, None)
            clients = self._clients
            while clients and clients[0][0] <= now:
                when, _, client_id, number, repeats = heapq.heappop(clients)
                if client_id not in self._armed:
                    continue  # closed since
                step = self._by_number[number]
                if step.every is not None:
                    # the first repeat still to come: never a burst of them
                    count = math.floor(max(now - when, 0.0) / step.every) + 1
                    later = when + count * step.every
                    entry = (later, next(self._order), client_id, number, repeats + 1)
                    heapq.heappush(clients, entry)
                self._apply(step, client_id)
        finally:
            self._arm()

    def _again(self, step: Step, repeats: int, now: float) -> None:
        """Schedule an `at` step's next repeat: the first still to come (a loop
        held up past several repeats fires once, not in a burst)."""
        assert step.at is not None
        assert step.every is not None
        elapsed = now - self._start
        count = max(repeats + 1, math.floor((elapsed - step.at) / step.every) + 1)
        heapq.heappush(self._timed, (step.at + count * step.every, step.number, count))

    def _apply(self, step: Step, client_id: int | None) -> None:
        """Put the step's fault in force through the loop's command: on its target,
        or on `client_id` for an `after_connect` step."""
        target: FaultTarget
        if step.target == "listener":
            self._set_listener_fault(step.listener)
            return
        spec = step.spec
        if isinstance(step.target, int) or step.target in ("all", "new"):
            target = step.target
        elif step.target == CLIENT and client_id is not None:
            target = client_id
            # The client takes the items its protocol has (a TCP client none of
            # UDP's loss=, ...); a SPEC with none of them leaves it as it is.
            spec = None if spec is None else spec.for_protocol(self._proto_of(target))
            if step.spec is not None and spec is None:
                return
        else:
            raise AssertionError(f"step {step.number}: no way to {step.does()}")
        try:
            found = self._set_fault(target, spec)
        except ValueError as exc:  # a client whose protocol cannot take the SPEC
            self._publish(ServerError(message=f"scenario step {step.number}: {exc}"))
            return
        if not found:
            self._publish(
                ServerError(message=f"scenario step {step.number}: no client {target}")
            )

    def _event(self, step: Step | None, clock: float) -> ScenarioStep:
        """The `scenario` event for `step` (None: the start), fired at `clock`."""
        upcoming = self._timed[0] if self._timed else None
        following = None if upcoming is None else self._by_number[upcoming[1]]
        self.latest = ScenarioStep(
            step=0 if step is None else step.number,
            clock=clock,
            does="" if step is None else step.does(),
            next_at=0.0 if upcoming is None else upcoming[0],
            next_does=(
                ""
                if following is None
                else f"step {following.number}, {following.does()}"
            ),
        )
        return self.latest
