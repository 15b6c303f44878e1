"""What the app needs of a server: events to read and a few commands to give.

The app reads events from a *source* and sends commands to a *control*: an
in-process `EchoServer` (`live`), a server in another process reached through its
control socket (`attached`), or a recorded log (`replay`, where nothing can be
done to a client). `ServerControl` is that contract; the book and the widgets never
know which one they have.

`EchoServer` offers the commands (`Server`) but knows nothing of modes: `as_control`
wraps it in `LiveControl`. `demo.ScriptedServer` implements `ServerControl` itself,
replaying a scripted scene for snapshot tests and screenshots, with no sockets and a
fixed clock.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal, Protocol, runtime_checkable

from tui_echo.engine.feed import EventFeed
from tui_echo.events import KERNEL_SUPPORTED

if TYPE_CHECKING:
    from collections.abc import Iterable

    from tui_echo.events import KernelStats
    from tui_echo.faults import FaultActivity, FaultSpec

Mode = Literal["live", "attached", "replay"]
"""Where the events come from: this process, another one's control socket, a file."""

FaultTarget = int | Literal["all", "new"]
"""A client id, every client connected now, or the default of clients to come."""


class Server(Protocol):
    """The commands an echo server takes; every method is safe from the UI thread."""

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

    def set_fault(self, target: FaultTarget, spec: FaultSpec | None) -> None:
        """Put a fault in force (None clears it); a `fault` event follows."""

    def fault_activity(self, client_id: int) -> FaultActivity | None:
        """What a client's fault has done since it was set, or None."""

    def watch_kernel(self, client_ids: Iterable[int]) -> None:
        """Have the kernel's view of these clients sampled (called each refresh)."""

    def kernel_stats(self, client_id: int) -> KernelStats | None:
        """A watched client's kernel queues and TCP_INFO at the last sample."""

    def stop(self) -> None:
        """Close everything (or, attached, just leave); returns when done."""


class ServerControl(Server, Protocol):
    """A server as the app sees it: the commands, and what may be done with them."""

    mode: Mode
    """`live`, `attached` or `replay`: the status bar says which."""
    can_act: bool
    """False when nothing can be done to a client (replay): kick, reset, fault and
    inspection are hidden."""
    kernel_supported: bool
    """False when `kernel_stats` can never answer (not Linux, a replay): the kernel
    columns say n/a."""

    def mode_detail(self) -> str:
        """A few words for the status bar beside the mode (`x4, paused`, `server
        gone`), or nothing."""
        ...


@runtime_checkable
class Playback(Protocol):
    """A source that plays a recording (replay): it can pause and change speed."""

    def toggle_pause(self) -> None:
        """Pause the playback, or go on."""

    def faster(self) -> None:
        """Play faster (the next speed up)."""

    def slower(self) -> None:
        """Play slower (the next speed down)."""


class LiveControl:
    """An in-process server (`EchoServer`) as the app's control: live, may act.

    Any thread may call it, as it may call the server.
    """

    mode: Mode = "live"
    can_act = True
    kernel_supported = KERNEL_SUPPORTED

    def __init__(self, server: Server) -> None:
        self.server = server

    @property
    def feed(self) -> EventFeed:
        return self.server.feed

    def kick(self, client_id: int) -> None:
        self.server.kick(client_id)

    def reset(self, client_id: int) -> None:
        self.server.reset(client_id)

    def kick_all(self) -> None:
        self.server.kick_all()

    def inspect(self, client_id: int, enabled: bool = True) -> None:
        self.server.inspect(client_id, enabled)

    def recent_bytes(self, client_id: int) -> bytes | None:
        return self.server.recent_bytes(client_id)

    def set_fault(self, target: FaultTarget, spec: FaultSpec | None) -> None:
        self.server.set_fault(target, spec)

    def fault_activity(self, client_id: int) -> FaultActivity | None:
        return self.server.fault_activity(client_id)

    def watch_kernel(self, client_ids: Iterable[int]) -> None:
        self.server.watch_kernel(client_ids)

    def kernel_stats(self, client_id: int) -> KernelStats | None:
        return self.server.kernel_stats(client_id)

    def stop(self) -> None:
        self.server.stop()

    def mode_detail(self) -> str:
        return ""


def as_control(server: ServerControl | Server) -> ServerControl:
    """The server as a `ServerControl`: as it is if it says its mode, else live."""
    if hasattr(server, "mode") and hasattr(server, "can_act"):
        return server  # type: ignore[return-value]
    return LiveControl(server)
