"""`Scenario`: a timeline of faults (`--scenario FILE`), as a value.

A scenario is steps, each setting a target to a fault at a time since start (`at`)
or since each client connected (`after_connect`), optionally again `every` so
often. What a step may say and how a file is read are scenario_file.py's; what the
server does with it is engine/timeline.py's. A step names its target as:

- `"all"`, `"new"` or a client id (`at` steps): `FAULT`'s targets;
- `"listener"` (`at` steps): the server's door, a listener fault;
- `"client"` (`after_connect` steps, and their default): the client that connected.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final, Literal

from tui_echo.faults.listener import ListenerFault
from tui_echo.faults.spec import FaultSpec
from tui_echo.units import show_duration

StepTarget = int | Literal["all", "new", "listener", "client"]
"""Whom a step is for (see the module doc)."""

CLIENT: Final = "client"
"""The target of an `after_connect` step: the client that connected."""


@dataclass(frozen=True, slots=True)
class Step:
    """One `[[step]]` of a scenario file, checked."""

    number: int
    """Its place in the file, from 1 (messages and the timeline name it so)."""
    target: StepTarget
    fault: str
    """The fault as the file names it: a profile's name, a SPEC (its text form,
    `FaultSpec.parse` reads it back), or `off`."""
    spec: FaultSpec | None
    """The client fault it sets (a profile resolved); None for `off` or a listener
    step."""
    listener: ListenerFault | None = None
    """The listener fault a `listener` step sets; None for `off` or a client step."""
    at: float | None = None
    """Seconds since start (the `listening` event); None for an `after_connect` step."""
    after_connect: float | None = None
    """Seconds since each client connected; None for an `at` step."""
    every: float | None = None
    """Seconds between repeats; None: once."""

    @property
    def per_client(self) -> bool:
        """True for an `after_connect` step (one clock per client)."""
        return self.after_connect is not None

    def when(self) -> str:
        """`at 10s`, `at 10s, every 30s`, `2s after connect`."""
        if self.after_connect is not None:
            said = f"{show_duration(self.after_connect)} after connect"
        else:
            said = f"at {show_duration(self.at or 0.0)}"
        if self.every is not None:
            said += f", every {show_duration(self.every)}"
        return said

    def does(self) -> str:
        """`set new to delay=200ms`, `set all to flaky (delay=200ms)`."""
        shown = self.fault
        if self.spec is not None and shown != str(self.spec):
            shown = f"{shown} ({self.spec})"
        target = self.target
        whom = f"client {target}" if isinstance(target, int) else target
        if target == CLIENT:
            whom = "the client"
        return f"set {whom} to {shown}"

    def firing_after(self, seconds: float) -> float | None:
        """The first time this `at` step fires strictly after `seconds` since start,
        or None (fired for good, or an `after_connect` step)."""
        if self.at is None:
            return None
        if seconds < self.at:
            return self.at
        if self.every is None:
            return None
        count = math.floor((seconds - self.at) / self.every) + 1
        when = self.at + count * self.every
        return when if when > seconds else when + self.every

    def toml(self) -> str:
        """The step as a `[[step]]` table (`parse_scenario` reads it back)."""
        lines = ["[[step]]"]
        if self.at is not None:
            lines.append(f'at = "{show_duration(self.at)}"')
        if self.after_connect is not None:
            lines.append(f'after_connect = "{show_duration(self.after_connect)}"')
        if self.every is not None:
            lines.append(f'every = "{show_duration(self.every)}"')
        target = self.target
        lines.append(
            f"target = {target}" if isinstance(target, int) else f'target = "{target}"'
        )
        lines.append(f"fault = {json.dumps(self.fault)}")
        return "\n".join(lines)


@dataclass(frozen=True, slots=True)
class Scenario:
    """A checked scenario: its steps in file order and the profiles they may use."""

    steps: tuple[Step, ...]
    profiles: Mapping[str, FaultSpec] = field(default_factory=dict)
    """The file's `[profile.NAME]` tables, each a fault."""

    def __hash__(self) -> int:  # a mapping has no hash; the steps say enough
        return hash(self.steps)

    @property
    def timed(self) -> tuple[Step, ...]:
        """The `at` steps, in file order."""
        return tuple(step for step in self.steps if not step.per_client)

    @property
    def per_client(self) -> tuple[Step, ...]:
        """The `after_connect` steps, in file order."""
        return tuple(step for step in self.steps if step.per_client)

    def next_after(self, seconds: float) -> tuple[float, Step] | None:
        """The next `at` step to fire strictly after `seconds` since start, and
        when; of steps at the same time, the first in the file. None: no more."""
        best: tuple[float, Step] | None = None
        for step in self.timed:
            when = step.firing_after(seconds)
            if when is not None and (best is None or when < best[0]):
                best = (when, step)
        return best

    def timeline(self) -> list[str]:
        """What `scenario check` prints: profiles, then the steps in time order
        (`at` steps by time, then `after_connect` steps), one line each."""
        lines = [
            f"profile {name}: {spec}" for name, spec in sorted(self.profiles.items())
        ]
        ordered = sorted(self.timed, key=lambda s: (s.at or 0.0, s.number))
        ordered += sorted(self.per_client, key=lambda s: (s.after_connect, s.number))
        width = max(len(step.when()) for step in ordered)
        lines += [
            f"step {step.number:<3} {step.when():<{width}}  {step.does()}"
            for step in ordered
        ]
        return lines

    def toml(self) -> str:
        """The scenario as a TOML file (`parse_scenario` reads it back equal)."""
        parts = [
            "\n".join([f"[profile.{name}]", *_profile_lines(spec)])
            for name, spec in self.profiles.items()
        ]
        parts += [step.toml() for step in self.steps]
        return "\n\n".join(parts) + "\n"


def _profile_lines(spec: FaultSpec) -> list[str]:
    """A profile's items as lines of its table: `delay = "200ms"`, `stall = true`."""
    lines = []
    for part in str(spec).split(","):
        name, has_value, value = part.partition("=")
        lines.append(f"{name} = {json.dumps(value)}" if has_value else f"{name} = true")
    return lines
