"""`FaultSpec`: a fault as people write it (`delay=50ms,jitter=20ms,slice=1`), parsed.

The command line (`--fault`), the monitor's fault dialog, the control socket and
Python (`EchoServer.set_fault`) all take the same text and the same value. The items
are `items.ITEMS`; what each does to a client's bytes is its stage's (stages.py).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

from tui_echo.faults.items import BY_NAME, ITEMS, Kind
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

Value = float | int | bool
"""A DURATION (float seconds), a SIZE (int bytes) or a FLAG (True)."""

FaultTarget = int | Literal["all", "new"]
"""Whom a fault is for: a client id, every client connected now, or the default of
clients still to come."""

_ORDER = {item.name: index for index, item in enumerate(ITEMS)}


class FaultSpec:
    """A fault: the items in force and their values, in the table's order; a value.

    `FaultSpec(delay=0.05, slice=1)` names items with `_` for `-`
    (`close_after=1024`); `FaultSpec.parse` reads the text people write.
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

    def __iter__(self) -> Iterator[str]:
        return (name for name, _ in self._items)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, FaultSpec) and other._items == self._items

    def __hash__(self) -> int:
        return hash(self._items)

    def __repr__(self) -> str:
        return f"FaultSpec({str(self)!r})"

    @classmethod
    def parse(cls, text: str) -> FaultSpec | None:
        """The fault a SPEC names, or None for `off`.

        Raises:
            ValueError: an item is unknown, malformed or given twice; the message
                names it.
        """
        text = text.strip()
        if not text:
            raise ValueError("empty fault SPEC: give items (delay=50ms), or off")
        if text.lower() == OFF:
            return None
        values: dict[str, Value] = {}
        for part in text.split(","):
            name, has_value, raw = (piece.strip() for piece in part.partition("="))
            name = name.lower()
            if name not in BY_NAME:
                raise ValueError(
                    f"unknown fault item {quoted(part.strip())}"
                    f" (items: {', '.join(BY_NAME)}, or off)"
                )
            if name in values:
                raise ValueError(f"fault item {name!r} is given twice")
            values[name] = _parse_value(name, raw if has_value else None)
        spec = cls()
        spec._items = tuple(sorted(values.items(), key=lambda p: _ORDER[p[0]]))
        return spec

    def __str__(self) -> str:
        """The SPEC text, in the table's order: `FaultSpec.parse` reads it back."""
        return ",".join(
            name if BY_NAME[name].kind is Kind.FLAG else f"{name}={_show(name, value)}"
            for name, value in self._items
        )


@dataclass(frozen=True, slots=True)
class FaultActivity:
    """What a client's fault has done since it was set (for the detail view)."""

    delayed: int
    """Bytes that waited out a `delay` (or `jitter`)."""
    pieces: int
    """Sends made under `slice`, `rate`, `gap` or `close-after`."""
    discarded: int
    """Bytes thrown away by `blackhole`, past `close-after`, or by `reset-after`."""


def fault_text(spec: FaultSpec | None) -> str:
    """The SPEC text of a fault, `off` for none (for events, columns, LIST)."""
    return OFF if spec is None else str(spec)


def _parse_value(name: str, raw: str | None) -> Value:
    item = BY_NAME[name]
    if item.kind is Kind.FLAG:
        if raw is not None:
            raise ValueError(f"fault item {name!r} takes no value")
        return True
    if not raw:
        what = (
            "a duration (250ms, 1.5s)"
            if item.kind is Kind.DURATION
            else "a size (64K, 1M)"
        )
        raise ValueError(f"fault item {name!r} needs {what}: {name}=...")
    try:
        value: float | int = (
            parse_duration(raw) if item.kind is Kind.DURATION else parse_size(raw)
        )
    except ValueError as exc:
        raise ValueError(f"fault item {name}={escape(raw)}: {exc}") from None
    return _checked(name, value, escape(raw))


def _checked(name: str, value: Value, shown: str | None = None) -> Value:
    """`value` if item `name` takes it (its kind, finite, in its range), whether
    it came from a SPEC's text (`shown`) or from Python."""
    item = BY_NAME[name]
    said = f"fault item {name}={repr(value) if shown is None else shown}"
    if item.kind is Kind.FLAG:
        if value is not True:
            raise ValueError(f"fault item {name!r} takes no value")
        return True
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{said}: not a number")
    if item.kind is Kind.SIZE and not isinstance(value, int):
        raise ValueError(f"{said}: a size is a whole number of bytes")
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{said}: not a duration or a size")
    if item.kind is Kind.DURATION and value > MAX_SECONDS:
        raise ValueError(f"{said}: too long to mean anything")
    if item.kind is Kind.SIZE:
        if value < item.smallest:
            least = f"{item.smallest} byte{'s' * (item.smallest != 1)}"
            raise ValueError(f"{said}: must be at least {least}")
        if value > MAX_SIZE:
            raise ValueError(f"{said}: too large to mean anything")
    return value


def _show(name: str, value: Value) -> str:
    """A value as the SPEC writes it, exactly: `250ms`, `1.5s`; `64K`, `1M`, `100`."""
    if BY_NAME[name].kind is Kind.DURATION:
        return show_duration(float(value))
    return show_size(int(value))
