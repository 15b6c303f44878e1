"""`FaultSpec`: a fault as people write it (`delay=50ms,jitter=20ms,slice=1`), parsed.

The command line (`--fault`), the monitor's fault dialog, the control socket and
Python (`EchoServer.set_fault`) all take the same text and the same value. The items
are `items.ITEMS`; what each does to a client's bytes is its stage's (stages.py).
"""

from __future__ import annotations

import math
import random
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from tui_echo.faults.items import BY_NAME, ITEMS, Kind
from tui_echo.faults.profiles import BUILT_IN_PROFILES, PROFILE_NAMES
from tui_echo.faults.shapes import DISTRIBUTIONS, UNIFORM, Jitter
from tui_echo.states import FAULT_OFF as OFF
from tui_echo.units import (
    MAX_SECONDS,
    MAX_SIZE,
    parse_duration,
    parse_size,
    show_duration,
    show_size,
)
from tui_echo.words import escape, quoted

Value = float | int | bool | Jitter
"""A DURATION (float seconds), a SIZE (int bytes), a FLAG (True), a PCT (float, 0
to 100), the N of `1/N` (int), or a jitter of a shape other than uniform."""

FaultTarget = int | Literal["all", "new"]
"""Whom a fault is for: a client id, every client connected now, or the default of
clients still to come."""

_ORDER = {item.name: index for index, item in enumerate(ITEMS)}

SHORTEST_SECONDS = 1e-7
"""The shortest duration but zero a SPEC takes: 100 ns."""

CHANCE = "p"
"""The item that makes a fault for new clients a draw (`p=30%`)."""

# Decimals enough for any float's exact text: 30% and 2.5% as typed, and whatever
# a `p` from Python shows as (its shortest exact decimal, never an exponent).
_PERCENT = re.compile(r"\A([0-9]{1,20}(?:\.[0-9]{1,400})?)%\Z", re.ASCII)
_ONE_IN = re.compile(r"\A1/([0-9]{1,20})\Z", re.ASCII)


class FaultSpec:
    """A fault: the items in force and their values, in the table's order; a value.

    `FaultSpec(delay=0.05, slice=1)` names items with `_` for `-`
    (`close_after=1024`); `FaultSpec.parse` reads the text people write. In
    Python, `p` is the percentage (`p=30` is `p=30%`), `corrupt` the N of `1/N`
    (`corrupt=10000`), and `jitter` seconds for the uniform shape or
    `Jitter(0.05, "pareto")` (or the pair `(0.05, "pareto")`) for another.
    """

    __slots__ = ("_items",)

    def __init__(self, **values: Value) -> None:
        items = []
        for key, value in values.items():
            name = key.replace("_", "-")
            if name not in BY_NAME:
                raise TypeError(f"unknown fault item {name!r}")
            if value is not False:
                items.append((name, _checked(name, value)))
        items.sort(key=lambda pair: _ORDER[pair[0]])
        self._items: tuple[tuple[str, Value], ...] = tuple(items)

    @property
    def items(self) -> tuple[tuple[str, Value], ...]:
        """(item name, value) pairs, in the order the text lists them."""
        return self._items

    def get(self, name: str) -> Value | None:
        """The value of item `name` (`close-after`), or None if it is not set."""
        for item, value in self._items:
            if item == name:
                return value
        return None

    def number(self, name: str) -> float | int | None:
        """The value of item `name` as a number (a jitter's: its seconds), or None
        if it is not set."""
        value = self.get(name)
        return value.seconds if isinstance(value, Jitter) else value

    def __iter__(self) -> Iterator[str]:
        return (name for name, _ in self._items)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, FaultSpec) and other._items == self._items

    def __hash__(self) -> int:
        return hash(self._items)

    def __repr__(self) -> str:
        return f"FaultSpec({str(self)!r})"

    @classmethod
    def parse(
        cls, text: str, profiles: Mapping[str, FaultSpec] | None = None
    ) -> FaultSpec | None:
        """The fault a SPEC names, or None for `off`.

        A SPEC is `off`, comma-separated items, or the name of a profile: a
        built-in one (profiles.py), else one of `profiles` (a scenario file's own,
        looked up as written, then in lower case); a profile gives its items, and
        among items stands for them (`3g,p=30%`: 3g for 30% of new clients).

        Raises:
            ValueError: an item is unknown, malformed or given twice; the message
                names it.
        """
        text = text.strip()
        if not text:
            raise ValueError("empty fault SPEC: give items (delay=50ms), or off")
        lowered = text.lower()
        if lowered == OFF:
            return None
        built_in = BUILT_IN_PROFILES.get(lowered)
        if built_in is not None:
            return cls.parse(built_in.items)
        if profiles:
            mine = profiles.get(text, profiles.get(lowered))
            if mine is not None:
                return mine
        values: dict[str, Value] = {}
        for part in text.split(","):
            name, has_value, raw = (piece.strip() for piece in part.partition("="))
            name = name.lower()
            if name in BY_NAME:
                given = [(name, _parse_value(name, raw if has_value else None))]
            elif name and not has_value and len(text.split(",")) > 1:  # a profile?
                given = list(_profile_items(part.strip(), profiles))
            else:
                raise ValueError(_unknown(part))
            for item, value in given:
                if item in values:
                    raise ValueError(f"fault item {item!r} is given twice")
                values[item] = value
        spec = cls()
        spec._items = tuple(sorted(values.items(), key=lambda p: _ORDER[p[0]]))
        return spec

    def __str__(self) -> str:
        """The SPEC text, in the table's order: `FaultSpec.parse` reads it back."""
        return ",".join(
            name if BY_NAME[name].kind is Kind.FLAG else f"{name}={_show(name, value)}"
            for name, value in self._items
        )

    def without_chance(self) -> FaultSpec | None:
        """This fault without its `p` (None if `p` was all it had)."""
        if self.get(CHANCE) is None:
            return self
        rest = tuple(pair for pair in self._items if pair[0] != CHANCE)
        if not rest:
            return None
        spec = FaultSpec()
        spec._items = rest
        return spec

    def for_protocol(self, proto: str) -> FaultSpec | None:
        """This fault with only the items that mean something for `proto` (`tcp`,
        `udp`): itself if all do, None if none but `p` does."""
        mine = tuple(p for p in self._items if proto in BY_NAME[p[0]].protocols)
        if len(mine) == len(self._items):
            return self
        if all(name == CHANCE for name, _ in mine):
            return None
        spec = FaultSpec()
        spec._items = mine
        return spec

    def drawn(self, rng: random.Random) -> FaultSpec | None:
        """The fault one client gets of this one: itself without a `p`; with
        `p=PCT`, itself without `p` for PCT in 100 of the draws (one value from
        `rng` each), else None."""
        chance = self.get(CHANCE)
        if chance is None:
            return self
        if rng.random() * 100.0 >= (self.number(CHANCE) or 0.0):
            return None
        return self.without_chance()


@dataclass(frozen=True, slots=True)
class FaultActivity:
    """What a client's fault has done since it was set (for the detail view)."""

    delayed: int
    """Bytes that waited out a `delay` (or `jitter`)."""
    pieces: int
    """Sends made under `slice`, `rate`, `gap` or `close-after`."""
    discarded: int
    """Bytes thrown away by `blackhole`, past `close-after`, or by `reset-after`."""
    corrupted: int = 0
    """Bits `corrupt` flipped (one per byte it touched)."""
    dropped: int = 0
    """Datagrams `loss` dropped (UDP)."""
    duplicated: int = 0
    """Datagrams `duplicate` sent twice (UDP)."""
    reordered: int = 0
    """Datagrams `reorder` sent after a later one (UDP)."""
    truncated: int = 0
    """Datagrams `truncate` cut short (UDP)."""


def fault_text(spec: FaultSpec | None) -> str:
    """The SPEC text of a fault, `off` for none (for events, columns, LIST)."""
    return OFF if spec is None else str(spec)


def chance_generator(seed: int | None) -> random.Random:
    """The generator of `p=` draws for `--seed` (a random seed for None): its own
    sequence, derived from the seed, apart from the one jitter and corrupt draw
    from, so the same seed and connection order choose the same clients whatever
    the traffic."""
    return random.Random(None if seed is None else f"p=:{seed}")


def _unknown(part: str) -> str:
    return (
        f"unknown fault item {quoted(part.strip())}"
        f" (items: {', '.join(BY_NAME)}; a profile: {', '.join(PROFILE_NAMES)};"
        " or off)"
    )


def _profile_items(
    name: str, profiles: Mapping[str, FaultSpec] | None
) -> tuple[tuple[str, Value], ...]:
    """The items of the profile `name` stands for among other items."""
    spec = FaultSpec.parse(name, profiles)
    if spec is None:
        raise ValueError("fault SPEC 'off' stands alone: no items beside it")
    return spec.items


def check_target(target: FaultTarget, spec: FaultSpec | None) -> None:
    """Refuse a fault its target cannot take: `p` is a draw among clients (new
    ones, or all), never for one client.

    Raises:
        ValueError: naming the item.
    """
    if spec is not None and spec.get(CHANCE) is not None and isinstance(target, int):
        raise ValueError(
            "fault item 'p' is for new clients or all of them, not one client"
            f" (set p={_show(CHANCE, spec.get(CHANCE) or 0.0)} as the fault of new"
            " clients, or of all)"
        )


def check_protocol(spec: FaultSpec | None, proto: str, client: int) -> None:
    """Refuse a fault for one client whose protocol gives an item no meaning
    (`slice` for a UDP peer, `duplicate` for a TCP client).

    Raises:
        ValueError: naming the item and the protocol.
    """
    if spec is None:
        return
    for name in spec:
        if proto not in BY_NAME[name].protocols:
            other = "UDP" if proto == "tcp" else "TCP"
            raise ValueError(
                f"fault item {name!r} means nothing for {proto.upper()}"
                f" (client {client} speaks {proto.upper()}; {name!r} is for"
                f" {other} only)"
            )


_NEEDS = {
    Kind.DURATION: "a duration (250ms, 1.5s)",
    Kind.SIZE: "a size (64K, 1M)",
    Kind.PERCENT: "a percentage from 0 to 100 (30%, 2.5%)",
    Kind.ONE_IN: "one in a whole number (1/1000)",
    Kind.SPREAD: "a duration and a shape (50ms, 50ms:pareto)",
}


def _parse_value(name: str, raw: str | None) -> Value:
    item = BY_NAME[name]
    if item.kind is Kind.FLAG:
        if raw is not None:
            raise ValueError(f"fault item {name!r} takes no value")
        return True
    if not raw:
        raise ValueError(f"fault item {name!r} needs {_NEEDS[item.kind]}: {name}=...")
    try:
        value = _read(item.kind, raw)
    except ValueError as exc:
        raise ValueError(f"fault item {name}={escape(raw)}: {exc}") from None
    return _checked(name, value, escape(raw))


def _read(kind: Kind, raw: str) -> Value:
    """The value of a non-flag item's text (ValueError if it is not one)."""
    if kind is Kind.DURATION:
        return parse_duration(raw)
    if kind is Kind.SIZE:
        return parse_size(raw)
    if kind is Kind.PERCENT:
        match = _PERCENT.match(raw)
        if match is None:
            raise ValueError("not a percentage (try 30% or 2.5%)")
        return float(match.group(1))
    if kind is Kind.ONE_IN:
        match = _ONE_IN.match(raw)
        if match is None:
            raise ValueError("not one in N (try 1/1000)")
        return int(match.group(1))
    seconds, _, dist = raw.partition(":")
    duration = parse_duration(seconds)
    if not _:
        return duration
    dist = dist.strip().lower()
    if dist not in DISTRIBUTIONS:
        raise ValueError(f"no such shape (shapes: {', '.join(DISTRIBUTIONS)})")
    return Jitter(duration, dist)


def _checked(name: str, value: Value, shown: str | None = None) -> Value:
    """`value` if item `name` takes it (its kind, finite, in its range), whether
    it came from a SPEC's text (`shown`) or from Python."""
    item = BY_NAME[name]
    said = f"fault item {name}={repr(value) if shown is None else shown}"
    if item.kind is Kind.FLAG:
        if value is not True:
            raise ValueError(f"fault item {name!r} takes no value")
        return True
    if item.kind is Kind.SPREAD and isinstance(value, tuple):
        return _checked_jitter(name, value, said)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{said}: not a number")
    if isinstance(value, float):
        value += 0.0  # -0.0 is 0.0: its text must read back (not `-0%`)
    if item.kind is Kind.PERCENT:
        if not (math.isfinite(value) and 0 <= value <= 100):
            raise ValueError(f"{said}: a percentage is from 0 to 100")
        return float(value)
    if item.kind is Kind.ONE_IN:
        if not isinstance(value, int) or not 1 <= value <= MAX_SIZE:
            raise ValueError(f"{said}: N of 1/N is a whole number from 1 to 2^50")
        return value
    if item.kind is Kind.SIZE and not isinstance(value, int):
        raise ValueError(f"{said}: a size is a whole number of bytes")
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{said}: not a duration or a size")
    if item.kind is not Kind.SIZE and value > MAX_SECONDS:
        raise ValueError(f"{said}: too long to mean anything")
    if item.kind is not Kind.SIZE and 0 < value < SHORTEST_SECONDS:
        # (and its exact text would have more decimals than the grammar reads)
        raise ValueError(f"{said}: too short to mean anything (under 100ns)")
    if item.kind is Kind.SIZE:
        if value < item.smallest:
            least = f"{item.smallest} byte{'s' * (item.smallest != 1)}"
            raise ValueError(f"{said}: must be at least {least}")
        if value > MAX_SIZE:
            raise ValueError(f"{said}: too large to mean anything")
    return value


def _checked_jitter(name: str, value: tuple[object, ...], said: str) -> Value:
    """A `(seconds, shape)` pair as the jitter it is: a float for uniform."""
    if len(value) != 2 or not isinstance(value[1], str):
        raise ValueError(f"{said}: a jitter is seconds, or (seconds, shape)")
    seconds, dist = value
    dist = str(dist).lower()
    if dist not in DISTRIBUTIONS:
        raise ValueError(f"{said}: no such shape (shapes: {', '.join(DISTRIBUTIONS)})")
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)):
        raise ValueError(f"{said}: not a number")
    checked = _checked(name, seconds, said.partition("=")[2])
    return checked if dist == UNIFORM else Jitter(float(seconds), dist)


def _show(name: str, value: Value) -> str:
    """A value as the SPEC writes it, exactly: `250ms`, `1.5s`; `64K`, `1M`, `100`;
    `30%`; `1/1000`; `50ms:pareto`."""
    kind = BY_NAME[name].kind
    if isinstance(value, Jitter):
        return f"{show_duration(value.seconds)}:{value.dist}"
    if kind is Kind.DURATION or kind is Kind.SPREAD:
        return show_duration(value)
    if kind is Kind.PERCENT:
        return f"{format(Decimal(repr(float(value))).normalize(), 'f')}%"
    if kind is Kind.ONE_IN:
        return f"1/{value}"
    return show_size(int(value))
