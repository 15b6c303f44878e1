"""An attached monitor starts from the server's truth (issue 17, finding 1).

What the attached screen shows equals what `LIST` and `STATS` say at the same
moment: at attach time (clients with their real faults, totals since start, the
start time, closed clients in the history) and after a churn of 1,000 clients;
the bytes of before the attach are no sparkline spike; when the server goes away
the clock stops. The seeding itself (book/seed.py) is checked without sockets:
held events the snapshot reflects are skipped, the others folded once.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path

from textual.widgets import Static

from tests.helpers import (
    DEADLINE,
    RunningServer,
    ask_control,
    data_event,
    open_client,
    recv_exactly,
    wait_until,
)
from tests.pilot import REFRESH, SIZE, until
from tui_echo.book import ClientBook
from tui_echo.book.seed import SeedClient, Snapshot, seed_book
from tui_echo.control.answers import parse_history, parse_list, parse_stats
from tui_echo.events import (
    ClientClosed,
    ClientConnected,
    ClientState,
    FaultChanged,
    Rejected,
)
from tui_echo.sources.attached import RemoteServer
from tui_echo.ui.app import EchoApp
from tui_echo.units import human_size

StartServer = Callable[..., RunningServer]
CHURN = 1000
PAYLOAD = b"hello"


def status_text(app: EchoApp) -> str:
    return " ".join(
        str(app.query_one(f"#{part}", Static).render())
        for part in ("summary", "traffic")
    )


def disagreements(book: ClientBook, path: Path) -> list[str]:
    """Where the book differs from `LIST`, `STATS` and `HISTORY` now ([]: nowhere)."""
    listed = [parse_list(line) for line in ask_control(path, "LIST")[:-1]]
    stats = parse_stats(ask_control(path, "STATS")[0])
    history = [parse_history(line) for line in ask_control(path, "HISTORY")[:-1]]
    wrong = []
    open_ids = sorted(c.id for c in book.clients.values() if not c.closed)
    if open_ids != [line.id for line in listed]:
        wrong.append(f"clients {open_ids} != LIST {[line.id for line in listed]}")
    for line in listed:
        record = book.clients.get(line.id)
        if record is None:
            continue
        shown = (
            record.peer,
            record.state,
            record.bytes_in,
            record.bytes_out,
            record.pending,
            record.fault,
        )
        said = (
            line.peer,
            line.state,
            line.bytes_in,
            line.bytes_out,
            line.pending,
            line.fault,
        )
        if shown != said:
            wrong.append(f"client {line.id}: {shown} != LIST {said}")
    totals = book.totals
    shown_totals = (
        totals.clients_now,
        totals.clients_total,
        totals.rejected,
        totals.bytes_in,
        totals.bytes_out,
        book.default_fault,
    )
    said_totals = (
        stats.clients,
        stats.total,
        stats.rejected,
        stats.bytes_in,
        stats.bytes_out,
        stats.fault,
    )
    if shown_totals != said_totals:
        wrong.append(f"totals {shown_totals} != STATS {said_totals}")
    if book.started_at is None or abs(book.started_at - stats.started) > 0.002:
        wrong.append(f"started {book.started_at} != STATS {stats.started}")
    if abs(book.uptime() - stats.uptime) > 0.5:
        wrong.append(f"uptime {book.uptime()} != STATS {stats.uptime}")
    if book.address != (stats.host, stats.port):
        wrong.append(f"address {book.address} != STATS {stats.host}:{stats.port}")
    shown_history = [(c.id, c.bytes_in, c.reason) for c in book.history.values()]
    said_history = [(h.id, h.bytes_in, h.reason) for h in history]
    if shown_history != said_history:
        wrong.append(f"history {shown_history[-3:]} != HISTORY {said_history[-3:]}")
    return wrong


def churn(address: tuple[str, int], count: int) -> int:
    """`count` clients one after another: connect, send, read the echo, close.
    Returns how many were echoed (the others were turned away: `--max-clients`)."""
    echoed = 0
    for _ in range(count):
        with open_client(address) as client:
            try:
                client.sendall(PAYLOAD)
                echoed += client.recv(len(PAYLOAD)) == PAYLOAD
            except OSError:  # turned away while sending: counted as rejected
                pass
    return echoed


def before_the_attach(served: RunningServer) -> list[socket.socket]:
    """Two clients that stay (the first with its own fault, the second from before
    `FAULT new`), one that left, one turned away; returns those that stay."""
    first = served.connect()
    first.sendall(b"before")
    recv_exactly(first, 6)
    first_id = served.next_client()
    second = served.connect()
    served.next_client()
    served.server.set_fault(first_id, "slice=4")
    served.server.set_fault("new", "delay=10ms")
    served.events.wait_for(FaultChanged, client=None)
    with served.connect() as third:
        third_id = served.next_client()
        third.sendall(b"bye")
        recv_exactly(third, 3)
        with served.connect():  # a fourth, over --max-clients 3
            served.events.wait_for(Rejected)
    served.events.wait_for(ClientClosed, client=third_id)
    return [first, second]


async def test_the_attached_monitor_agrees_with_list_and_stats(
    start_server: StartServer, tmp_path: Path
) -> None:
    path = tmp_path / "e.sock"
    served = start_server(control=str(path), max_clients=3)
    staying = before_the_attach(served)
    remote = RemoteServer(str(path))
    app = EchoApp(remote, clock=remote.clock, refresh_interval=REFRESH)
    remote.prepare(app.book)  # as `tui-echo attach` does
    try:
        async with app.run_test(size=SIZE) as pilot:
            book = app.book
            await until(pilot, lambda: app.table.order, "the rows")
            assert disagreements(book, path) == []
            assert book.clients[2].fault is None  # connected before FAULT new
            assert book.clients[1].fault == "slice=4"
            assert [c.id for c in book.history.values()] == [3]
            shown = status_text(app)
            assert "2 connected (3 since start)" in shown  # the turned away get no id
            assert "rejected 1" in shown
            assert f"in {human_size(book.totals.bytes_in)}" in shown
            assert sum(book.throughput) == 0  # the bytes of before are no spike

            churned = churn(served.address, CHURN)
            grown = churned * 2 * len(PAYLOAD)
            await until(
                pilot,
                lambda: not disagreements(book, path),
                f"the book to agree after the churn: {disagreements(book, path)}",
            )
            assert book.totals.clients_total >= 3 + churned
            # The sparkline counts the churn's bytes, not the ones from before.
            assert sum(book.throughput) == grown
            await pilot.press("q")
    finally:
        for client in staying:
            client.close()
        remote.close()


def test_attaching_amid_a_churn_leaves_no_gap_and_no_double_count(
    start_server: StartServer, tmp_path: Path
) -> None:
    path = tmp_path / "e.sock"
    served = start_server(control=str(path))
    stop = threading.Event()

    def churning() -> None:
        while not stop.is_set():
            churn(served.address, 20)

    worker = threading.Thread(target=churning, daemon=True)
    worker.start()
    try:
        served.events.wait_for(ClientClosed)  # the churn is on
        books = []
        remotes = []
        for _ in range(5):  # five attaches in the thick of it
            remote = RemoteServer(str(path))
            remotes.append(remote)
            book = ClientBook()
            remote.prepare(book)
            books.append((remote, book))
    finally:
        stop.set()
        worker.join(DEADLINE)
    try:
        for remote, book in books:

            def caught_up(
                remote: RemoteServer = remote, book: ClientBook = book
            ) -> bool:
                book.apply_all(remote.feed.drain())
                served.events.poll()
                stats = parse_stats(ask_control(path, "STATS")[0])
                return (
                    book.totals.clients_total == stats.total
                    and book.totals.clients_now == stats.clients == 0
                )

            wait_until(caught_up, message="the attached book to agree with STATS")
            stats = parse_stats(ask_control(path, "STATS")[0])
            # Counts exactly; bytes too, as each client's last data event came
            # before STATS counted it (see the report on unpublished bytes).
            assert book.totals.clients_total == stats.total
            assert book.totals.bytes_in >= stats.bytes_in
            assert book.totals.bytes_in - stats.bytes_in <= 5 * len(PAYLOAD)
    finally:
        for remote in remotes:
            remote.close()


def test_when_the_server_goes_its_clock_stops(
    start_server: StartServer, tmp_path: Path
) -> None:
    path = tmp_path / "e.sock"
    served = start_server(control=str(path))
    remote = RemoteServer(str(path))
    book = ClientBook(remote.clock)
    remote.prepare(book)
    try:
        served.server.stop()
        wait_until(lambda: remote.gone, message="the server gone")
        stopped = book.uptime()
        later = time.time() + 0.3
        wait_until(lambda: time.time() > later)
        assert book.uptime() == stopped
        assert remote.mode_detail() == "server gone"
    finally:
        remote.close()


# ---- the seeding, without sockets ------------------------------------------------


def test_seeding_skips_what_the_snapshot_reflects_and_folds_the_rest() -> None:
    now = 1000.0
    snapshot = Snapshot(
        host="127.0.0.1",
        port=9000,
        started_at=900.0,
        default_fault="delay=10ms",
        clients_now=2,
        clients_total=7,
        rejected=1,
        bytes_in=500,
        bytes_out=400,
        seq=20,
        taken_at=now,
        clients=[
            SeedClient(
                id=5,
                peer="127.0.0.1:5",
                state=ClientState.OPEN,
                connected_at=990.0,
                last_active=995.0,
                bytes_in=100,
                bytes_out=90,
                pending=10,
                fault=None,  # its own: it came before the default
                seq=12,
            )
        ],
    )
    early = [
        (11, data_event(5, 80, 70, step=80, ts=998.0)),  # in its LIST line already
        (14, data_event(5, 120, 110, step=20, ts=999.0)),  # after its line
        (15, ClientConnected(client=6, peer="127.0.0.1:6", ts=999.5)),  # after LIST
    ]
    book = ClientBook(lambda: now)
    seed_book(book, snapshot, early)
    five, six = book.clients[5], book.clients[6]
    assert (five.bytes_in, five.bytes_out, five.fault) == (120, 110, None)
    assert six.fault == "delay=10ms"  # it came after the default: it has it
    totals = book.totals
    assert (totals.clients_now, totals.clients_total, totals.rejected) == (2, 7, 1)
    assert (totals.bytes_in, totals.bytes_out) == (500, 400)  # STATS' cut
    assert (book.started_at, book.address) == (900.0, ("127.0.0.1", 9000))
    # Later events fold as usual, from the seeded counts: no double count.
    book.apply_all([data_event(5, 150, 150, step=30, ts=1001.0)])
    assert (book.totals.bytes_in, book.totals.bytes_out) == (530, 440)
