"""The monitor of a `--tls` server, against a real one: the `handshake` state, the
TLS column (gone at 80 columns), a TLS client's detail screen, the status bar."""

from __future__ import annotations

import socket
import ssl

from tests.helpers import DEADLINE
from tests.pilot import SMALL, running_monitor
from tui_echo.engine.tls_setup import TlsSettings
from tui_echo.events import TlsEstablished
from tui_echo.ui.screens.detail import ClientDetailScreen
from tui_echo.words import short_tls


def tls_connect(address: tuple[str, int], ca: str) -> ssl.SSLSocket:
    context = ssl.create_default_context(cafile=ca)
    context.set_alpn_protocols(["h2"])
    raw = socket.create_connection(address, timeout=DEADLINE)
    return context.wrap_socket(raw, server_hostname="localhost")


async def test_a_tls_client_shows_its_handshake_then_its_tls_and_details() -> None:
    async with running_monitor(tls=TlsSettings()) as monitor:
        tls = monitor.server.tls
        assert tls is not None
        assert tls.ca_path is not None
        waiting = monitor.connect()  # never says hello: stays in its handshake
        await monitor.row_showing(1, "handshake")
        assert monitor.cell(1, "tls") == "-"
        client = tls_connect(monitor.server.address, tls.ca_path)
        monitor.clients.append(client)
        client.sendall(b"hello")
        assert client.recv(5) == b"hello"
        negotiated = short_tls(client.version() or "", client.cipher()[0])
        await monitor.until(lambda: monitor.cell(2, "tls") == negotiated, "TLS")
        assert "open" in monitor.row_text(2)
        assert "TLS" in monitor.screen_text().splitlines()[0]
        monitor.table.select_client(2)
        await monitor.pilot.press("enter")
        await monitor.screen_is(ClientDetailScreen)
        shown = await monitor.until(
            lambda: "alpn" in monitor.screen_text() and monitor.screen_text(),
            "the TLS group",
        )
        assert client.version() in shown
        assert "localhost" in shown
        assert "h2" in shown
        assert isinstance(monitor.app.book.clients[2].tls, TlsEstablished)
        assert waiting.fileno() >= 0


async def test_at_80_columns_the_tls_column_gives_way() -> None:
    async with running_monitor(SMALL, tls=TlsSettings()) as monitor:
        monitor.connect()
        await monitor.row_showing(1, "handshake")
        assert "tls" not in [c.key for c, _ in monitor.table._columns()]


async def test_a_plain_server_has_no_tls_column() -> None:
    async with running_monitor() as monitor:
        monitor.connect()
        await monitor.row_showing(1, "open")
        assert "tls" not in [c.key for c, _ in monitor.table._columns()]
