"""Sizes and durations: reading them as people type them, showing them as people read
them, and the limits beyond which they mean nothing. Imports only `words`.
"""

from __future__ import annotations

import re
from decimal import Decimal

from tui_echo.words import quoted

MAX_SIZE = 1 << 50
"""1 PiB: a size beyond this means nothing on any machine, so it is refused."""
MAX_SECONDS = 30 * 24 * 3600.0
"""30 days: a longer duration means nothing for a test server, so it is refused."""

RING_SIZE = 4096
"""Recent bytes the server keeps for a client under inspection (the detail view)."""

# ASCII digits only (`\d` would take any script's), and exact decimal arithmetic, so
# that what a value is shown as reads back as the very same value.
_SIZE_UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}
_SIZE_PATTERN = re.compile(
    r"^\s*([0-9]{1,20}(?:\.[0-9]{1,20})?)\s*([KMGT]?)(?:I?B)?\s*$",
    re.IGNORECASE | re.ASCII,
)
_DURATION_UNITS = {
    "": Decimal(1),
    "s": Decimal(1),
    "ms": Decimal("0.001"),
    "m": Decimal(60),
    "h": Decimal(3600),
}
_DURATION_PATTERN = re.compile(
    r"^\s*([0-9]{1,20}(?:\.[0-9]{1,20})?)\s*(ms|s|m|h)?\s*$",
    re.IGNORECASE | re.ASCII,
)


def parse_size(text: str) -> int:
    """Parse a byte size such as `4096`, `64K`, `1M`, `1.5MiB` or `2G` (binary units).

    Raises:
        ValueError: the text is not a size.
    """
    number, unit = _match(text, _SIZE_PATTERN, "a size", "64K or 1M")
    return int(Decimal(number) * _SIZE_UNITS[unit])


def parse_duration(text: str) -> float:
    """Parse a duration such as `250ms`, `1.5s`, `2m` or `3` (seconds).

    Raises:
        ValueError: the text is not a duration.
    """
    number, unit = _match(text, _DURATION_PATTERN, "a duration", "250ms, 1.5s or 2m")
    return float(Decimal(number) * _DURATION_UNITS[unit])


def show_duration(seconds: float) -> str:
    """A duration as `parse_duration` reads it back exactly: `250ms`, `0.0001ms`,
    `1.5s` (the shortest exact decimal, never an exponent)."""
    exact = Decimal(repr(float(seconds)))
    if exact < 1:
        return f"{_plain(exact * 1000)}ms"
    return f"{_plain(exact)}s"


def show_size(size: int) -> str:
    """A size as `parse_size` reads it back: `64K`, `1M`, `100`."""
    for unit, scale in (("G", 1 << 30), ("M", 1 << 20), ("K", 1 << 10)):
        if size >= scale and size % scale == 0:
            return f"{size // scale}{unit}"
    return str(size)


def _plain(number: Decimal) -> str:
    """`number` in plain decimal notation, without trailing zeros."""
    return format(number.normalize(), "f")


def _match(text: str, pattern: re.Pattern[str], what: str, tip: str) -> tuple[str, str]:
    """The number and the (lower-case) unit of `text`, as `pattern` reads them."""
    match = pattern.match(text)
    if match is None:
        raise ValueError(f"not {what}: {quoted(text)} (try {tip})")
    number, unit = match.groups()
    return number, (unit or "").lower()


_SHOWN_UNITS = ("B", "KiB", "MiB", "GiB", "TiB")


_SHOWN_AT_MOST = float(1 << 70)
"""Beyond this (a zebibyte, a million years) a number is shown as this: a shown
number from outside can be anything, and must not break the screen."""


def _bounded(number: float) -> float:
    """`number` as a float within ±`_SHOWN_AT_MOST` (NaN as 0)."""
    if number != number:  # NaN
        return 0.0
    if number > _SHOWN_AT_MOST:
        return _SHOWN_AT_MOST
    return -_SHOWN_AT_MOST if number < -_SHOWN_AT_MOST else float(number)


def human_size(count: float) -> str:
    """`512 B`, `1.5 KiB`, `12 MiB`: three significant digits at most."""
    value = _bounded(count)
    for unit in _SHOWN_UNITS:
        if abs(value) < 1024 or unit == _SHOWN_UNITS[-1]:
            if unit == "B":
                return f"{int(value)} B"
            return f"{value:.1f} {unit}" if abs(value) < 100 else f"{value:.0f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def human_rate(per_second: float) -> str:
    """A byte rate such as `1.2 MiB/s`; an idle rate is `0 B/s`."""
    return f"{human_size(per_second)}/s"


def human_duration(seconds: float) -> str:
    """`4.2s`, `3m07s`, `2h05m`, `3d04h`: short and steady in width."""
    seconds = _bounded(seconds)
    if seconds < 60:
        return f"{seconds:.1f}s" if seconds < 10 else f"{seconds:.0f}s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours}h{minutes:02d}m"
    days, hours = divmod(hours, 24)
    return f"{days}d{hours:02d}h"
