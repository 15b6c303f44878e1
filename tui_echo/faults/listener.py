"""`ListenerFault`: a fault of the server's door (`refuse`, `drop`,
`accept-delay=200ms`, each optionally `,for=5s`), parsed.

Not a client's fault: it decides whether and when new connections are taken at all.
The command line (`--listener-fault`), the control socket (`LISTENER`), the monitor's
dialog, Python and the pytest fixture all take the same text and the same value; what
the door does with it is the engine's (engine/door.py).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from tui_echo.states import FAULT_OFF as OFF
from tui_echo.units import MAX_SECONDS, parse_duration, show_duration
from tui_echo.words import escape, quoted

Mode = Literal["refuse", "drop", "accept-delay"]
"""What the door does: refuse connects, let them time out, or take them late."""

MODES: tuple[Mode, ...] = ("refuse", "drop", "accept-delay")
"""Every mode, in the order help texts list them."""

EFFECTS: dict[Mode, str] = {
    "refuse": "connects get ECONNREFUSED (the port stays reserved)",
    "drop": "connects time out (backlog made small, SYNs unanswered)",
    "accept-delay": "each connection is taken DURATION after it arrived",
}
"""What each mode does, in a few words (help texts)."""

USAGE = "refuse | drop | accept-delay=DURATION, each optionally ,for=DURATION; or off"
"""How a listener fault is written, for help texts and messages."""


@dataclass(frozen=True, slots=True)
class ListenerFault:
    """A listener fault in force: its mode, the delay of `accept-delay`, and how long
    it lasts (`for=`; None: until cleared). A value.

    `ListenerFault("refuse", lasting=5.0)`, `ListenerFault("accept-delay", delay=0.2)`;
    `ListenerFault.parse` reads the text people write, `str()` writes it back.

    Raises:
        ValueError: a mode that is not one, a delay missing or given where it means
            nothing, or a duration out of range; the message names the item.
    """

    mode: Mode
    delay: float | None = None
    """Seconds each connection waits before it is taken (`accept-delay` only)."""
    lasting: float | None = None
    """Seconds until the door is `off` again by itself (`for=`); None: until cleared."""

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(
                f"unknown listener fault {quoted(str(self.mode))} ({USAGE})"
            )
        if self.mode == "accept-delay":
            if self.delay is None:
                raise ValueError("listener item 'accept-delay' needs a duration")
            # Stored as float seconds, so `delay=1` and `delay=1.0` are one value.
            object.__setattr__(self, "delay", _checked("accept-delay", self.delay))
        elif self.delay is not None:
            raise ValueError(f"listener item {self.mode!r} takes no value")
        if self.lasting is not None:
            object.__setattr__(self, "lasting", _checked("for", self.lasting))
            if self.lasting <= 0:
                raise ValueError("listener item for=0s: must be longer than 0s")

    @classmethod
    def parse(cls, text: str) -> ListenerFault | None:
        """The listener fault `text` names, or None for `off`.

        Raises:
            ValueError: empty text, an unknown, malformed or repeated item, two
                modes, or `for=` alone; the message names the item, escaped.
        """
        text = text.strip()
        if not text:
            raise ValueError(f"empty listener fault: give {USAGE}")
        if text.lower() == OFF:
            return None
        mode: Mode | None = None
        delay: float | None = None
        lasting: float | None = None
        seen: set[str] = set()
        for part in text.split(","):
            name, has_value, raw = (piece.strip() for piece in part.partition("="))
            name = name.lower()
            if name != "for" and name not in MODES:
                raise ValueError(
                    f"unknown listener item {quoted(part.strip())} ({USAGE})"
                )
            if name in seen:
                raise ValueError(f"listener item {name!r} is given twice")
            seen.add(name)
            if name == "for":
                lasting = _duration("for", raw if has_value else None)
                continue
            if mode is not None:
                raise ValueError(
                    f"listener items {mode!r} and {name!r}: give one of "
                    + ", ".join(MODES)
                )
            mode = MODES[MODES.index(name)]
            if name == "accept-delay":
                delay = _duration(name, raw if has_value else None)
            elif has_value:
                raise ValueError(f"listener item {name!r} takes no value")
        if mode is None:
            raise ValueError(f"listener item 'for' needs a mode: {USAGE}")
        return cls(mode, delay, lasting)

    def __str__(self) -> str:
        """The text: `refuse,for=5s`, `accept-delay=200ms`; `parse` reads it back."""
        head: str = self.mode
        if self.delay is not None:
            head = f"{self.mode}={show_duration(self.delay)}"
        if self.lasting is None:
            return head
        return f"{head},for={show_duration(self.lasting)}"

    def without_end(self) -> ListenerFault:
        """The same fault with no `for=` (what stays in force while it lasts)."""
        return ListenerFault(self.mode, self.delay)


def listener_text(fault: ListenerFault | None) -> str:
    """The text of a listener fault, `off` for none (events, STATS, the status bar)."""
    return OFF if fault is None else str(fault)


def as_listener_fault(fault: ListenerFault | str | None) -> ListenerFault | None:
    """`fault` as a value: text is parsed (ValueError naming the item), a value or
    None passes through."""
    if fault is None or isinstance(fault, ListenerFault):
        return fault
    if isinstance(fault, str):
        return ListenerFault.parse(fault)
    raise TypeError(f"a listener fault is a ListenerFault, text or None, not {fault!r}")


def _duration(name: str, raw: str | None) -> float:
    if not raw:
        raise ValueError(
            f"listener item {name!r} needs a duration (250ms, 1.5s): {name}=..."
        )
    try:
        value = parse_duration(raw)
    except ValueError as exc:
        raise ValueError(f"listener item {name}={escape(raw)}: {exc}") from None
    return _checked(name, value, escape(raw))


def _checked(name: str, value: object, shown: str | None = None) -> float:
    """`value` as seconds if it is a duration in range, whether it came from text
    (`shown`) or from Python."""
    said = f"listener item {name}={repr(value) if shown is None else shown}"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{said}: not a number")
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{said}: not a duration")
    if value > MAX_SECONDS:
        raise ValueError(f"{said}: too long to mean anything")
    return float(value)
