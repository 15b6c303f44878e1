"""What is on screen, to a file: the clients the table shows and the closed clients'
history, as one JSON document (`e` on the main screen).

Pure but for the one write: the book and the table's order in, a file out. JSON
rather than CSV because the two tables have different columns, and a program that
reads one file reads both; times are Unix seconds, as in `--log-format json`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from tui_echo.book import ClientBook, ClientRecord, ClosedClient
from tui_echo.words import escape, os_reason


def _client(record: ClientRecord, now: float) -> dict[str, Any]:
    return {
        "id": record.id,
        "peer": record.peer,
        "state": str(record.close_reason if record.closed else record.state),
        "connected_at": record.connected_at,
        "age": round(record.connected_for(now), 3),
        "bytes_in": record.bytes_in,
        "bytes_out": record.bytes_out,
        "pending": record.pending,
        "rate_in": round(record.rate_in, 1),
        "rate_out": round(record.rate_out, 1),
        "fault": record.fault,
        "closed_at": record.closed_at,
    }


def _closed(closed: ClosedClient) -> dict[str, Any]:
    return {
        "id": closed.id,
        "peer": closed.peer,
        "connected_at": closed.connected_at,
        "closed_at": closed.closed_at,
        "duration": round(closed.duration, 3),
        "reason": closed.reason,
        "bytes_in": closed.bytes_in,
        "bytes_out": closed.bytes_out,
        "discarded": closed.discarded,
        "fault": closed.fault,
    }


def snapshot(book: ClientBook, shown: Iterable[int], now: float) -> dict[str, Any]:
    """The view as data: totals, the clients in the table's order, the history
    (newest first, as the history screen lists it)."""
    totals = book.totals
    clients = book.clients
    return {
        "at": now,
        "address": None if book.address is None else list(book.address),
        "uptime": round(book.uptime(), 3),
        "totals": {
            "clients_now": totals.clients_now,
            "clients_total": totals.clients_total,
            "rejected": totals.rejected,
            "bytes_in": totals.bytes_in,
            "bytes_out": totals.bytes_out,
            "rate_in": round(totals.rate_in, 1),
            "rate_out": round(totals.rate_out, 1),
        },
        "clients": [_client(clients[cid], now) for cid in shown if cid in clients],
        "history": [_closed(c) for c in reversed(book.history.values())],
    }


def export_view(
    book: ClientBook, shown: Iterable[int], now: float, directory: Path
) -> Path:
    """Write the view to a new file in `directory`; return its path.

    Raises:
        OSError: it could not be written (the caller says so on screen).
    """
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(min(max(now, 0), 3e10)))
    path = directory / f"tui-echo-{stamp}.json"
    number = 1
    while path.exists():  # two exports in one second: keep both
        number += 1
        path = directory / f"tui-echo-{stamp}-{number}.json"
    text = json.dumps(snapshot(book, shown, now), indent=1, ensure_ascii=True)
    path.write_text(text + "\n", encoding="ascii")
    return path


def export_here(book: ClientBook, shown: Iterable[int], now: float) -> tuple[bool, str]:
    """Export to the current directory: (done, what to tell the user, escaped)."""
    try:
        path = export_view(book, shown, now, Path.cwd())
    except OSError as exc:
        return False, f"Not exported: {escape(os_reason(exc))}"
    return True, f"Exported to {escape(str(path))}"
