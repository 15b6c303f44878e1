"""Server settings.

`ServerConfig` is the one place where a setting is checked: the command line parses
text into values and lets `ServerConfig` say whether they make sense.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from tui_echo.units import MAX_SECONDS, MAX_SIZE, human_duration, human_size

if TYPE_CHECKING:
    from tui_echo.engine.tls_setup import TlsSettings
    from tui_echo.faults import FaultSpec
    from tui_echo.faults.listener import ListenerFault
    from tui_echo.faults.scenario import Scenario

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 9000
DEFAULT_MAX_BUFFER = 1024 * 1024
DEFAULT_MAX_MEMORY = 256 * 1024 * 1024
MIN_MAX_BUFFER = 1024
"""Below this a client could not make progress with a usual TCP segment."""


class ConfigError(ValueError):
    """A setting that makes no sense; `setting` names it as the command line does."""

    def __init__(self, setting: str, message: str) -> None:
        super().__init__(message)
        self.setting = setting


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
    max_memory: int = DEFAULT_MAX_MEMORY
    """Cap on all clients' pending bytes together; past it, clients with bytes
    pending stop being read until the total is back under half."""
    idle_timeout: float | None = None
    """Close a client that sent nothing for this many seconds."""
    fault: FaultSpec | None = None
    """The fault every new client gets (faults.py), or None."""
    seed: int | None = None
    """Seed of the faults' randomness (jitter); None: a random seed."""
    control: str | None = None
    """Path of the control socket (control.py), or None for none."""
    listener_fault: ListenerFault | None = None
    """The listener fault in force from the start (`--listener-fault`), or None;
    its `for=` counts from the start."""
    scenario: Scenario | None = None
    """A timeline of faults (`--scenario`, faults/scenario.py), or None."""
    udp: bool = False
    """Also echo UDP datagrams on the same host and port (`--udp`)."""
    tls: TlsSettings | None = None
    """`--tls`: every client speaks TLS (engine/tls_setup.py), or None."""

    def __post_init__(self) -> None:
        if not 0 <= self.port <= 65535:
            raise ConfigError("port", f"must be in 0..65535, not {self.port}")
        if self.max_clients is not None and self.max_clients < 1:
            raise ConfigError(
                "max_clients", f"must be at least 1, not {self.max_clients}"
            )
        _check_size("max_buffer", self.max_buffer, MIN_MAX_BUFFER)
        _check_size("max_memory", self.max_memory, MIN_MAX_BUFFER)
        if self.idle_timeout is not None:
            _check_seconds("idle_timeout", self.idle_timeout)


def _check_size(setting: str, size: int, smallest: int) -> None:
    if size < smallest:
        raise ConfigError(
            setting, f"must be at least {human_size(smallest)}, not {human_size(size)}"
        )
    if size > MAX_SIZE:
        raise ConfigError(
            setting,
            f"{human_size(size)} is too large to mean anything"
            f" (at most {human_size(MAX_SIZE)})",
        )


def _check_seconds(setting: str, seconds: float) -> None:
    if not seconds > 0:
        raise ConfigError(setting, f"must be positive, not {seconds:g}")
    if seconds > MAX_SECONDS:
        raise ConfigError(
            setting,
            f"{human_duration(seconds)} is too long to mean anything (at most 30 days)",
        )
