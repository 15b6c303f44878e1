"""`LiveSource`: an `EchoServer` in this process, as the monitor's source.

The server knows nothing of modes or of the monitor; this wraps it: its feed, its
commands, and its kernel probes where the kernel can answer (Linux).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from tui_echo.engine.feed import EventFeed
from tui_echo.events import KERNEL_SUPPORTED
from tui_echo.server import EchoServer
from tui_echo.sources.contract import (
    Commands,
    KernelProbe,
    Mode,
    Playback,
    Seed,
)


class LiveSource:
    """An in-process server as a `Source`: live, with commands (any thread)."""

    mode: Mode = "live"
    playback: Playback | None = None
    seed: Seed | None = None

    def __init__(
        self, server: EchoServer, clock: Callable[[], float] = time.time
    ) -> None:
        self.server = server
        self.clock = clock
        self.commands: Commands | None = server
        self.kernel: KernelProbe | None = server if KERNEL_SUPPORTED else None

    @property
    def feed(self) -> EventFeed:
        return self.server.feed

    def mode_detail(self) -> str:
        return ""

    def stop(self) -> None:
        """Stop the server: clients closed, port freed."""
        self.server.stop()
