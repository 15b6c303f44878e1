"""What the monitor watches: one contract for every source, split by capability.

Every `Source` gives a feed of events, a clock, its mode and a few words on it. The
rest are parts a source has or has not, each an object or None:

- `commands` (`Commands`): kick, reset, faults (the listener's too), a client's
  recent bytes. A live or
  attached server has them; a replay has none (nothing can be done to clients of a
  log).
- `kernel` (`KernelProbe`): the kernel's view of clients' sockets. None where the
  kernel can never answer (not Linux, a replay): the kernel columns say n/a.
- `playback` (`Playback`): pause and speed. Only a replay has it.

The app asks whether a part exists, and shows only the keys it can serve. The
sources: `live.LiveSource` (an `EchoServer` in this process), `attached.RemoteServer`
(a server behind its control socket), `replay.LogReplay` (a JSON Lines log), and
`ui.demo.ScriptedServer` (a scripted scene for snapshots).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal, Protocol, TypeAlias

# The one FaultTarget (a client id, "all" or "new"): the engine's, the control
# protocol's and the sources' commands all take it.
from tui_echo.faults import FaultTarget

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from tui_echo.book import ClientBook
    from tui_echo.engine.feed import EventFeed
    from tui_echo.events import KernelStats
    from tui_echo.faults import FaultActivity, FaultSpec
    from tui_echo.faults.listener import ListenerFault

Seed: TypeAlias = "Callable[[ClientBook], None]"
"""What brings a new monitor's book to where a source stands (see `Source.seed`)."""

__all__ = [
    "Commands",
    "FaultTarget",
    "KernelProbe",
    "Mode",
    "Playback",
    "Seed",
    "Source",
]

Mode = Literal["live", "attached", "replay"]
"""Where the events come from: this process, another one's control socket, a file."""


class Commands(Protocol):
    """What can be done to a server's clients; every method is safe from any thread."""

    def kick(self, client_id: int) -> None:
        """Close a client with a FIN."""

    def reset(self, client_id: int) -> None:
        """Close a client with an RST."""

    def kick_all(self) -> None:
        """Kick every client."""

    def set_fault(self, target: FaultTarget, spec: FaultSpec | None) -> None:
        """Put a fault in force (None clears it); a `fault` event follows."""

    def set_listener_fault(self, fault: ListenerFault | None) -> None:
        """Put a listener fault in force (None: off); a `listener` event follows."""

    def inspect(self, client_id: int, enabled: bool = True) -> None:
        """Start or stop keeping a client's recent bytes."""

    def recent_bytes(self, client_id: int) -> bytes | None:
        """The last few KiB an inspected client sent (None: not known yet)."""
        ...

    def fault_activity(self, client_id: int) -> FaultActivity | None:
        """What a client's fault has done since it was set, or None."""
        ...


class KernelProbe(Protocol):
    """The kernel's view of clients' sockets, sampled on request (any thread)."""

    def watch_kernel(self, client_ids: Iterable[int]) -> None:
        """Have these clients sampled (the app calls it each refresh)."""

    def kernel_stats(self, client_id: int) -> KernelStats | None:
        """A watched client's kernel queues and TCP_INFO at the last sample."""
        ...


class Playback(Protocol):
    """A recording being played (replay): it can pause and change speed."""

    def toggle_pause(self) -> None:
        """Pause the playback, or go on."""

    def faster(self) -> None:
        """Play faster (the next speed up)."""

    def slower(self) -> None:
        """Play slower (the next speed down)."""


class Source(Protocol):
    """What the monitor reads events from; the book and the widgets never know which."""

    @property
    def mode(self) -> Mode:
        """`live`, `attached` or `replay`: the status bar says which."""
        ...

    @property
    def feed(self) -> EventFeed:
        """Where the source's events wait for the app."""
        ...

    @property
    def commands(self) -> Commands | None:
        """What can be done to clients, or None (a replay)."""
        ...

    @property
    def kernel(self) -> KernelProbe | None:
        """The kernel's numbers, or None where they can never come."""
        ...

    @property
    def playback(self) -> Playback | None:
        """Pause and speed, for a recording; None for a server."""
        ...

    @property
    def seed(self) -> Seed | None:
        """What brings a new monitor's book to where the source stands before any
        event is folded (an attached server's snapshot), or None: the events say
        it all."""
        ...

    def clock(self) -> float:
        """The time the events are shown at: the wall clock, or a log's time."""
        ...

    def mode_detail(self) -> str:
        """A few words for the status bar beside the mode (`x4, paused`, `server
        gone`), or nothing."""
        ...

    def stop(self) -> None:
        """Let go of the source: stop a live server, leave an attached one running,
        stop a replay. Returns when done."""
