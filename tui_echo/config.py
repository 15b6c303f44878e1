"""Server settings, and parsing of the human-friendly sizes the command line takes."""

from __future__ import annotations

import re
from dataclasses import dataclass

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 9000
DEFAULT_MAX_BUFFER = 1024 * 1024
MIN_MAX_BUFFER = 1024
"""Below this a client could not make progress with a usual TCP segment."""

_SIZE_UNITS = {"": 1, "B": 1, "K": 1024, "M": 1024**2, "G": 1024**3}
_SIZE_PATTERN = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KMG]?)(?:I?B)?\s*$", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class ServerConfig:
    """What the echo server listens on and the limits it keeps."""

    host: str = DEFAULT_HOST
    """Address to bind; a name, an IPv4 or an IPv6 literal."""
    port: int = DEFAULT_PORT
    """TCP port; 0 lets the system pick a free one."""
    max_clients: int | None = None
    """Connections beyond this many are accepted and closed at once."""
    max_buffer: int = DEFAULT_MAX_BUFFER
    """Cap on one client's pending outbound bytes; reading pauses above it."""
    idle_timeout: float | None = None
    """Close a client that sent nothing for this many seconds."""

    def __post_init__(self) -> None:
        if not 0 <= self.port <= 65535:
            raise ValueError(f"port must be in 0..65535, not {self.port}")
        if self.max_clients is not None and self.max_clients < 1:
            raise ValueError(f"max_clients must be at least 1, not {self.max_clients}")
        if self.max_buffer < MIN_MAX_BUFFER:
            raise ValueError(
                f"max_buffer must be at least {MIN_MAX_BUFFER} bytes,"
                f" not {self.max_buffer}"
            )
        if self.idle_timeout is not None and not self.idle_timeout > 0:
            raise ValueError(f"idle_timeout must be positive, not {self.idle_timeout}")


def parse_size(text: str) -> int:
    """Parse a byte size such as `4096`, `64K`, `1M`, `1.5MiB` or `2G` (binary units).

    Raises:
        ValueError: the text is not a size.
    """
    match = _SIZE_PATTERN.match(text)
    if match is None:
        raise ValueError(f"not a size: {text!r} (try 65536, 64K or 1M)")
    number, unit = match.groups()
    return int(float(number) * _SIZE_UNITS[unit.upper()])
