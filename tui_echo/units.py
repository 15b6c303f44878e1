"""Sizes and durations: reading them as people type them, showing them as people read
them, and the limits beyond which they mean nothing. Imports nothing of ours.
"""

from __future__ import annotations

import re

MAX_SIZE = 1 << 50
"""1 PiB: a size beyond this means nothing on any machine, so it is refused."""
MAX_SECONDS = 30 * 24 * 3600.0
"""30 days: a longer duration means nothing for a test server, so it is refused."""

RING_SIZE = 4096
"""Recent bytes the server keeps for a client under inspection (the detail view)."""

_SIZE_UNITS = {"": 1.0, "k": 1024.0, "m": 1024.0**2, "g": 1024.0**3, "t": 1024.0**4}
_SIZE_PATTERN = re.compile(
    r"^\s*(\d{1,20}(?:\.\d{1,20})?)\s*([KMGT]?)(?:I?B)?\s*$", re.IGNORECASE
)
_DURATION_UNITS = {"": 1.0, "s": 1.0, "ms": 0.001, "m": 60.0, "h": 3600.0}
_DURATION_PATTERN = re.compile(
    r"^\s*(\d{1,20}(?:\.\d{1,20})?)\s*(ms|s|m|h)?\s*$", re.IGNORECASE
)


def parse_size(text: str) -> int:
    """Parse a byte size such as `4096`, `64K`, `1M`, `1.5MiB` or `2G` (binary units).

    Raises:
        ValueError: the text is not a size.
    """
    return int(_parse_units(text, _SIZE_PATTERN, _SIZE_UNITS, "a size", "64K or 1M"))


def parse_duration(text: str) -> float:
    """Parse a duration such as `250ms`, `1.5s`, `2m` or `3` (seconds).

    Raises:
        ValueError: the text is not a duration.
    """
    return _parse_units(
        text, _DURATION_PATTERN, _DURATION_UNITS, "a duration", "250ms, 1.5s or 2m"
    )


def _parse_units(
    text: str, pattern: re.Pattern[str], units: dict[str, float], what: str, tip: str
) -> float:
    """A number with an optional unit, as `pattern` reads it, times the unit."""
    match = pattern.match(text)
    if match is None:
        raise ValueError(f"not {what}: {text!r} (try {tip})")
    number, unit = match.groups()
    return float(number) * units[(unit or "").lower()]


_SHOWN_UNITS = ("B", "KiB", "MiB", "GiB", "TiB")


def human_size(count: float) -> str:
    """`512 B`, `1.5 KiB`, `12 MiB`: three significant digits at most."""
    value = float(count)
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
