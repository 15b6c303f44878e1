"""`DoorState`: the listener fault as the monitor knows it, folded from `listener`
events (or seeded from `STATS` at attach). Pure, like the book."""

from __future__ import annotations

from dataclasses import dataclass

from tui_echo.events import FAULT_OFF, ListenerChanged
from tui_echo.faults.listener import ListenerFault
from tui_echo.units import human_duration, show_duration


@dataclass(slots=True)
class DoorState:
    """What the server's door does, and until when (the book's clock)."""

    text: str = FAULT_OFF
    """The listener fault as the latest event said it (`refuse,for=5s`), or `off`."""
    fault: ListenerFault | None = None
    """That text, parsed (None: off, or a text from outside that does not parse)."""
    ends_at: float | None = None
    """When its `for=` runs out (the event's time plus `for=`), or None."""

    def changed(self, event: ListenerChanged) -> None:
        """Fold a `listener` event."""
        self.text = event.fault
        try:
            self.fault = ListenerFault.parse(event.fault)
        except ValueError:  # from outside (a log, a server): shown, not understood
            self.fault = None
        lasting = None if self.fault is None else self.fault.lasting
        self.ends_at = None if lasting is None else event.ts + lasting

    @property
    def open(self) -> bool:
        """No listener fault: the door takes connections as usual."""
        return self.text == FAULT_OFF

    def left(self, now: float) -> float | None:
        """Seconds until the `for=` runs out (0 once past), or None."""
        return None if self.ends_at is None else max(0.0, self.ends_at - now)

    def words(self, now: float, *, short: bool = False) -> str | None:
        """What the door is doing, for the status bar (`refusing connects`,
        `dropping connects`, `accept-delay 200ms`, with `(4.2s left)` for a
        `for=`; `short`: `refusing 4.2s`), or None when open."""
        if self.open:
            return None
        fault = self.fault
        if fault is None:
            return f"listener {self.text}"
        if fault.mode == "refuse":
            doing = "refusing" if short else "refusing connects"
        elif fault.mode == "drop":
            doing = "dropping" if short else "dropping connects"
        else:
            doing = f"accept-delay {show_duration(fault.delay or 0.0)}"
        left = self.left(now)
        if left is None:
            return doing
        return (
            f"{doing} {human_duration(left)}"
            if short
            else (f"{doing} ({human_duration(left)} left)")
        )
