"""The pytest plugin, as another project's test suite would use it (pytester)."""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]


@pytest.fixture(autouse=True)
def quiet_ini(pytester: pytest.Pytester) -> None:
    """The other project's settings: pytest-asyncio (installed here) asks for one."""
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\n")


CLIENT_TESTS = '''
import socket
import time


class ReconnectingClient:
    """A client under test: on a broken connection it reconnects once and retries."""

    def __init__(self, host, port):
        self.address = (host, port)
        self.sock = None
        self.connects = 0

    def request(self, data):
        for attempt in range(2):
            try:
                if self.sock is None:
                    self.sock = socket.create_connection(self.address, timeout=5)
                    self.connects += 1
                self.sock.sendall(data)
                echo = self.sock.recv(len(data))
                if echo:
                    return echo
            except OSError:
                pass
            self.sock.close()
            self.sock = None
        raise ConnectionError("gave up")


def test_client_reconnects_after_a_reset(echo_server):
    client = ReconnectingClient(*echo_server.address)
    assert client.request(b"hello") == b"hello"
    first = echo_server.next_client()
    echo_server.reset(first)
    assert client.request(b"again") == b"again"
    assert echo_server.next_client() != first
    assert client.connects == 2
    client.sock.close()


def test_a_fault_slows_the_echo(echo_server):
    with echo_server.connect() as sock:
        echo_server.set_fault(echo_server.next_client(), "delay=200ms")
        started = time.monotonic()
        sock.sendall(b"x")
        assert sock.recv(1) == b"x"
        assert time.monotonic() - started >= 0.2


def test_the_events_tell_what_happened(echo_server):
    from tui_echo.events import ClientClosed

    with echo_server.connect() as sock:
        sock.sendall(b"bye")
        assert sock.recv(3) == b"bye"
    closed = echo_server.events.wait_for(ClientClosed)
    assert (closed.reason, closed.bytes_in) == ("peer closed", 3)
'''


def test_the_echo_server_fixture_serves_another_projects_tests(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(test_client=CLIENT_TESTS)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=3)


def test_its_settings_come_from_an_overridable_fixture(
    pytester: pytest.Pytester,
) -> None:
    pytester.makeconftest(
        """
import pytest
from tui_echo.engine.config import ServerConfig

@pytest.fixture
def echo_server_config():
    return ServerConfig(port=0, max_clients=1)
"""
    )
    pytester.makepyfile(
        test_limits="""
from tui_echo.events import Rejected

def test_the_second_client_is_rejected(echo_server):
    with echo_server.connect(), echo_server.connect():
        assert echo_server.events.wait_for(Rejected).reason == "max clients (1) reached"
"""
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)


def test_a_wait_that_times_out_fails_the_test_clearly(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        test_wait="""
from tui_echo.events import ClientConnected

def test_nobody_comes(echo_server):
    echo_server.events.wait_for(ClientConnected, timeout=0.2)
"""
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*no ClientConnected event {} within 0.2s*"])


def test_the_fixture_sets_a_listener_fault_at_start_and_during_a_test(
    pytester: pytest.Pytester,
) -> None:
    pytester.makeconftest(
        """
import pytest
from tui_echo.engine.config import ServerConfig
from tui_echo.faults.listener import ListenerFault

@pytest.fixture
def echo_server_config():
    return ServerConfig(port=0, listener_fault=ListenerFault.parse("refuse"))
"""
    )
    pytester.makepyfile(
        test_door="""
import errno
import socket

import pytest


def test_my_client_sees_a_refused_connect_then_gets_in(echo_server):
    with socket.socket() as client:
        assert client.connect_ex(echo_server.address) == errno.ECONNREFUSED
    event = echo_server.set_listener_fault("off")
    assert event.fault == "off"
    with echo_server.connect() as sock:
        sock.sendall(b"in")
        assert sock.recv(2) == b"in"


def test_a_bad_listener_fault_is_a_value_error_naming_it(echo_server):
    with pytest.raises(ValueError, match="refuze"):
        echo_server.set_listener_fault("refuze")
"""
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)


TLS_TESTS = """
import ssl

import pytest

from tui_echo.events import TlsEstablished


@pytest.mark.echo_server(tls=True)
def test_a_tls_client_is_echoed(echo_server):
    with echo_server.connect_tls() as sock:
        sock.sendall(b"secret")
        assert sock.recv(6) == b"secret"
    assert echo_server.events.wait_for(TlsEstablished).client_cert is None


@pytest.mark.echo_server(tls=True)
def test_the_context_trusts_the_server(echo_server):
    context = echo_server.client_context()
    assert isinstance(context, ssl.SSLContext)
    assert context.verify_mode == ssl.CERT_REQUIRED


@pytest.mark.echo_server(mtls=True)
def test_mtls_clients_present_a_certificate(echo_server):
    with echo_server.connect_tls() as sock:
        sock.sendall(b"me")
        assert sock.recv(2) == b"me"
    event = echo_server.events.wait_for(TlsEstablished)
    assert "test-client" in event.client_cert


@pytest.mark.echo_server(mtls=True)
def test_mtls_refuses_a_client_without_one(echo_server):
    context = ssl.create_default_context(cafile=echo_server.server.tls.ca_path)
    with echo_server.connect() as raw:
        with context.wrap_socket(raw, server_hostname="localhost") as sock:
            with pytest.raises((ssl.SSLError, ConnectionResetError)):
                sock.sendall(b"x")
                sock.recv(1)


def test_an_unmarked_server_is_plain(echo_server):
    with pytest.raises(RuntimeError, match="echo_server"):
        echo_server.client_context()
"""


def test_a_marked_test_gets_a_tls_server_and_a_client_context(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(test_tls_client=TLS_TESTS)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--strict-markers")
    result.assert_outcomes(passed=5)
