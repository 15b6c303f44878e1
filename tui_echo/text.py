"""Words for people: human units, event lines, and safe views of client bytes.

Client bytes never reach a terminal raw: `printable` escapes control characters and
escape sequences, and `hexdump` shows everything as hex plus a sanitised column.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable

from tui_echo.common import FAULT_OFF, format_address
from tui_echo.events import (
    ClientClosed,
    ClientConnected,
    ClientData,
    Event,
    FaultChanged,
    Listening,
    Rejected,
    ServerError,
    ShutdownComplete,
)

_SIZE_UNITS = ("B", "KiB", "MiB", "GiB", "TiB")


def human_size(count: float) -> str:
    """`512 B`, `1.5 KiB`, `12 MiB`: three significant digits at most."""
    value = float(count)
    for unit in _SIZE_UNITS:
        if abs(value) < 1024 or unit == _SIZE_UNITS[-1]:
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


@functools.lru_cache(maxsize=4)
def _second(whole: int, fmt: str) -> str:
    """One second of local time, formatted; cached, as a busy log asks a lot."""
    return time.strftime(fmt, time.localtime(whole))


def clock_time(ts: float) -> str:
    """Local wall-clock time with milliseconds, `14:03:07.250`."""
    whole, millis = divmod(round(ts * 1000), 1000)  # round: 39.385 is not 39.384
    return f"{_second(whole, '%H:%M:%S')}.{millis:03d}"


def timestamp(ts: float) -> str:
    """Local date and time with milliseconds, for log lines that outlive the day."""
    whole, millis = divmod(round(ts * 1000), 1000)
    return f"{_second(whole, '%Y-%m-%d %H:%M:%S')}.{millis:03d}"


def describe(event: Event, peer_of: Callable[[int], str | None] | None = None) -> str:
    """One line saying what happened, without timestamp; `peer_of` names clients."""

    def who(client: int) -> str:
        peer = peer_of(client) if peer_of is not None else None
        return f"#{client} {peer}" if peer else f"#{client}"

    match event:
        case Listening():
            return f"listening   on {format_address(event.host, event.port)}"
        case ClientConnected():
            return f"connect     #{event.client} {event.peer}"
        case ClientData():
            return (
                f"data        {who(event.client)} +{human_size(event.bytes)}"
                f"  in {human_size(event.bytes_in)}  out {human_size(event.bytes_out)}"
                f"  pending {human_size(event.pending)}  {event.state}"
            )
        case ClientClosed():
            discarded = (
                f"  discarded {human_size(event.discarded)}" if event.discarded else ""
            )
            return (
                f"close       {who(event.client)} {event.reason}"
                f"  in {human_size(event.bytes_in)}  out {human_size(event.bytes_out)}"
                f"{discarded}"
            )
        case Rejected():
            return f"rejected    {event.peer} {event.reason}"
        case ServerError():
            where = f"{who(event.client)} " if event.client is not None else ""
            return f"error       {where}{event.message}"
        case FaultChanged():
            where = who(event.client) if event.client is not None else "new clients"
            if event.fault == FAULT_OFF:
                return f"fault       {where}: cleared"
            return f"fault       {where}: {event.fault}"
        case ShutdownComplete():
            return "shutdown"


_ESCAPES = {0x09: "\\t", 0x0A: "\\n", 0x0D: "\\r", 0x5C: "\\\\"}


def printable(data: bytes) -> str:
    """Client bytes as safe text: printable ASCII as is, everything else escaped."""
    parts = []
    for byte in data:
        if byte in _ESCAPES:
            parts.append(_ESCAPES[byte])
        elif 0x20 <= byte < 0x7F:
            parts.append(chr(byte))
        else:
            parts.append(f"\\x{byte:02x}")
    return "".join(parts)


def hexdump(data: bytes, width: int = 16, start: int = 0) -> list[str]:
    """Classic hex dump lines: offset, hex bytes, and a column with `.` for the rest."""
    lines = []
    for offset in range(0, len(data), width):
        chunk = data[offset : offset + width]
        hex_part = " ".join(f"{byte:02x}" for byte in chunk)
        text_part = "".join(chr(b) if 0x20 <= b < 0x7F else "." for b in chunk)
        lines.append(f"{start + offset:08x}  {hex_part:<{width * 3 - 1}}  {text_part}")
    return lines
