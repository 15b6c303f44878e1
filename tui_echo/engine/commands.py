"""`CommandQueue`: commands from other threads for the loop, and the socket pair that
wakes the loop for them (trio's and asyncio's self-pipe)."""

from __future__ import annotations

import contextlib
import socket
from collections import deque
from collections.abc import Callable

from tui_echo.engine.poller import READ, Poller

Command = Callable[[], object]


class CommandQueue:
    """Commands waiting for the loop thread; `call` from any thread."""

    def __init__(self, poller: Poller) -> None:
        self._commands: deque[Command] = deque()
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._closed = False
        poller.register(self._wake_r.fileno(), READ)

    def fileno(self) -> int:
        """The descriptor the poller reports when commands wait."""
        return self._wake_r.fileno()

    def call(self, command: Command) -> None:
        """Run `command` on the loop thread soon (any thread; dropped once closed)."""
        if self._closed:
            return
        self._commands.append(command)
        with contextlib.suppress(OSError):  # full (already awake) or closed (stopped)
            self._wake_w.send(b"\0")

    def run(self, report: Callable[[Exception], None]) -> None:
        """Run what waits (loop thread); a command that raises is reported and the
        others still run."""
        with contextlib.suppress(OSError):
            while self._wake_r.recv(4096):
                pass
        commands = self._commands
        while commands:
            command = commands.popleft()
            try:
                command()
            except Exception as exc:  # a bug in one: report it, run the others
                report(exc)

    def close(self) -> None:
        """No more commands: later ones are dropped."""
        self._closed = True
        self._wake_r.close()
        self._wake_w.close()
