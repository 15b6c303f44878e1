"""The pytest plugin with a scenario, as another project's suite would use it
(pytester): the fixture's server started with a scenario file, a test waiting for
its steps."""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]

NETWORK = """
[[step]]
at = "0.2s"
target = "new"
fault = "delay=250ms"

[[step]]
at = "0.4s"
target = "listener"
fault = "refuse"
"""

CLIENT_TESTS = """
import socket
import time

import pytest

from tui_echo.engine.config import ServerConfig
from tui_echo.faults import load_scenario


@pytest.fixture
def echo_server_config():
    return ServerConfig(port=0, scenario=load_scenario("network.toml"))


def test_the_network_slows_then_goes(echo_server):
    step = echo_server.wait_for_step(1)
    assert step.does == "set new to delay=250ms"
    with echo_server.connect() as sock:
        started = time.monotonic()
        sock.sendall(b"x")
        assert sock.recv(1) == b"x"
        assert time.monotonic() - started >= 0.25
    echo_server.wait_for_step(2)
    with pytest.raises(ConnectionRefusedError):
        echo_server.connect(timeout=2)
"""


def test_the_fixture_runs_a_scenario_from_a_file(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\n")
    pytester.makefile(".toml", network=NETWORK)
    pytester.makepyfile(test_client=CLIENT_TESTS)
    result = pytester.runpytest_subprocess("-q")
    result.assert_outcomes(passed=1)
