"""Reading a scenario file: TOML (`tomllib`) checked item by item into a `Scenario`.

The file is untrusted input: it is bounded (its size, its steps, its profiles, its
texts), and whatever it holds either makes a `Scenario` or is refused with a
`ValueError` naming the step (from 1) or the profile, and the item.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tui_echo.faults.items import BY_NAME
from tui_echo.faults.listener import ListenerFault
from tui_echo.faults.profiles import BUILT_IN_PROFILES
from tui_echo.faults.scenario import CLIENT, Scenario, Step, StepTarget
from tui_echo.faults.spec import FaultSpec, check_target
from tui_echo.states import FAULT_OFF
from tui_echo.units import MAX_SECONDS, parse_duration
from tui_echo.words import escape, quoted

MAX_FILE = 64 * 1024
"""The largest scenario file read, in bytes."""
MAX_STEPS = 256
MAX_PROFILES = 64
MAX_TEXT = 1024
"""The longest text a step or a profile may carry (a fault, a value)."""
MIN_EVERY = 0.01
"""The shortest repeat: a step every few milliseconds would be a flood, not a
network."""
_LARGEST_ID = (1 << 63) - 1

_STEP_KEYS = ("at", "after_connect", "every", "target", "fault")
_NAME = re.compile(r"[a-z][a-z0-9_-]{0,31}", re.ASCII)
_ITEM_NAME = re.compile(r"[a-z][a-z-]{0,31}", re.ASCII)
_TARGETS: tuple[StepTarget, ...] = ("all", "new", "listener")


def load_scenario(path: str | Path) -> Scenario:
    """The scenario in the file at `path`.

    Raises:
        OSError: the file cannot be read.
        ValueError: it is too large, not UTF-8, not TOML, or not a scenario (the
            message names the step and the item).
    """
    with open(path, "rb") as file:
        raw = file.read(MAX_FILE + 1)
    if len(raw) > MAX_FILE:
        raise ValueError(f"larger than {MAX_FILE // 1024} KiB: not a scenario file")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(f"not UTF-8 text (byte {exc.start})") from None
    return parse_scenario(text)


def parse_scenario(text: str) -> Scenario:
    """The scenario a TOML text says (see `load_scenario` for what it refuses)."""
    if len(text) > MAX_FILE:
        raise ValueError(f"larger than {MAX_FILE // 1024} KiB: not a scenario file")
    try:
        document = tomllib.loads(text)
    except ValueError as exc:  # TOMLDecodeError, or an integer of 5,000 digits
        raise ValueError(f"not TOML: {escape(str(exc))}") from None
    except RecursionError:  # `a = [[[[...` deeper than the parser's stack
        raise ValueError("not TOML: nested too deeply") from None
    for key in document:
        if key not in ("step", "profile"):
            raise ValueError(
                f"unknown key {quoted(key, 40)}: a scenario has [[step]] tables"
                " and [profile.NAME] tables"
            )
    profiles = _profiles(document.get("profile", {}))
    steps = document.get("step")
    if steps is None:
        raise ValueError("no [[step]]: a scenario needs at least one step")
    if not isinstance(steps, list) or not all(isinstance(s, dict) for s in steps):
        raise ValueError("'step' must be [[step]] tables")
    if len(steps) > MAX_STEPS:
        raise ValueError(f"{len(steps)} steps: a scenario has at most {MAX_STEPS}")
    return Scenario(
        steps=tuple(
            _step(number, table, profiles)
            for number, table in enumerate(steps, start=1)
        ),
        profiles=profiles,
    )


# ---- profiles ------------------------------------------------------------------


def _profiles(tables: object) -> dict[str, FaultSpec]:
    if not isinstance(tables, dict) or not all(
        isinstance(t, dict) for t in tables.values()
    ):
        raise ValueError("'profile' must be [profile.NAME] tables of fault items")
    if len(tables) > MAX_PROFILES:
        raise ValueError(
            f"{len(tables)} profiles: a scenario has at most {MAX_PROFILES}"
        )
    profiles = {}
    for name, items in tables.items():
        if not _NAME.fullmatch(name):
            raise ValueError(
                f"profile {quoted(name, 40)}: a name is lower-case letters, digits,"
                " - and _ (at most 32, a letter first)"
            )
        if name == FAULT_OFF or name in BY_NAME:
            raise ValueError(
                f"profile {name!r}: the name is a fault item's; choose another"
            )
        if name in BUILT_IN_PROFILES:
            raise ValueError(
                f"profile {name!r}: a built-in profile has that name; choose another"
            )
        profiles[name] = _profile(name, items)
    return profiles


def _profile(name: str, items: dict[str, Any]) -> FaultSpec:
    """A profile's table as a fault: its items written as a SPEC, then parsed."""
    parts = []
    for item, value in items.items():
        where = f"profile {name!r}, item {quoted(item, 40)}"
        if not _ITEM_NAME.fullmatch(item):
            raise ValueError(f"{where}: not a fault item")
        if value is True:
            parts.append(item)
        elif value is False:
            continue  # `stall = false`: not set
        elif _item_value(value):
            parts.append(f"{item}={value}")
        else:
            raise ValueError(
                f'{where}: a value is text as in a SPEC ("200ms", "64K"),'
                " a whole number, or true"
            )
    if not parts:
        raise ValueError(f"profile {name!r}: no fault items")
    try:
        spec = FaultSpec.parse(",".join(parts))
    except ValueError as exc:
        raise ValueError(f"profile {name!r}: {exc}") from None
    assert spec is not None  # not `off`: its items are named
    return spec


def _item_value(value: object) -> bool:
    """True for a value a profile's item may have besides a flag's `true`: a whole
    number, or the text of one value (no comma: it would be a second item)."""
    if isinstance(value, int):
        return 0 <= value <= _LARGEST_ID
    return isinstance(value, str) and len(value) <= MAX_TEXT and "," not in value


# ---- steps ---------------------------------------------------------------------


def _step(number: int, table: dict[str, Any], profiles: dict[str, FaultSpec]) -> Step:
    where = f"step {number}"
    for key in table:
        if key not in _STEP_KEYS:
            raise ValueError(
                f"{where}: unknown item {quoted(key, 40)}"
                f" (items: {', '.join(_STEP_KEYS)})"
            )
    at = _duration(where, table, "at")
    after_connect = _duration(where, table, "after_connect")
    if (at is None) == (after_connect is None):
        raise ValueError(
            f"{where}: give exactly one of at (since start) and after_connect"
            " (since each client connected)"
        )
    every = _duration(where, table, "every")
    if every is not None and every < MIN_EVERY:
        raise ValueError(
            f"{where}, every: at least {MIN_EVERY * 1000:g}ms between repeats"
        )
    target = _target(where, table.get("target"), per_client=after_connect is not None)
    fault, spec, listener = _fault(where, table.get("fault"), target, profiles)
    if target == CLIENT or isinstance(target, int):  # one client: no `p=` draw
        try:
            check_target(0, spec)
        except ValueError as exc:
            raise ValueError(f"{where}, fault: {exc}") from None
    return Step(
        number=number,
        target=target,
        fault=fault,
        spec=spec,
        listener=listener,
        at=at,
        after_connect=after_connect,
        every=every,
    )


def _duration(where: str, table: dict[str, Any], key: str) -> float | None:
    raw = table.get(key)
    if raw is None:
        return None
    if not isinstance(raw, str) or len(raw) > MAX_TEXT:
        raise ValueError(f'{where}, {key}: a duration in quotes ({key} = "10s")')
    try:
        seconds = parse_duration(raw)
    except ValueError as exc:
        raise ValueError(f"{where}, {key}: {exc}") from None
    if seconds > MAX_SECONDS:
        raise ValueError(f"{where}, {key}: longer than 30 days means nothing here")
    return seconds


def _target(where: str, raw: object, *, per_client: bool) -> StepTarget:
    if per_client:
        if raw is None or raw == CLIENT:
            return CLIENT
        raise ValueError(
            f"{where}, target: an after_connect step is for the client that"
            f' connected: target = "client" (or none), not {_shown(raw)}'
        )
    if isinstance(raw, int) and not isinstance(raw, bool):
        if not 1 <= raw <= _LARGEST_ID:
            raise ValueError(f"{where}, target: no client has the id {_shown(raw)}")
        return raw
    if raw is None:
        raise ValueError(
            f'{where}: no target ("all", "new", a client id or "listener")'
        )
    if raw == CLIENT:
        raise ValueError(
            f'{where}, target: "client" is for after_connect steps; an at step is'
            ' for "all", "new", a client id or "listener"'
        )
    for name in _TARGETS:
        if raw == name:
            return name
    raise ValueError(
        f'{where}, target: "all", "new", a client id or "listener", not {_shown(raw)}'
    )


def _fault(
    where: str, raw: object, target: StepTarget, profiles: dict[str, FaultSpec]
) -> tuple[str, FaultSpec | None, ListenerFault | None]:
    """The fault's text as the step keeps it, and the client or listener fault it
    means."""
    if raw is None:
        raise ValueError(f'{where}: no fault (a SPEC such as "delay=200ms", a profile)')
    if not isinstance(raw, str) or len(raw) > MAX_TEXT:
        raise ValueError(
            f"{where}, fault: a SPEC or a profile in quotes, not {_shown(raw)}"
        )
    text = raw.strip()
    if target == "listener":
        listener = _listener_fault(where, text, profiles)
        return (FAULT_OFF if listener is None else str(listener)), None, listener
    profile = profiles.get(text.lower())
    if profile is not None:
        return text.lower(), profile, None
    try:
        spec = FaultSpec.parse(text)  # a built-in profile's name too
    except ValueError as exc:
        if _parses(ListenerFault.parse, text):
            raise ValueError(
                f"{where}, fault: {quoted(text, 40)} is a listener fault:"
                ' it takes target = "listener"'
            ) from None
        raise ValueError(f"{where}, fault: {exc}") from None
    return (FAULT_OFF if spec is None else str(spec)), spec, None


def _listener_fault(
    where: str, text: str, profiles: dict[str, FaultSpec]
) -> ListenerFault | None:
    """A listener step's fault, read by the listener's parser."""
    try:
        return ListenerFault.parse(text)
    except ValueError as exc:
        if text.lower() in profiles or _parses(FaultSpec.parse, text):
            raise ValueError(
                f"{where}, fault: {quoted(text, 40)} is a client fault; the"
                " listener takes refuse, drop or accept-delay=DURATION"
            ) from None
        raise ValueError(f"{where}, fault: {exc}") from None


def _parses(parse: Callable[[str], object], text: str) -> bool:
    """True if `parse` reads `text` (into anything but `off`)."""
    try:
        return parse(text) is not None
    except ValueError:
        return False


def _shown(value: object) -> str:
    """A TOML value from the file, for a message: quoted and cut."""
    if isinstance(value, str):
        return quoted(value, 40)
    if isinstance(value, int) and not -_LARGEST_ID <= value <= _LARGEST_ID:
        return "a number too large to be one"  # repr() of 5,000 digits raises
    return quoted(repr(value), 40)
