"""Words for people: times of day, addresses, failure reasons, and the one safe view of
untrusted text and bytes. Imports nothing of ours.

Nothing from outside reaches a terminal raw: `escape` (and `quoted`) is the one way
to show text that came from outside (file names, control lines, log fields, a
server's replies) and `printable` the one way to show client bytes; `hexdump` shows
everything as hex plus a sanitised column.
"""

from __future__ import annotations

import functools
import ipaddress
import re
import time


@functools.lru_cache(maxsize=4)
def _second(whole: int, fmt: str) -> str:
    """One second of local time, formatted; cached, as a busy log asks a lot."""
    return time.strftime(fmt, time.localtime(whole))


_LATEST = 32503680000.0
"""The year 3000: a time from outside beyond it (or before 1970) is shown at the
edge, never handed to the C library to overflow."""


def _epoch_millis(ts: float) -> tuple[int, int]:
    """Whole seconds and milliseconds of `ts`, clamped to 1970..3000."""
    if not ts >= 0:  # NaN and negatives
        ts = 0.0
    return divmod(round(min(ts, _LATEST) * 1000), 1000)


def clock_time(ts: float) -> str:
    """Local wall-clock time with milliseconds, `14:03:07.250`."""
    whole, millis = _epoch_millis(ts)  # round: 39.385 is not 39.384
    return f"{_second(whole, '%H:%M:%S')}.{millis:03d}"


def timestamp(ts: float) -> str:
    """Local date and time with milliseconds, for log lines that outlive the day."""
    whole, millis = _epoch_millis(ts)
    return f"{_second(whole, '%Y-%m-%d %H:%M:%S')}.{millis:03d}"


def escape(text: str) -> str:
    """Text from outside, safe to show: every character that is not printable
    (controls, escape sequences, bidi overrides) written as `\\xNN`, `\\uNNNN`."""
    if text.isprintable():
        return text
    # Once anything is escaped, a backslash is too: `\\x1b` typed as text must
    # not read like an escaped ESC.
    return "".join(
        ch if ch.isprintable() and ch != "\\" else _escaped(ch) for ch in text
    )


def quoted(text: str, limit: int = 80) -> str:
    """`escape(text)` in quotes, cut to about `limit` characters, for a message that
    quotes input (`unknown fault item 'delya'`)."""
    shown = escape(text[:limit])
    return f"'{shown}'" if len(text) <= limit else f"'{shown}'..."


def _escaped(char: str) -> str:
    code = ord(char)
    if char in "\t\n\r\\":
        return {"\t": "\\t", "\n": "\\n", "\r": "\\r", "\\": "\\\\"}[char]
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


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


def reset_refused(client_id: int) -> str:
    """Why a UDP peer cannot be reset, for whoever asked."""
    return (
        f"reset does not apply to UDP: client {client_id} is a UDP peer, with no"
        " connection to reset (kick forgets it)"
    )


_CIPHER = re.compile(r"(AES_?\d+|CHACHA20|ARIA_?\d+|CAMELLIA_?\d+|3DES)[-_]?(GCM|CCM)?")


def short_tls(version: str, cipher: str) -> str:
    """`1.3 AES256-GCM`: the version and the cipher's core, for a narrow column."""
    number = version.removeprefix("TLSv")
    found = _CIPHER.search(cipher.upper())
    if found is None:
        return f"{number} {cipher}"
    core = found.group(1).replace("_", "")
    mode = found.group(2)
    return f"{number} {core}-{mode}" if mode else f"{number} {core}"
