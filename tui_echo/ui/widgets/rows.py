"""Which clients the table shows, in which order, and what it says about them.

Pure: the book, the filter and the sort in, ids and words out. The table calls these
at each refresh; tests call them without a terminal.
"""

from __future__ import annotations

from operator import attrgetter

from tui_echo.book import ClientBook, ClientRecord
from tui_echo.ui.widgets.columns import (
    BY_KEY,
    GAP,
    Column,
    Moves,
    RowView,
    fit,
    fit_peer,
)
from tui_echo.words import escape

Layout = list[tuple[Column, int]]
"""The columns on screen, left to right, with their widths."""


def ordered_clients(
    book: ClientBook,
    view: RowView,
    filter_text: str,
    sort_column: str,
    descending: bool,
) -> list[int]:
    """The ids of the clients the filter lets through, sorted by the column (ties
    by id, so equal rows never swap places between refreshes)."""
    shown = list(book.clients.values())
    if filter_text:
        needle = filter_text.lower()
        shown = [r for r in shown if matches(r, needle)]
    column = BY_KEY[sort_column]
    if column.attribute:
        shown.sort(key=attrgetter(column.attribute, "id"), reverse=descending)
    else:
        sort_key = column.sort_key
        assert sort_key is not None  # only sortable columns are sorted by
        shown.sort(key=lambda r: (sort_key(r, view), r.id), reverse=descending)
    return [record.id for record in shown]


OrderStamp = tuple[object, ...]
"""What an order was sorted from: while it is the same, so is the order."""


def order_stamp(
    book: ClientBook, now: float, filter_text: str, sort_column: str, descending: bool
) -> OrderStamp:
    """What `ordered_clients` depends on: while it is the same, so is the order, and
    a refresh needs no sort (with 10,000 idle clients nothing changes between two).
    An order by the clock (ages, idle times, the kernel's samples) holds for the
    second it was sorted in: what it shows moves by the second."""
    moves = BY_KEY[sort_column].moves
    if moves is Moves.WITH_ROWS and not filter_text:  # the filter reads records
        version: object = book.comings_and_goings
    elif moves is Moves.WITH_TIME:
        version = (book.changes, int(now))
    else:
        version = book.changes
    return (moves, version, filter_text, sort_column, descending)


def sortable(column: Column, kernel: bool) -> bool:
    """Can the rows be sorted by this column? (Not a kernel column without a
    kernel: n/a in every row gives no order.)"""
    return column.sort_key is not None and (kernel or not column.kernel)


def matches(record: ClientRecord, needle: str) -> bool:
    """Does the filter text (lower case) appear in the client's id, peer, state,
    fault or close reason?"""
    return (
        needle in record.peer.lower()
        or needle in record.state
        or needle == record.proto
        or needle in (record.close_reason or "").lower()
        or needle in (record.fault or "")
        or needle.lstrip("#") == str(record.id)
    )


def empty_hint(book: ClientBook, filter_text: str) -> str:
    """Why there is no row: a filter, nobody connected now, or nobody yet (and how
    to make one)."""
    if filter_text:
        return "No client matches the filter."
    if book.totals.clients_total:
        came = book.totals.clients_total
        return (
            f"No client connected now ({came} came and went; h shows the closed ones)."
        )
    address = book.address
    if address is None:
        return "No clients yet."
    host, port = address
    if host in ("0.0.0.0", "::"):  # bound to every address: suggest loopback
        host = "127.0.0.1" if host == "0.0.0.0" else "::1"
    return f"No clients yet. Try: nc {host} {port}"


def table_title(
    book: ClientBook, shown: int, filter_text: str, sort_column: str, descending: bool
) -> str:
    """What the rows are (connected, just closed, shown by the filter) and the sort."""
    connected = book.totals.clients_now
    closed = len(book.clients) - connected
    title = f"{connected} connected"
    if closed:
        title += f", {closed} closed"
    if filter_text:
        title += f" · filter “{filter_text}”: {shown} shown"
    arrow = "▼" if descending else "▲"
    return title + f" · sorted by {BY_KEY[sort_column].label} {arrow}"


def row_cells(record: ClientRecord, layout: Layout, view: RowView) -> list[str]:
    """The text of a client's cells, each fitted to its column."""
    cells = []
    for column, width in layout:
        # Escaped: a replayed log or an attached server can say anything in a
        # peer, a close reason or a fault (a C-level check when it is plain).
        if column.key == "peer":  # a UDP peer marked at the end: cut first
            peer = f"{record.peer}/udp" if record.udp else record.peer
            cells.append(fit_peer(escape(peer), width))
        else:
            cells.append(fit(escape(column.text(record, view)), width, column.right))
    return cells


def header_text(layout: Layout, sort_column: str, descending: bool) -> str:
    """The header line: each label (short if it does not fit), the sort's arrow."""
    cells = []
    for column, width in layout:
        label = column.label
        arrow = ""
        if column.key == sort_column:
            arrow = "▼" if descending else "▲"
        if len(label + arrow) > width and column.short:
            label = column.short
        # Cut the label, never the arrow: it says how the rows are sorted.
        label = label[: max(0, width - len(arrow))]
        cells.append(fit(label + arrow, width, column.right))
    return (" " * GAP).join(cells) + " " * GAP


def column_at(layout: Layout, x: int) -> str | None:
    """The key of the column under cell `x` of a line (a click), if any."""
    left = 0
    for column, width in layout:
        if left <= x < left + width + GAP:
            return column.key
        left += width + GAP
    return None
