"""A pytest plugin: the `echo_server` fixture, a tui-echo server for client tests.

Installed with tui-echo (entry point `pytest11`), so any test can ask for it::

    def test_my_client_reconnects_after_a_reset(echo_server):
        client = MyClient(*echo_server.address)
        assert client.request(b"hello") == b"hello"
        echo_server.reset(echo_server.next_client())
        assert client.request(b"again") == b"again"  # it reconnected

The server listens on 127.0.0.1, port 0, with the default limits, and stops after
the test. To change its settings, override the `echo_server_config` fixture; a
listener fault from the start is one of them::

    @pytest.fixture
    def echo_server_config():
        return ServerConfig(port=0, listener_fault=ListenerFault.parse("refuse,for=2s"))

and `echo_server.set_listener_fault("accept-delay=200ms")` changes it during a test.

UDP too (`--udp`): the server echoes datagrams on the same port, and
`echo_server.udp_address` (or `echo_server.udp_socket()`) is where; a marker
sets it for one test (`ServerConfig(port=0, udp=True)` for all)::

    @pytest.mark.echo_server(udp=True)
    def test_my_client_copes_with_loss(echo_server):
        echo_server.set_fault("new", "loss=30%")
        client = MyUdpClient(*echo_server.udp_address)

A scenario (a timeline of faults, `--scenario`) is one of them too, from a file or
from text; `echo_server.wait_for_step(N)` returns once its step N has fired::

    @pytest.fixture
    def echo_server_config():
        return ServerConfig(port=0, scenario=load_scenario("tests/flaky-net.toml"))

    def test_my_client_survives_the_outage(echo_server):
        echo_server.wait_for_step(2)  # the network is gone now
        ...

For a TLS server, mark the test: `@pytest.mark.echo_server(tls=True)` (and
`mtls=True` to require client certificates); `echo_server.client_context()` is then
an `ssl.SSLContext` that trusts the server (and presents a client certificate), and
`echo_server.connect_tls()` a connected TLS socket.
"""

from __future__ import annotations

import dataclasses
import socket
import ssl
import time
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import pytest

from tui_echo.engine.config import ServerConfig
from tui_echo.engine.feed import EventFeed
from tui_echo.events import (
    ClientClosed,
    ClientConnected,
    Event,
    ListenerChanged,
    ScenarioStep,
)
from tui_echo.faults import FaultSpec, FaultTarget
from tui_echo.faults.listener import ListenerFault, as_listener_fault
from tui_echo.plugin_tls import ClientSide
from tui_echo.server import EchoServer

__all__ = ["EchoServerFixture", "EventRecorder", "echo_server", "echo_server_config"]

TIMEOUT = 10.0
"""Seconds a wait may take before the test fails."""

E = TypeVar("E")


class EventRecorder:
    """Collects a server's events and waits for the ones a test expects."""

    def __init__(self, feed: EventFeed) -> None:
        self.feed = feed
        self.events: list[Event] = []
        """Every event seen so far, in order."""

    def poll(self) -> list[Event]:
        """Take what the server published since; return every event so far."""
        self.events.extend(self.feed.drain())
        return self.events

    def of(self, kind: type[E], **fields: Any) -> list[E]:
        """Events seen so far of one type whose fields equal `fields`."""
        self.poll()
        return [
            e
            for e in self.events
            if isinstance(e, kind)
            and all(getattr(e, name) == value for name, value in fields.items())
        ]

    def wait_for(
        self,
        kind: type[E],
        where: Callable[[E], bool] = lambda e: True,
        timeout: float = TIMEOUT,
        **fields: Any,
    ) -> E:
        """The first event of `kind` matching `fields` and `where`; waits for it.

        Fails the test if none comes within `timeout` seconds.
        """
        deadline = time.monotonic() + timeout
        while True:
            found = next((e for e in self.of(kind, **fields) if where(e)), None)
            if found is not None:
                return found
            left = deadline - time.monotonic()
            if left <= 0:
                pytest.fail(f"no {kind.__name__} event {fields} within {timeout}s")
            self.feed.wait(min(left, 0.05))


class EchoServerFixture:
    """A started tui-echo server, as a test sees it (the `echo_server` fixture)."""

    def __init__(self, server: EchoServer, tls: ClientSide | None = None) -> None:
        self.server = server
        self._tls = tls
        self.address: tuple[str, int] = server.address
        """Where it listens: (host, port)."""
        self.events = EventRecorder(server.feed)
        self._handed_out: set[int] = set()

    def connect(self, timeout: float = TIMEOUT) -> socket.socket:
        """A blocking client socket connected to the server (the test closes it)."""
        return socket.create_connection(self.address, timeout=timeout)

    def client_context(self, name: str = "test-client") -> ssl.SSLContext:
        """A client `SSLContext` that trusts the server's CA (and, under mTLS,
        presents a certificate for `name`); only for a TLS server."""
        if self._tls is None:
            raise RuntimeError("mark the test @pytest.mark.echo_server(tls=True)")
        return self._tls.client_context(self.server.tls, name)

    def connect_tls(self, timeout: float = TIMEOUT) -> ssl.SSLSocket:
        """A blocking TLS client socket, its handshake done (the test closes it)."""
        raw = self.connect(timeout)
        try:
            return self.client_context().wrap_socket(raw, server_hostname="localhost")
        except BaseException:
            raw.close()
            raise

    def next_client(self, timeout: float = TIMEOUT) -> int:
        """The id of the next client that connected (each id is handed out once)."""
        event = self.events.wait_for(
            ClientConnected, lambda e: e.client not in self._handed_out, timeout
        )
        self._handed_out.add(event.client)
        return event.client

    def kick(self, client_id: int, timeout: float = TIMEOUT) -> ClientClosed:
        """Close a client with a FIN (its pending bytes discarded); returns once it
        is closed, with its `close` event (so the client's next read sees EOF)."""
        self.server.kick(client_id)
        return self.events.wait_for(ClientClosed, timeout=timeout, client=client_id)

    def reset(self, client_id: int, timeout: float = TIMEOUT) -> ClientClosed:
        """Close a client with an RST; returns once it is closed, with its `close`
        event (so the client's next read sees the reset)."""
        self.server.reset(client_id)
        return self.events.wait_for(ClientClosed, timeout=timeout, client=client_id)

    def set_fault(self, target: FaultTarget, spec: FaultSpec | str | None) -> None:
        """A fault on a client id, on `"all"` clients or on `"new"` ones (SPEC text,
        a `FaultSpec`, or None / `"off"` to clear)."""
        self.server.set_fault(target, spec)

    def set_listener_fault(
        self, fault: ListenerFault | str | None, timeout: float = TIMEOUT
    ) -> ListenerChanged:
        """Put a listener fault in force (`"refuse"`, `"drop,for=2s"`,
        `"accept-delay=200ms"`, a `ListenerFault`, or None / `"off"`); returns once
        the door is so, with its `listener` event.

        Raises:
            ValueError: the text is not a listener fault (the message names the item).
        """
        value = as_listener_fault(fault)
        before = self.events.of(ListenerChanged)
        self.server.set_listener_fault(value)
        return self.events.wait_for(
            ListenerChanged,
            lambda e: not any(e is old for old in before),
            timeout,
        )

    @property
    def udp_address(self) -> tuple[str, int]:
        """Where it echoes UDP datagrams (the same port as TCP's); only with
        `ServerConfig(udp=True)` or `@pytest.mark.echo_server(udp=True)`.

        Raises:
            RuntimeError: the server was started without UDP.
        """
        if not self.server.config.udp:
            raise RuntimeError("this echo server has no UDP: ServerConfig(udp=True)")
        return self.address

    def udp_socket(self, timeout: float = TIMEOUT) -> socket.socket:
        """A UDP socket for the test, connected to the server's UDP port (the
        test closes it): `send` a datagram, `recv` its echo."""
        host, port = self.udp_address
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_DGRAM)
        sock.settimeout(timeout)
        sock.connect((host, port))
        return sock

    def wait_for_step(self, number: int, timeout: float = TIMEOUT) -> ScenarioStep:
        """Return once the scenario's `at` step `number` (from 1, as in its file)
        has fired (its first time, for a step that repeats), with its `scenario`
        event; the faults it set are in force by then."""
        return self.events.wait_for(ScenarioStep, timeout=timeout, step=number)


@pytest.fixture
def echo_server_config() -> ServerConfig:
    """The settings of `echo_server`: override this fixture to change them."""
    return ServerConfig(host="127.0.0.1", port=0)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "echo_server(**settings): ServerConfig settings for the echo_server fixture"
        " (udp=True also echoes UDP); tls=True speaks TLS, mtls=True also requires"
        " client certificates",
    )


@pytest.fixture
def echo_server(
    echo_server_config: ServerConfig, request: pytest.FixtureRequest
) -> Iterator[EchoServerFixture]:
    """A tui-echo server started for the test and stopped after it.

    `@pytest.mark.echo_server(udp=True)` (or `indirect` parametrization with a
    dict of settings) changes `echo_server_config`'s settings for one test;
    `tls=True` (`mtls=True`) makes it a TLS server with a client side."""
    settings: dict[str, Any] = {}
    marker = request.node.get_closest_marker("echo_server")
    if marker is not None:
        settings.update(marker.kwargs)
    param = getattr(request, "param", None)
    if isinstance(param, dict):
        settings.update(param)
    wants_tls, mtls = (
        bool(settings.pop("tls", False)),
        bool(settings.pop("mtls", False)),
    )
    tls = None
    if wants_tls or mtls:
        tls = ClientSide(mtls=mtls)
        settings["tls"] = tls.settings()
    try:  # a setting ServerConfig refuses must not leave the mTLS files behind
        if settings:
            echo_server_config = dataclasses.replace(echo_server_config, **settings)
        server = EchoServer(echo_server_config).start()
        try:
            yield EchoServerFixture(server, tls)
        finally:
            server.stop()
    finally:
        if tls is not None:
            tls.close()
