"""The client table's columns: what each shows, how it sorts, and which give way first.

Pure: no widget, no terminal. The table asks `layout_columns` which columns fit its
width; at 80 columns ID, PEER, STATE, IN, OUT and PENDING always stay, the others
come back as the terminal grows, in priority order.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from tui_echo.book import ClientRecord
from tui_echo.events import ClientState, KernelStats
from tui_echo.units import human_duration, human_rate, human_size
from tui_echo.words import short_tls

STATE_ORDER = {state: rank for rank, state in enumerate(ClientState)}
"""Sorting by state goes the way a connection's life does."""

NOT_AVAILABLE = "n/a"
"""What a kernel column says where the kernel cannot be asked (not Linux, replay)."""


@dataclass(slots=True)
class RowView:
    """What a cell needs besides its client: the time, and the kernel's answers."""

    now: float = 0.0
    kernel: Callable[[int], KernelStats | None] | None = None
    """The last kernel sample of a client; None when there can never be one."""


class Moves(Enum):
    """What may change the order of the rows sorted by a column."""

    WITH_ROWS = "rows"
    """Only rows coming and going (the id, the peer: a client never changes them)."""
    WITH_RECORDS = "records"
    """Any change to a record (bytes, state, rates, fault)."""
    WITH_TIME = "time"
    """The clock too (ages, idle times, the kernel's samples): sorted each second."""


@dataclass(frozen=True, slots=True)
class Column:
    """One column: how to show a client in it, how to sort by it, when it gives way."""

    key: str
    label: str
    width: int
    """Cells wide at the least; `grow` says how far it widens when there is room."""
    right: bool
    """Right-aligned (numbers)."""
    text: Callable[[ClientRecord, RowView], str]
    sort_key: Callable[[ClientRecord, RowView], Any] | None
    """The value the rows sort by (None: not sortable)."""
    kernel: bool = False
    """Drawn from the kernel's samples: sorting by it has every client sampled."""
    descending_first: bool = False
    """Sort biggest first on the first click (bytes, rates, ages)."""
    priority: int = 0
    """0 always stays; a larger number gives way to a narrow terminal first."""
    grow: tuple[int, ...] = field(default=())
    """Widths to widen to when room is left, one per round of sharing."""
    short: str = ""
    """A shorter label, when the label (and the sort arrow) does not fit."""
    moves: Moves = Moves.WITH_RECORDS
    """What may reorder rows sorted by it (the table re-sorts only then)."""
    attribute: str = ""
    """The record's attribute its sort key is, if it is one: the rows are then
    sorted by `attrgetter`, in C (10,000 of them in about a millisecond, against
    several through `sort_key`)."""


def _rate(per_second: float) -> str:
    """A rate in 9 cells with its space: `22 MiB/s` rather than `22.0MiB/s`."""
    text = human_rate(per_second)
    if len(text) > RATE_CELLS:
        number, unit = text.split(" ", 1)
        text = f"{float(number):.0f} {unit}"
    return text


RATE_CELLS = 9


def _state_text(record: ClientRecord, view: RowView) -> str:
    if record.closed:
        return record.close_reason or ClientState.CLOSED
    return record.state


def _idle_for(record: ClientRecord, now: float) -> float:
    return max(0.0, (record.closed_at or now) - record.last_active)


def _measure(
    key: str,
    label: str,
    width: int,
    value: Callable[[ClientRecord, float], float],
    show: Callable[[float], str],
    *,
    priority: int,
    grow: tuple[int, ...] = (),
    short: str = "",
    descending_first: bool = True,
    moves: Moves = Moves.WITH_RECORDS,
    attribute: str = "",
) -> Column:
    """A right-aligned column of a number: sorted by the value, shown by `show`."""
    return Column(
        key,
        label,
        width,
        True,
        lambda r, view: show(value(r, view.now)),
        lambda r, view: value(r, view.now),
        descending_first=descending_first,
        priority=priority,
        grow=grow,
        short=short,
        moves=moves,
        attribute=attribute,
    )


def _kernel_column(key: str, label: str, value: Callable[[KernelStats], int]) -> Column:
    def text(record: ClientRecord, view: RowView) -> str:
        if view.kernel is None:
            return NOT_AVAILABLE
        if record.closed:
            return ""
        stats = view.kernel(record.id)
        return "-" if stats is None else human_size(value(stats))

    def sort_key(record: ClientRecord, view: RowView) -> int:
        # Not sampled yet (or closed): below every number, -1.
        stats = None if view.kernel is None or record.closed else view.kernel(record.id)
        return -1 if stats is None else value(stats)

    return Column(
        key,
        label,
        7,
        True,
        text,
        sort_key,
        kernel=True,
        descending_first=True,
        moves=Moves.WITH_TIME,  # each sample of the kernel's queues
        priority=1,  # the queues stay at 80 columns; FAULT and IDLE go first
        grow=(8,),
    )


def _fault_text(record: ClientRecord, view: RowView) -> str:
    return record.fault or "-"


def _tls_text(record: ClientRecord, view: RowView) -> str:
    tls = record.tls
    return "-" if tls is None else short_tls(tls.version, tls.cipher)


COLUMNS: tuple[Column, ...] = (
    Column(
        "id",
        "ID",
        3,
        True,
        lambda r, v: str(r.id),
        lambda r, v: r.id,
        moves=Moves.WITH_ROWS,
        attribute="id",
    ),
    Column(
        "peer",
        "PEER",
        15,
        False,
        lambda r, v: r.peer,
        lambda r, v: r.peer,
        grow=(21, 21, 28),
        moves=Moves.WITH_ROWS,
        attribute="peer",
    ),
    Column(
        "state",
        "STATE",
        12,
        False,
        _state_text,
        lambda r, v: STATE_ORDER[r.state],
        grow=(12, 13),
    ),
    _measure(
        "in",
        "IN",
        7,
        lambda r, now: r.bytes_in,
        human_size,
        priority=0,
        grow=(8,),
        attribute="bytes_in",
    ),
    _measure(
        "out",
        "OUT",
        7,
        lambda r, now: r.bytes_out,
        human_size,
        priority=0,
        grow=(8,),
        attribute="bytes_out",
    ),
    _kernel_column("recv_q", "RECV-Q", lambda s: s.recv_q),
    _measure(
        "pending",
        "PENDING",
        7,
        lambda r, now: r.pending,
        human_size,
        priority=0,
        grow=(8,),
        short="PEND",
        attribute="pending",
    ),
    _kernel_column("send_q", "SEND-Q", lambda s: s.send_q),
    _measure(
        "rate_in",
        "IN/s",
        9,
        lambda r, now: r.rate_in,
        _rate,
        priority=4,
        grow=(10,),
        attribute="rate_in",
    ),
    _measure(
        "rate_out",
        "OUT/s",
        9,
        lambda r, now: r.rate_out,
        _rate,
        priority=4,
        grow=(10,),
        attribute="rate_out",
    ),
    _measure(
        "age",
        "AGE",
        5,
        lambda r, now: r.connected_for(now),
        human_duration,
        priority=6,
        grow=(6,),
        moves=Moves.WITH_TIME,
    ),
    _measure(
        "idle",
        "IDLE",
        5,
        _idle_for,
        human_duration,
        priority=5,
        grow=(6,),
        descending_first=False,
        moves=Moves.WITH_TIME,
    ),
    Column(
        "tls",
        "TLS",
        14,
        False,
        _tls_text,
        _tls_text,
        priority=3,  # before the rates; at 80 columns it gives way
        grow=(16,),
    ),
    Column(
        "fault",
        "FAULT",
        10,
        False,
        _fault_text,
        lambda r, v: r.fault or "",
        priority=2,
        grow=(14, 16, 40),
    ),
)
BY_KEY = {column.key: column for column in COLUMNS}
GAP = 1
"""Blank cells after each column."""
UNUSED_FAULT_PRIORITY = 7
"""With no fault anywhere, the FAULT column gives way before any other."""
NEVER = 99
"""The priority of a column that has nothing to show (TLS on a plain server)."""


def layout_columns(
    available: int,
    id_width: int,
    faults_in_play: bool,
    kernel: bool = True,
    tls: bool = False,
) -> list[tuple[Column, int]]:
    """The columns that fit `available` cells, in display order, with their widths.

    Columns join by priority while they fit (all of one priority at once, so IN/s
    never shows without OUT/s); what is left widens them round by round (`grow`).
    The priority-0 columns are always there, even when they overflow.
    """

    def priority(column: Column) -> int:
        if column.key == "fault" and not faults_in_play:
            return UNUSED_FAULT_PRIORITY
        if column.kernel and not kernel:
            return UNUSED_FAULT_PRIORITY  # n/a in every row (a replay)
        if column.key == "tls" and not tls:
            return NEVER  # a server without TLS
        return column.priority

    widths = {c.key: (id_width if c.key == "id" else c.width) for c in COLUMNS}
    chosen = {c.key for c in COLUMNS if priority(c) == 0}
    used = sum(widths[key] + GAP for key in chosen)
    for level in sorted({priority(c) for c in COLUMNS} - {0, NEVER}):
        group = [c.key for c in COLUMNS if priority(c) == level]
        cost = sum(widths[key] + GAP for key in group)
        if used + cost <= available:
            chosen.update(group)
            used += cost
    spare = available - used
    rounds = max(len(c.grow) for c in COLUMNS)
    for round_ in range(rounds):
        for column in COLUMNS:
            if spare <= 0:
                break
            if column.key in chosen and round_ < len(column.grow):
                wider = min(column.grow[round_] - widths[column.key], spare)
                if wider > 0:
                    widths[column.key] += wider
                    spare -= wider
    return [(c, widths[c.key]) for c in COLUMNS if c.key in chosen]


def fit(text: str, width: int, right: bool) -> str:
    """Text padded or cut to `width` cells: a number (`right`) such as `12.3 KiB`
    loses its space before it loses a digit, and what still does not fit ends
    with `…`."""
    if len(text) > width:
        squeezed = text.replace(" ", "") if right else text
        if len(squeezed) <= width:
            text = squeezed
        else:
            return text[: max(0, width - 1)] + "…"
    return text.rjust(width) if right else text.ljust(width)


def fit_peer(peer: str, width: int) -> str:
    """A peer address cut in its middle, so its port (what tells clients of one
    host apart) always shows: `…:db8::1]:51234`."""
    if len(peer) <= width:
        return peer.ljust(width)
    return "…" + peer[len(peer) - width + 1 :]
