"""Helpers of the TLS tests: certificates from trustme, client contexts, TLS clients."""

from __future__ import annotations

import contextlib
import selectors
import socket
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import trustme

from tests.helpers import DEADLINE, RunningServer
from tui_echo.engine.tls_setup import TlsSettings


@dataclass
class ClientAuthority:
    """A CA for client certificates (mTLS), written to `ca_path`."""

    ca: trustme.CA
    ca_path: Path

    def context(self, server_ca: str, name: str = "client-1") -> ssl.SSLContext:
        """A client context that trusts `server_ca` and presents a certificate."""
        context = client_context(server_ca)
        self.ca.issue_cert(name, common_name=name).configure_cert(context)
        return context


def client_authority(tmp_path: Path) -> ClientAuthority:
    ca = trustme.CA(organization_name="test client CA")
    path = tmp_path / "client-ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return ClientAuthority(ca, path)


def client_context(cafile: str | None, **settings: Any) -> ssl.SSLContext:
    """A client context trusting `cafile` (None: trusting nothing of ours)."""
    context = ssl.create_default_context(cafile=cafile)
    for name, value in settings.items():
        setattr(context, name, value)
    return context


def tls_client(
    server: RunningServer,
    context: ssl.SSLContext,
    *,
    rcvbuf: int | None = None,
    server_hostname: str = "localhost",
    **wrap: Any,
) -> ssl.SSLSocket:
    """A blocking TLS client connected to `server`, its handshake done."""
    raw = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if rcvbuf is not None:
        raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    raw.settimeout(DEADLINE)
    raw.connect(server.address)
    try:
        return context.wrap_socket(raw, server_hostname=server_hostname, **wrap)
    except BaseException:
        raw.close()
        raise


def tls_recv_exactly(sock: ssl.SSLSocket, count: int) -> bytes:
    """Read exactly `count` plaintext bytes, failing on an early end."""
    data = bytearray()
    while len(data) < count:
        chunk = sock.recv(min(count - len(data), 1 << 20))
        if not chunk:
            pytest.fail(f"EOF after {len(data)} of {count} bytes")
        data += chunk
    return bytes(data)


StartTls = Callable[..., RunningServer]


def start_tls_server(
    start_server: Callable[..., RunningServer], **settings: Any
) -> RunningServer:
    """A server with `--tls` (a generated CA unless `cert` is given); the
    `TlsSettings` fields go in `settings`, `ServerConfig` fields in `config`."""
    config = settings.pop("config", {})
    return start_server(tls=TlsSettings(**settings), **config)


def server_ca(server: RunningServer) -> str:
    """The CA file a client should trust for this server."""
    tls = server.server.tls
    assert tls is not None
    assert tls.ca_path is not None
    return tls.ca_path


def exchange(
    sock: ssl.SSLSocket,
    payload: bytes,
    *,
    read_when: Callable[[], bool] = lambda: True,
    chunk: int = 64 * 1024,
) -> bytes:
    """Send `payload` and read as many bytes back, from one thread (an SSL socket
    must not be read and written by two threads at once); reading starts once
    `read_when()` says so. Returns what was read."""
    sock.setblocking(False)
    selector = selectors.DefaultSelector()
    view = memoryview(payload)
    sent = 0
    received = bytearray()
    deadline = time.monotonic() + 60
    try:
        selector.register(sock, selectors.EVENT_WRITE)
        while len(received) < len(payload):
            if time.monotonic() > deadline:
                pytest.fail(f"sent {sent}, read {len(received)} of {len(payload)}")
            reading = read_when()
            if sent < len(payload):
                with contextlib.suppress(ssl.SSLWantWriteError, ssl.SSLWantReadError):
                    sent += sock.send(view[sent : sent + chunk])
            while reading:
                try:
                    data = sock.recv(1 << 20)
                except (ssl.SSLWantReadError, ssl.SSLWantWriteError):
                    break
                if not data:
                    pytest.fail(f"EOF after {len(received)} of {len(payload)}")
                received += data
            wanted = (selectors.EVENT_WRITE if sent < len(payload) else 0) | (
                selectors.EVENT_READ if reading else 0
            )
            if wanted and not sock.pending():
                selector.modify(sock, wanted)
                selector.select(0.05)
            elif not wanted:
                time.sleep(0.01)  # neither: waiting for `read_when`
    finally:
        selector.close()
        sock.setblocking(True)
        sock.settimeout(DEADLINE)
    return bytes(received)
