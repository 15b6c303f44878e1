"""Words for people: times of day, addresses, failure reasons, and the one safe view of
untrusted bytes. Imports nothing of ours.

Client bytes never reach a terminal raw: `printable` escapes control characters and
escape sequences, and `hexdump` shows everything as hex plus a sanitised column.
"""

from __future__ import annotations

import functools
import ipaddress
import time


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


def os_reason(exc: OSError) -> str:
    """Why a system call failed, in lower case, for a one-line message."""
    return (exc.strerror or str(exc)).lower()


def format_host(host: str) -> str:
    """A host as it appears before `:port`: IPv6 literals in brackets."""
    return f"[{host}]" if ":" in host else host


def format_address(host: str, port: int) -> str:
    """`host:port` for IPv4 and names, `[host]:port` for IPv6, as SPEC shows peers."""
    return f"{format_host(host)}:{port}"


def format_peer(address: tuple[object, ...] | str) -> str:
    """A socket address (from `accept`, `getpeername`) as `format_address` shows it."""
    if isinstance(address, str):  # AF_UNIX and friends: show what there is
        return address or "?"
    return format_address(str(address[0]), int(str(address[1])))


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8 and ::1: only this machine can reach a server there."""
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return False
