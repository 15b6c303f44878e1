"""What the app needs of a server: events to read and a few commands to give.

`EchoServer` has all of it. So does `demo.ScriptedServer`, which replays a scripted
scene for snapshot tests and screenshots, with no sockets and a fixed clock.
"""

from __future__ import annotations

from typing import Protocol

from tui_echo.feed import EventFeed


class ServerControl(Protocol):
    """The server as the app sees it: every method is safe from the UI thread."""

    @property
    def feed(self) -> EventFeed:
        """Where the server's events wait for the app."""
        ...

    def kick(self, client_id: int) -> None:
        """Close a client with a FIN."""

    def reset(self, client_id: int) -> None:
        """Close a client with an RST."""

    def kick_all(self) -> None:
        """Kick every client."""

    def inspect(self, client_id: int, enabled: bool = True) -> None:
        """Start or stop keeping a client's recent bytes."""

    def recent_bytes(self, client_id: int) -> bytes | None:
        """The last few KiB an inspected client sent."""

    def stop(self) -> None:
        """Close everything; returns when the server is down."""
