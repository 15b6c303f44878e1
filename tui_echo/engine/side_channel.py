"""`SideChannel`: descriptors the loop serves beside its clients (the control socket),
known to the loop only through these few calls."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from tui_echo.events import Event


class SideChannel(Protocol):
    """It registers its descriptors with the loop's poller; the loop hands over what
    is ready and tells it of every event published. Loop thread only."""

    @property
    def wants_events(self) -> bool:
        """Whether `on_events` has anyone to tell (else it is not called)."""
        ...

    def owns(self, fd: int) -> bool:
        """True for its descriptors."""
        ...

    def on_ready(self, fd: int, mask: int) -> None:
        """The poller says one of its descriptors is ready."""

    def on_events(self, events: Sequence[Event], first_seq: int) -> None:
        """Events were published, numbered from `first_seq` (1 for the first)."""

    def tick(self, now: float) -> None:
        """The loop's periodic tick."""

    def close(self) -> None:
        """The loop stops: say what is left to say, and close."""
