"""`FaultSpec`: a fault as people write it (`delay=50ms,jitter=20ms,slice=1`), parsed.

The command line (`--fault`), the monitor's fault dialog, the control socket and
Python (`EchoServer.set_fault`) all take the same text and the same value; what a
fault does to a client's bytes is `Connection`'s to carry out (connection.py).

    delay=DURATION   each byte echoed no sooner than DURATION after it arrived
    jitter=DURATION  a random 0..DURATION more per delay (seeded; order is kept)
    rate=SIZE        at most SIZE bytes echoed per second
    slice=SIZE       at most SIZE bytes per send: the echo arrives in pieces
    gap=DURATION     DURATION between two pieces
    stall            stop reading from the client
    blackhole        read and discard; echo nothing
    close-after=SIZE FIN once SIZE bytes were echoed (the rest is discarded)
    reset-after=SIZE RST as soon as SIZE bytes were received
    close-in=DURATION, reset-in=DURATION   FIN / RST after DURATION
    off              no fault
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from decimal import Decimal
from typing import Any

from tui_echo.events import FAULT_OFF as OFF
from tui_echo.units import MAX_SECONDS, MAX_SIZE, parse_duration, parse_size


@dataclass(frozen=True, slots=True, kw_only=True)
class FaultSpec:
    """A fault: what to do to one client's echo (all fields off by default)."""

    delay: float = 0.0
    jitter: float = 0.0
    rate: int | None = None
    slice: int | None = None
    gap: float = 0.0
    stall: bool = False
    blackhole: bool = False
    close_after: int | None = None
    reset_after: int | None = None
    close_in: float | None = None
    reset_in: float | None = None

    @classmethod
    def parse(cls, text: str) -> FaultSpec | None:
        """The fault a SPEC names, or None for `off` (and for an empty text).

        Raises:
            ValueError: an item is unknown, malformed or given twice; the message
                names it.
        """
        text = text.strip()
        if text.lower() in ("", OFF):
            return None
        values: dict[str, Any] = {}
        for item in text.split(","):
            name, has_value, raw = (part.strip() for part in item.partition("="))
            name = name.lower()
            kind = _ITEMS.get(name)
            if kind is None:
                raise ValueError(
                    f"unknown fault item {item.strip()!r}"
                    f" (items: {', '.join(_ITEMS)}, or off)"
                )
            field = name.replace("-", "_")
            if field in values:
                raise ValueError(f"fault item {name!r} is given twice")
            values[field] = _parse_value(name, kind, raw if has_value else None)
        return cls(**values)

    def __str__(self) -> str:
        """The SPEC text, items in a fixed order: `FaultSpec.parse` reads it back."""
        items = []
        for field in fields(self):
            value = getattr(self, field.name)
            if value == field.default:
                continue
            name = field.name.replace("_", "-")
            kind = _ITEMS[name]
            items.append(name if kind is bool else f"{name}={_show(kind, value)}")
        return ",".join(items)

    @property
    def shapes_output(self) -> bool:
        """True when sends are paced or cut (rate, slice, gap)."""
        return self.rate is not None or self.slice is not None or self.gap > 0


@dataclass(frozen=True, slots=True)
class FaultActivity:
    """What a client's fault has done since it was set (for the detail view)."""

    delayed: int
    """Bytes that waited out a `delay` (or `jitter`)."""
    pieces: int
    """Sends made under `slice`, `rate`, `gap` or `close-after`."""
    discarded: int
    """Bytes thrown away by `blackhole` or past `close-after`."""


def fault_text(spec: FaultSpec | None) -> str:
    """The SPEC text of a fault, `off` for none (for events, columns, LIST)."""
    return OFF if spec is None else str(spec)


_ITEMS: dict[str, type] = {
    "delay": float,
    "jitter": float,
    "rate": int,
    "slice": int,
    "gap": float,
    "stall": bool,
    "blackhole": bool,
    "close-after": int,
    "reset-after": int,
    "close-in": float,
    "reset-in": float,
}
"""Each item's kind: a duration (float), a size (int), or a flag (bool)."""

_SMALLEST_SIZE = {"rate": 1, "slice": 1, "close-after": 0, "reset-after": 0}


def _parse_value(name: str, kind: type, raw: str | None) -> Any:
    if kind is bool:
        if raw is not None:
            raise ValueError(f"fault item {name!r} takes no value")
        return True
    if not raw:
        what = "a duration (250ms, 1.5s)" if kind is float else "a size (64K, 1M)"
        raise ValueError(f"fault item {name!r} needs {what}: {name}=...")
    try:
        value: float | int = parse_duration(raw) if kind is float else parse_size(raw)
    except ValueError as exc:
        raise ValueError(f"fault item {name}={raw}: {exc}") from None
    if kind is float and value > MAX_SECONDS:
        raise ValueError(f"fault item {name}={raw}: too long to mean anything")
    if kind is int:
        if value < _SMALLEST_SIZE[name]:
            raise ValueError(f"fault item {name}={raw}: must be at least 1 byte")
        if value > MAX_SIZE:
            raise ValueError(f"fault item {name}={raw}: too large to mean anything")
    return value


def _show(kind: type, value: float) -> str:
    """A value as the SPEC writes it: `250ms`, `1.5s`; `64K`, `1M`, `100`."""
    if kind is float:
        if value < 1 and round(value * 1000, 3) == int(round(value * 1000, 3)):
            return f"{round(value * 1000)}ms"
        # The shortest exact decimal, never an exponent the grammar cannot read.
        return f"{format(Decimal(repr(value)), 'f')}s"
    for unit, size in (("G", 1 << 30), ("M", 1 << 20), ("K", 1 << 10)):
        if value >= size and value % size == 0:
            return f"{int(value) // size}{unit}"
    return str(int(value))
