"""The fault items, written once: their names, what value each takes, what each does.

The SPEC grammar (spec.py), the stages that carry them out (stages.py), the command
line's help, the control socket's and the monitor's words all read this table; a new
item is one row here and one stage type there.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from tui_echo.faults.profiles import PROFILE_NAMES


class Kind(Enum):
    """What value an item takes: `delay=250ms`, `slice=16`, `stall`, `p=30%`,
    `corrupt=1/1000`, `jitter=50ms:pareto`."""

    DURATION = "DURATION"
    SIZE = "SIZE"
    FLAG = ""
    PERCENT = "PCT"
    """A number from 0 to 100 followed by `%` (`30%`, `2.5%`)."""
    ONE_IN = "1/N"
    """One in N, N a whole number of at least 1 (`1/10000`)."""
    SPREAD = "DURATION[:DIST]"
    """A DURATION and a distribution's name (`50ms`, `50ms:pareto`)."""


@dataclass(frozen=True, slots=True)
class Item:
    """One fault item of the SPEC grammar."""

    name: str
    kind: Kind
    effect: str
    """What it does, in a few words (help texts)."""
    smallest: int = 1
    """The least SIZE it takes (sizes only)."""
    protocols: tuple[str, ...] = ("tcp", "udp")
    """The protocols it means something for (`slice` is nothing to a datagram,
    `duplicate` nothing to a stream)."""

    @property
    def usage(self) -> str:
        """`delay=DURATION`, `stall`: how it is written."""
        return f"{self.name}={self.kind.value}" if self.kind.value else self.name


_TCP = ("tcp",)
_UDP = ("udp",)
_SLICE = "at most SIZE bytes per send: the echo comes in pieces"
_CORRUPT = "flip one bit in about one echoed byte in N"
_REORDER = "UDP: hold PCT back, sent after the peer's next one (or 100 ms)"

ITEMS: tuple[Item, ...] = (
    Item("p", Kind.PERCENT, "for new clients: only PCT of them get the fault"),
    Item("delay", Kind.DURATION, "each byte echoed no sooner than DURATION after it"),
    Item(
        "jitter",
        Kind.SPREAD,
        "a random 0..DURATION more per delay (order kept); DIST: uniform (the"
        " default), normal, pareto, paretonormal",
    ),
    Item("rate", Kind.SIZE, "at most SIZE bytes echoed per second"),
    Item("slice", Kind.SIZE, _SLICE, protocols=_TCP),
    Item("gap", Kind.DURATION, "DURATION between two pieces", protocols=_TCP),
    Item("corrupt", Kind.ONE_IN, _CORRUPT, protocols=_TCP),
    Item("loss", Kind.PERCENT, "UDP: drop PCT of the datagrams", protocols=_UDP),
    Item("duplicate", Kind.PERCENT, "UDP: send PCT of them twice", protocols=_UDP),
    Item("reorder", Kind.PERCENT, _REORDER, protocols=_UDP),
    Item("truncate", Kind.SIZE, "UDP: cut each datagram to SIZE", 0, _UDP),
    Item("stall", Kind.FLAG, "stop reading from the client", protocols=_TCP),
    Item("blackhole", Kind.FLAG, "read and discard; echo nothing", protocols=_TCP),
    Item("close-after", Kind.SIZE, "FIN once SIZE bytes were echoed", 0, _TCP),
    Item("reset-after", Kind.SIZE, "RST as soon as SIZE bytes were received", 0, _TCP),
    Item("close-in", Kind.DURATION, "FIN after DURATION", protocols=_TCP),
    Item("reset-in", Kind.DURATION, "RST after DURATION", protocols=_TCP),
)
"""Every item, in the order a SPEC's text lists them (`p` first: `p=30%,delay=1s`
reads "three clients in ten get delay=1s")."""

BY_NAME: dict[str, Item] = {item.name: item for item in ITEMS}


def usage() -> str:
    """Every item as it is written, for a one-line help: `delay=DURATION, ...`."""
    return ", ".join(item.usage for item in ITEMS)


def help_lines() -> list[str]:
    """One line per item, `usage   effect`, aligned (for longer help texts)."""
    width = max(len(item.usage) for item in ITEMS)
    return [f"{item.usage:<{width}}  {item.effect}" for item in ITEMS]


def hint() -> str:
    """The items as the fault dialog lists them: `delay= ... stall blackhole ...`."""
    names = " ".join(f"{i.name}=" if i.kind.value else i.name for i in ITEMS)
    return (
        f"items: {names}, comma-separated (delay=50ms,slice=1), or a profile"
        f" ({', '.join(PROFILE_NAMES)})"
    )


@dataclass(frozen=True, slots=True)
class Preset:
    """A SPEC one key away in one of the monitor's dialogs (a client's fault here;
    the listener's in ui/screens/listener.py)."""

    key: str
    name: str
    spec: str
    """The SPEC, as its value's `str()` writes it (so the FAULT column matches)."""


PRESETS: tuple[Preset, ...] = (
    Preset("1", "slow link", "delay=500ms,rate=64K"),
    Preset("2", "lossy-looking slicing", "jitter=300ms,slice=16,gap=100ms"),
    Preset("3", "stall", "stall"),
    Preset("4", "close after 1 KiB", "close-after=1K"),
    Preset("5", "reset in 5 s", "reset-in=5s"),
    Preset("6", "corrupt 1 in 10,000", "corrupt=1/10000"),
    Preset("7", "3G (profile 3g)", "delay=2s,rate=50000"),
    Preset("0", "off", "off"),
)
