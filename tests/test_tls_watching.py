"""What the watchers of a `--tls` server see: the `tls` event's JSON and text forms,
the book's `handshake` state, `LIST` and `STATS` over the control socket, and an
attached monitor's first look."""

from __future__ import annotations

import json
import socket
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest

from tests.helpers import DEADLINE, RunningServer, ask_control, wait_until, write_log
from tests.tls_helpers import (
    client_context,
    server_ca,
    start_tls_server,
    tls_client,
    tls_recv_exactly,
)
from tui_echo.book import ClientBook
from tui_echo.control.answers import parse_list, parse_stats
from tui_echo.control.client import BadAnswerError
from tui_echo.events import (
    ClientConnected,
    ClientState,
    Listening,
    TlsEstablished,
    json_line,
    to_json,
)
from tui_echo.events_parse import from_json
from tui_echo.events_text import event_text
from tui_echo.pytest_plugin import EventRecorder
from tui_echo.sources.attached import RemoteServer
from tui_echo.sources.replay import LogReplay

Start = Callable[..., RunningServer]
FINGERPRINT = ":".join(["AB"] * 32)

EVENT = TlsEstablished(
    client=3,
    version="TLSv1.3",
    cipher="TLS_AES_256_GCM_SHA384",
    alpn="h2",
    sni="localhost",
    client_cert="CN=alice,O=Example Corp",
    client_cert_issuer="CN=client CA",
    client_cert_expires=1900000000.0,
    resumed=True,
    ts=5.0,
)


# ---- the events -----------------------------------------------------------------


@pytest.mark.parametrize(
    "event",
    [
        EVENT,
        TlsEstablished(client=1, version="TLSv1.2", cipher="ECDHE", ts=1.0),
        Listening(
            host="::1", port=9, tls_ca="/tmp/a b/ca.pem", tls_fingerprint="AB", ts=3.0
        ),
        Listening(host="::1", port=9, tls_fingerprint="AB", ts=2.0),
    ],
)
def test_tls_events_read_back_from_their_json_and_the_fast_line_agrees(
    event: TlsEstablished | Listening,
) -> None:
    assert from_json(json.loads(json.dumps(to_json(event)))) == event
    assert json.loads(json_line(event)) == to_json(event)
    assert list(json.loads(json_line(event))) == list(to_json(event))


def test_the_tls_event_has_nulls_and_listening_without_tls_is_unchanged() -> None:
    bare = to_json(TlsEstablished(client=1, version="TLSv1.3", cipher="X", ts=1.0))
    assert bare["alpn"] is None
    assert bare["client_cert"] is None
    assert bare["resumed"] is False
    assert list(to_json(Listening(host="h", port=1, ts=1.0))) == [
        "event",
        "ts",
        "host",
        "port",
    ]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("resumed", 1),
        ("resumed", None),
        ("client_cert_expires", 1e300),
        ("client_cert_expires", True),
        ("alpn", 7),
        ("version", None),
        ("sni", "x" * 5000),
    ],
)
def test_a_tls_event_from_outside_with_a_bad_field_is_refused(
    field: str, value: object
) -> None:
    payload = {**to_json(EVENT), field: value}
    with pytest.raises(ValueError, match="tls event"):
        from_json(payload)


def test_text_from_the_client_is_escaped_in_the_event_and_its_line() -> None:
    event = from_json({**to_json(EVENT), "sni": "\x1b[2Jevil"})
    assert isinstance(event, TlsEstablished)
    assert event.sni == "\\x1b[2Jevil"
    line = event_text(event)
    assert "\x1b" not in line
    assert "TLSv1.3" in line
    assert "alpn h2" in line
    assert "resumed" in line


def test_the_book_shows_handshake_until_the_tls_event() -> None:
    book = ClientBook(clock=lambda: 10.0)
    book.apply(Listening(host="h", port=1, tls_fingerprint=FINGERPRINT, ts=1.0))
    book.apply(ClientConnected(client=3, peer="127.0.0.1:5", ts=2.0))
    assert book.clients[3].state is ClientState.HANDSHAKE
    book.apply(EVENT)
    assert book.clients[3].state is ClientState.OPEN
    assert book.clients[3].tls == EVENT
    assert book.tls == (None, FINGERPRINT)


def test_a_udp_peer_of_a_tls_server_has_no_handshake() -> None:
    book = ClientBook(clock=lambda: 10.0)
    book.apply(Listening(host="h", port=1, tls_fingerprint=FINGERPRINT, ts=1.0))
    book.apply(ClientConnected(client=4, peer="127.0.0.1:6", proto="udp", ts=2.0))
    assert book.clients[4].state is ClientState.OPEN


def test_without_tls_a_client_is_open_at_connect() -> None:
    book = ClientBook(clock=lambda: 10.0)
    book.apply(Listening(host="h", port=1, ts=1.0))
    book.apply(ClientConnected(client=3, peer="127.0.0.1:5", ts=2.0))
    assert book.clients[3].state is ClientState.OPEN


# ---- the control socket ---------------------------------------------------------


@pytest.fixture
def served(start_server: Start, tmp_path: Path) -> RunningServer:
    return start_tls_server(start_server, config={"control": str(tmp_path / "e.sock")})


def control_path(served: RunningServer) -> Path:
    path = served.server.config.control
    assert path is not None
    return Path(path)


def test_list_carries_the_tls_fields_and_stats_the_ca_and_fingerprint(
    served: RunningServer,
) -> None:
    context = client_context(server_ca(served))
    context.set_alpn_protocols(["http/1.1"])
    with (
        tls_client(served, context) as client,
        socket.create_connection(served.address, timeout=DEADLINE),
    ):
        client.sendall(b"x")
        tls_recv_exactly(client, 1)
        event = served.events.wait_for(TlsEstablished)
        wait_until(lambda: len(served.events.of(ClientConnected)) == 2)
        listed = ask_control(control_path(served), "LIST")[:-1]
        stats = ask_control(control_path(served), "STATS")[0]
    lines = {parse_list(line).id: parse_list(line) for line in listed}
    first = lines[event.client]
    assert first.state is ClientState.OPEN
    assert first.tls is not None
    assert first.tls.version == event.version
    assert first.tls.cipher == event.cipher
    assert first.tls.alpn == "http/1.1"
    assert first.tls.sni == "localhost"
    assert first.tls.client_cert is None
    assert first.tls.resumed is False
    waiting = lines[event.client + 1]
    assert waiting.state is ClientState.HANDSHAKE
    assert waiting.tls is None
    assert f"tls_ca={server_ca(served)}" in stats
    tls = served.server.tls
    assert tls is not None
    assert parse_stats(stats).tls == (server_ca(served), tls.fingerprint)


@pytest.mark.parametrize(
    "extra",
    [
        "tls=TLSv1.3 cipher=X alpn=- sni=- cert=- cert_expires=- resumed=2",
        "tls=%FF cipher=X resumed=0",
        "tls=TLSv1.3 resumed=0",
        "tls=TLSv1.3 cipher=X resumed=0 cert_expires=1e999",
    ],
)
def test_a_bad_tls_field_in_a_list_line_is_a_bad_answer(extra: str) -> None:
    line = (
        "id=1 peer=127.0.0.1:5 state=open age=1.0 idle=1.0 in=0 out=0 pending=0"
        f" {extra} seq=3 fault=-"
    )
    with pytest.raises(BadAnswerError):
        parse_list(line)


def test_a_bad_fingerprint_in_stats_is_a_bad_answer() -> None:
    line = (
        "clients=0 total=0 rejected=0 bytes_in=0 bytes_out=0 pending=0 uptime=1.0"
        " started=1.000 seq=1 listening=127.0.0.1:9 tls_ca=- tls_fingerprint=XYZ"
        " fault=-"
    )
    with pytest.raises(BadAnswerError):
        parse_stats(line)


def test_an_attached_monitor_starts_from_the_tls_clients(
    served: RunningServer,
) -> None:
    context = client_context(server_ca(served))
    context.set_alpn_protocols(["h2"])
    with (
        tls_client(served, context) as client,
        socket.create_connection(served.address, timeout=DEADLINE),
    ):
        client.sendall(b"x")
        tls_recv_exactly(client, 1)
        event = served.events.wait_for(TlsEstablished)
        wait_until(lambda: len(served.events.of(ClientConnected)) == 2)
        remote = RemoteServer(str(control_path(served)))
        try:
            book = ClientBook()
            remote.prepare(book)
        finally:
            remote.close()
    tls = served.server.tls
    assert tls is not None
    assert book.tls == (tls.ca_path, tls.fingerprint)
    record = book.clients[event.client]
    assert record.tls is not None
    assert record.tls.alpn == "h2"
    assert record.state is ClientState.OPEN
    assert book.clients[event.client + 1].state is ClientState.HANDSHAKE


def test_a_recorded_tls_session_replays_with_its_tls_fields(tmp_path: Path) -> None:
    session = [
        Listening(host="127.0.0.1", port=9, tls_fingerprint=FINGERPRINT, ts=1000.0),
        ClientConnected(client=3, peer="127.0.0.1:5", ts=1000.1),
        replace(EVENT, ts=1000.2),
    ]
    replay = LogReplay(str(write_log(tmp_path / "tls.jsonl", session)), speed=64)
    try:
        seen = EventRecorder(replay.feed)
        wait_until(lambda: replay.finished, message="the end of the log")
        assert seen.poll() == session
    finally:
        replay.stop()


def test_a_ca_path_with_escapes_reaches_the_text_log_escaped() -> None:
    """`--tls-ca-out` is the user's path: the text log shows it, never raw."""
    event = Listening(
        host="127.0.0.1",
        port=9000,
        tls_ca="/tmp/\x1b[2Jca.pem",
        tls_fingerprint="AB:CD",
        ts=1.0,
    )
    line = event_text(event)
    assert "\x1b" not in line
    assert "ca /tmp/\\x1b[2Jca.pem" in line
