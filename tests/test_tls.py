"""`--tls` with real sockets and Python's `ssl` as the client: the handshake and its
failures, the plaintext's echo rules, faults, kick and reset, the `tls` event."""

from __future__ import annotations

import contextlib
import hashlib
import random
import socket
import ssl
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.helpers import DEADLINE, RunningServer, wait_until
from tests.tls_helpers import (
    client_authority,
    client_context,
    exchange,
    server_ca,
    start_tls_server,
    tls_client,
    tls_recv_exactly,
)
from tui_echo.engine.tls import TLS_RECORD, TlsConnection
from tui_echo.events import (
    ClientClosed,
    ClientConnected,
    ClientData,
    ClientState,
    FaultChanged,
    Listening,
    TlsEstablished,
)
from tui_echo.faults import FaultSpec

KiB, MiB = 1024, 1024 * 1024
Start = Callable[..., RunningServer]


def send_and_read(client: ssl.SSLSocket) -> bytes:
    client.sendall(b"anyone?")
    return client.recv(10)


def closed(server: RunningServer, client: int | None = None) -> ClientClosed:
    if client is None:
        return server.events.wait_for(ClientClosed)
    return server.events.wait_for(ClientClosed, client=client)


# ---- the handshake ------------------------------------------------------------


def test_a_client_trusting_the_generated_ca_gets_its_bytes_back(
    start_server: Start,
) -> None:
    server = start_tls_server(start_server)
    listening = server.events.wait_for(Listening)
    assert listening.tls_ca == server_ca(server)
    assert Path(server_ca(server)).read_text().startswith("-----BEGIN CERTIFICATE")
    fingerprint = listening.tls_fingerprint
    assert fingerprint is not None
    assert len(fingerprint.split(":")) == 32
    with tls_client(server, client_context(server_ca(server))) as client:
        der = client.getpeercert(binary_form=True)
        assert der is not None
        digest = hashlib.sha256(der).hexdigest().upper()
        assert fingerprint.replace(":", "") == digest
        client.sendall(b"hello over tls")
        assert tls_recv_exactly(client, 14) == b"hello over tls"


def test_the_generated_key_is_private_and_removed_at_stop(start_server: Start) -> None:
    server = start_tls_server(start_server)
    directory = Path(server_ca(server)).parent
    assert directory.stat().st_mode & 0o777 == 0o700
    keys = [f for f in directory.iterdir() if b"PRIVATE KEY" in f.read_bytes()]
    assert keys
    for key in keys:
        assert key.stat().st_mode & 0o777 == 0o600, key
    server.server.stop()
    assert not directory.exists()


def test_the_tls_event_says_what_was_negotiated(start_server: Start) -> None:
    server = start_tls_server(start_server)
    context = client_context(server_ca(server))
    context.set_alpn_protocols(["not-registered", "h2", "http/1.1"])
    with tls_client(server, context) as client:
        client.sendall(b"x")
        tls_recv_exactly(client, 1)
        event = server.events.wait_for(TlsEstablished)
        assert event.version == client.version()
        assert event.cipher == client.cipher()[0]
    assert event.alpn == "h2"
    assert event.sni == "localhost"
    assert event.client_cert is None
    assert event.resumed is False


def test_a_client_offering_no_alpn_has_none(start_server: Start) -> None:
    server = start_tls_server(start_server)
    with tls_client(server, client_context(server_ca(server))) as client:
        client.sendall(b"x")
        tls_recv_exactly(client, 1)
    event = server.events.wait_for(TlsEstablished)
    assert event.alpn is None


def test_a_resumed_session_is_said_so(start_server: Start) -> None:
    server = start_tls_server(start_server)
    context = client_context(server_ca(server))
    with tls_client(server, context) as first:
        first.sendall(b"x")
        tls_recv_exactly(first, 1)  # the session ticket came before the echo
        session = first.session
    with tls_client(server, context, session=session) as second:
        second.sendall(b"y")
        tls_recv_exactly(second, 1)
        assert second.session_reused
    second_id = server.events.of(ClientConnected)[1].client
    event = server.events.wait_for(TlsEstablished, client=second_id)
    assert event.resumed is True


def test_the_state_is_handshake_until_it_completes(start_server: Start) -> None:
    server = start_tls_server(start_server)
    with socket.create_connection(server.address, timeout=DEADLINE):
        client_id = server.next_client()
        loop = server.server._loop
        assert loop is not None
        conn = loop.clients.connection(client_id)
        assert isinstance(conn, TlsConnection)
        assert conn.state is ClientState.HANDSHAKE
    assert closed(server, client_id).reason == "peer closed"


def test_a_client_that_never_finishes_the_handshake_is_closed(
    start_server: Start,
) -> None:
    server = start_tls_server(start_server, handshake_timeout=0.3)
    with socket.create_connection(server.address, timeout=DEADLINE) as raw:
        raw.sendall(b"\x16\x03\x01")  # the start of a ClientHello, then nothing
        started = time.monotonic()
        event = closed(server)
        took = time.monotonic() - started
        assert raw.recv(100) == b""  # a FIN
    assert event.reason == "handshake timeout"
    assert 0.2 <= took < 5


def test_a_client_that_sends_nothing_is_closed_at_the_handshake_timeout(
    start_server: Start,
) -> None:
    server = start_tls_server(start_server, handshake_timeout=0.3)
    with socket.create_connection(server.address, timeout=DEADLINE):
        assert closed(server).reason == "handshake timeout"


def test_a_client_that_does_not_trust_the_server_closes_with_unknown_ca(
    start_server: Start, tmp_path: Path
) -> None:
    server = start_tls_server(start_server)
    other = client_authority(tmp_path)  # some other CA
    with pytest.raises(ssl.SSLCertVerificationError):
        tls_client(server, client_context(str(other.ca_path)))
    assert closed(server).reason == "tls: unknown ca"


@pytest.mark.parametrize(
    "plaintext", [b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n", b"hello\n"]
)
def test_plaintext_on_the_tls_port_is_said_so(
    start_server: Start, plaintext: bytes
) -> None:
    server = start_tls_server(start_server)
    with socket.create_connection(server.address, timeout=DEADLINE) as raw:
        raw.sendall(plaintext)
        assert raw.recv(100) == b""  # a FIN, not a reset
    assert closed(server).reason == "tls: plaintext on a TLS port"


def test_an_older_version_than_tls_min_is_refused(start_server: Start) -> None:
    server = start_tls_server(start_server, min_version="1.3")
    context = client_context(server_ca(server))
    context.maximum_version = ssl.TLSVersion.TLSv1_2
    with pytest.raises(ssl.SSLError):
        tls_client(server, context)
    assert closed(server).reason == "tls: protocol version"


def test_tls_min_1_2_takes_a_1_2_client(start_server: Start) -> None:
    server = start_tls_server(start_server)
    context = client_context(server_ca(server))
    context.maximum_version = ssl.TLSVersion.TLSv1_2
    with tls_client(server, context) as client:
        client.sendall(b"old")
        assert tls_recv_exactly(client, 3) == b"old"
    assert server.events.wait_for(TlsEstablished).version == "TLSv1.2"


# ---- mTLS -----------------------------------------------------------------------


def test_mtls_takes_a_client_certificate_signed_by_the_client_ca(
    start_server: Start, tmp_path: Path
) -> None:
    clients = client_authority(tmp_path)
    server = start_tls_server(start_server, client_ca=str(clients.ca_path))
    context = clients.context(server_ca(server), name="alice@example.com")
    with tls_client(server, context) as client:
        client.sendall(b"mutual")
        assert tls_recv_exactly(client, 6) == b"mutual"
    event = server.events.wait_for(TlsEstablished)
    assert event.client_cert is not None
    assert "alice@example.com" in event.client_cert
    assert event.client_cert_issuer is not None
    assert "test client CA" in event.client_cert_issuer
    assert event.client_cert_expires is not None
    assert event.client_cert_expires > time.time()


def test_mtls_refuses_a_client_without_a_certificate(
    start_server: Start, tmp_path: Path
) -> None:
    clients = client_authority(tmp_path)
    server = start_tls_server(start_server, client_ca=str(clients.ca_path))
    with (
        tls_client(server, client_context(server_ca(server))) as client,
        pytest.raises((ssl.SSLError, ConnectionResetError)),
    ):
        send_and_read(client)  # TLS 1.3: the refusal comes at the first read
    assert closed(server).reason == "tls: no client certificate"


def test_mtls_refuses_a_certificate_of_another_ca(
    start_server: Start, tmp_path: Path
) -> None:
    clients = client_authority(tmp_path)
    server = start_tls_server(start_server, client_ca=str(clients.ca_path))
    (tmp_path / "strangers").mkdir()
    strangers = client_authority(tmp_path / "strangers")
    context = strangers.context(server_ca(server))
    with (
        tls_client(server, context) as client,
        pytest.raises((ssl.SSLError, ConnectionResetError)),
    ):
        send_and_read(client)
    assert closed(server).reason == "tls: unknown ca"


# ---- the plaintext's echo rules ---------------------------------------------


def test_random_data_comes_back_exact_both_ways(start_server: Start) -> None:
    server = start_tls_server(start_server)
    payload = random.Random(19).randbytes(4 * MiB)
    with tls_client(server, client_context(server_ca(server))) as client:
        assert exchange(client, payload) == payload
    client_id = server.events.wait_for(ClientConnected).client
    event = closed(server, client_id)
    assert event.bytes_in == event.bytes_out == len(payload)


def test_a_slow_reader_is_paused_and_still_gets_everything_exact(
    start_server: Start,
) -> None:
    max_buffer = 64 * KiB
    server = start_tls_server(start_server, config={"max_buffer": max_buffer})
    payload = random.Random(20).randbytes(8 * MiB)
    context = client_context(server_ca(server))
    with tls_client(server, context, rcvbuf=16 * KiB) as client:

        def paused() -> bool:
            return bool(server.events.of(ClientData, state=ClientState.PAUSED))

        assert exchange(client, payload, read_when=paused) == payload
    closed(server)
    data = server.events.of(ClientData)
    assert max(e.pending for e in data) <= max_buffer + TLS_RECORD
    assert sum(e.bytes for e in data) == len(payload)


def test_the_clients_close_notify_ends_it_after_the_pending_echo(
    start_server: Start,
) -> None:
    server = start_tls_server(start_server)
    context = client_context(server_ca(server))
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = context.wrap_bio(incoming, outgoing, server_hostname="localhost")
    with socket.create_connection(server.address, timeout=DEADLINE) as raw:

        def pump() -> None:
            raw.sendall(outgoing.read())
            data = raw.recv(65536)
            incoming.write(data) if data else incoming.write_eof()

        while True:
            try:
                tls.do_handshake()
                break
            except ssl.SSLWantReadError:
                pump()
        payload = random.Random(21).randbytes(300 * KiB)
        tls.write(payload)
        with pytest.raises(ssl.SSLWantReadError):
            tls.unwrap()  # close_notify, the echo still to come
        raw.sendall(outgoing.read())
        echoed = bytearray()
        while True:
            try:
                echoed += tls.read(65536)
            except ssl.SSLWantReadError:
                pump()
            except ssl.SSLZeroReturnError:
                break  # the server's close_notify, after everything
        assert echoed == payload
    event = closed(server)
    assert event.reason == "peer closed"
    assert event.bytes_out == len(payload)


# ---- faults, kick, reset -------------------------------------------------------


def test_faults_act_on_the_plaintext(start_server: Start) -> None:
    server = start_tls_server(start_server)
    with tls_client(server, client_context(server_ca(server))) as client:
        client_id = server.next_client()
        server.set_fault(client_id, "delay=150ms,slice=7")
        server.events.wait_for(FaultChanged, client=client_id)
        started = time.monotonic()
        client.sendall(b"0123456789" * 10)
        first = client.recv(100)
        assert time.monotonic() - started >= 0.14
        assert len(first) <= 7
        rest = tls_recv_exactly(client, 100 - len(first))
        assert first + rest == b"0123456789" * 10


def test_close_after_echoes_exactly_that_much_then_a_clean_tls_close(
    start_server: Start,
) -> None:
    server = start_tls_server(
        start_server, config={"fault": FaultSpec.parse("close-after=1K")}
    )
    with tls_client(server, client_context(server_ca(server))) as client:
        client.sendall(bytes(3000))
        echoed = bytearray()
        while chunk := client.recv(65536):  # b"": the server's close_notify
            echoed += chunk
    assert len(echoed) == 1024
    assert closed(server).reason == "close-after"


def test_kick_is_a_clean_tls_close(start_server: Start) -> None:
    server = start_tls_server(start_server)
    context = client_context(server_ca(server))
    # Strict: an end without close_notify would raise SSLEOFError here.
    with tls_client(server, context, suppress_ragged_eofs=False) as client:
        client.sendall(b"hi")
        tls_recv_exactly(client, 2)
        server.kick(server.next_client())
        with contextlib.suppress(ssl.SSLZeroReturnError):  # close_notify too
            assert client.recv(10) == b""


def test_reset_is_a_reset_without_close_notify(start_server: Start) -> None:
    server = start_tls_server(start_server)
    context = client_context(server_ca(server))
    with tls_client(server, context, suppress_ragged_eofs=False) as client:
        client.sendall(b"hi")
        tls_recv_exactly(client, 2)
        server.reset(server.next_client())
        # OpenSSL 3 reports the RST as an end without close_notify...
        with pytest.raises((ssl.SSLEOFError, ConnectionResetError)):
            client.recv(10)
    with tls_client(server, context) as client:
        client.sendall(b"hi")
        tls_recv_exactly(client, 2)
        server.reset(server.next_client())
        # ...and the socket under it saw the RST.
        with pytest.raises(ConnectionResetError):
            socket.socket.recv(client, 10)


def test_a_default_fault_acts_on_tls_clients_from_connect(start_server: Start) -> None:
    server = start_tls_server(
        start_server, config={"fault": FaultSpec.parse("blackhole")}
    )
    with tls_client(server, client_context(server_ca(server))) as client:
        client.sendall(b"gone")
        client_id = server.next_client()
        wait_until(
            lambda: (
                server.events.of(ClientData, client=client_id)
                and server.events.of(ClientData, client=client_id)[-1].bytes_in == 4
            )
        )
        server.kick(client_id)
    assert closed(server).discarded == 4


def test_max_memory_bounds_what_tls_clients_hold_together(start_server: Start) -> None:
    max_memory = 64 * KiB
    server = start_tls_server(
        start_server, config={"max_memory": max_memory, "max_buffer": MiB}
    )
    payload = random.Random(22).randbytes(4 * MiB)
    context = client_context(server_ca(server))
    with tls_client(server, context, rcvbuf=16 * KiB) as client:

        def paused() -> bool:
            return bool(server.events.of(ClientData, state=ClientState.PAUSED))

        assert exchange(client, payload, read_when=paused) == payload
    closed(server)
    data = server.events.of(ClientData)
    assert max(e.pending for e in data) <= max_memory + TLS_RECORD
