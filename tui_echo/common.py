"""Names the loop thread and its consumers share: client states, addresses, sizes,
failure reasons.

Nothing here runs on one thread or another, so the core, the headless logger and the
app may all import it (the app must not import the loop's own modules).
"""

from __future__ import annotations

import ipaddress
from enum import StrEnum


class ClientState(StrEnum):
    """Where a client stands. The core reports the first three; the view adds two."""

    OPEN = "open"
    """Connected; what it sends is echoed."""
    PAUSED = "paused"
    """Reading stopped by backpressure (`--max-buffer` or `--max-memory`)."""
    HALF_CLOSED = "half-closed"
    """It shut down its sending side; the rest is echoed, then the server closes."""
    CLOSING = "closing"
    """The operator asked to kick or reset it; the close is on its way (view only)."""
    CLOSED = "closed"
    """Gone (view only: the row lingers a moment with its close reason)."""


FAULT_OFF = "off"
"""The fault SPEC that means no fault."""


def os_reason(exc: OSError) -> str:
    """Why a system call failed, in lower case, for a one-line message."""
    return (exc.strerror or str(exc)).lower()


RING_SIZE = 4096
"""Recent bytes the server keeps for a client under inspection (the detail view)."""


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
