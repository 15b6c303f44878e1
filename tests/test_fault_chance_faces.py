"""`p=`, profiles and jitter's shapes through every face: real sockets, the book,
the control socket, the command line, Python, the monitor's dialog."""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from textual.widgets import Static

from tests.helpers import (
    COMMAND,
    DEADLINE,
    Headless,
    RunningServer,
    ask_control,
    recv_exactly,
)
from tests.pilot import Monitor, monitor
from tui_echo.book import ClientBook
from tui_echo.events import ClientConnected, FaultChanged
from tui_echo.faults import FaultSpec
from tui_echo.faults.spec import chance_generator
from tui_echo.ui.screens import ClientDetailScreen, FaultScreen

__all__ = ["monitor"]  # the fixture

StartServer = Callable[..., RunningServer]
SLACK = 2.0


def connect_and_wait(running: RunningServer) -> tuple[socket.socket, int]:
    """A client, once the server has taken it (so clients come in a known order)."""
    client = running.connect()
    client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    port = client.getsockname()[1]
    event = running.events.wait_for(
        ClientConnected, lambda e: e.peer.endswith(f":{port}")
    )
    return client, event.client


def expected_choice(seed: int, percent: float, count: int) -> list[bool]:
    spec = FaultSpec(p=percent, delay=0.001)
    rng = chance_generator(seed)
    return [spec.drawn(rng) is not None for _ in range(count)]


# ---- p=: real sockets ----------------------------------------------------------------


def test_p_chooses_the_seeds_clients_whatever_the_traffic(
    start_server: StartServer,
) -> None:
    """Chosen clients say so (a `fault` event) and get the fault without `p`;
    jitter's draws on the chosen clients' traffic change nothing of the choice."""
    running = start_server(seed=5, fault=FaultSpec.parse("p=50%,jitter=5ms"))
    clients = []
    try:
        for _ in range(16):
            client, client_id = connect_and_wait(running)
            clients.append((client, client_id))
            for other, _ in clients:  # traffic between connects: jitter draws
                other.sendall(b"xy")
                assert recv_exactly(other, 2) == b"xy"
        running.events.poll()
        chosen = {e.client for e in running.events.of(FaultChanged) if e.client}
        assert [cid in chosen for _, cid in clients] == expected_choice(5, 50, 16)
        assert 3 <= len(chosen) <= 13
        for e in running.events.of(FaultChanged):
            assert e.fault == ("p=50%,jitter=5ms" if e.client is None else "jitter=5ms")
        for _, client_id in clients:
            activity = running.server.fault_activity(client_id)
            assert (activity is not None) == (client_id in chosen)
    finally:
        for client, _ in clients:
            client.close()


def test_a_chosen_client_feels_the_fault_and_the_others_do_not(
    start_server: StartServer,
) -> None:
    running = start_server(seed=1, fault=FaultSpec.parse("p=50%,delay=300ms"))
    choice = expected_choice(1, 50, 8)
    assert True in choice
    assert False in choice
    clients = [connect_and_wait(running) for _ in range(8)]
    try:
        for (client, _), chosen in zip(clients, choice, strict=True):
            started = time.monotonic()
            client.sendall(b"ping")
            assert recv_exactly(client, 4) == b"ping"
            took = time.monotonic() - started
            if chosen:
                assert 0.3 <= took < 0.3 + SLACK
            else:
                assert took < 0.3
    finally:
        for client, _ in clients:
            client.close()


def test_fault_all_with_p_draws_each_client_now(start_server: StartServer) -> None:
    running = start_server(seed=8)
    clients = [connect_and_wait(running) for _ in range(10)]
    try:
        running.server.set_fault("all", "p=40%,stall")
        events = [
            running.events.wait_for(FaultChanged, client=cid) for _, cid in clients
        ]
        assert [e.fault == "stall" for e in events] == expected_choice(8, 40, 10)
        assert {e.fault for e in events} == {"stall", "off"}
    finally:
        for client, _ in clients:
            client.close()


def test_p_is_refused_on_one_client_in_python(echo_server: RunningServer) -> None:
    with pytest.raises(ValueError, match="fault item 'p' is for new clients"):
        echo_server.server.set_fault(1, "p=30%,delay=1s")
    echo_server.server.set_fault("new", "p=30%,delay=1s")
    echo_server.events.wait_for(FaultChanged, fault="p=30%,delay=1s")


# ---- the book: who got the default ---------------------------------------------------


def test_the_book_gives_a_drawn_default_only_to_the_clients_said() -> None:
    book = ClientBook(lambda: 10.0)
    book.apply(FaultChanged(fault="p=30%,delay=1s", ts=1.0))
    book.apply(ClientConnected(client=1, peer="127.0.0.1:1", ts=2.0))
    book.apply(ClientConnected(client=2, peer="127.0.0.1:2", ts=2.0))
    book.apply(FaultChanged(client=2, fault="delay=1s", ts=2.0))
    assert book.clients[1].fault is None
    assert book.clients[2].fault == "delay=1s"
    assert book.faults_in_play
    # A default without a draw: every new client has it, said or not (old logs).
    book.apply(FaultChanged(fault="delay=1s", ts=3.0))
    book.apply(ClientConnected(client=3, peer="127.0.0.1:3", ts=4.0))
    assert book.clients[3].fault == "delay=1s"


# ---- the control socket, the command line, the dialog --------------------------------


def test_the_control_socket_takes_p_for_new_and_refuses_it_for_one_client(
    start_server: StartServer, tmp_path: Path
) -> None:
    path = tmp_path / "echo.sock"
    running = start_server(control=str(path), seed=2)
    client, client_id = connect_and_wait(running)
    with client:
        reply = ask_control(path, f"FAULT {client_id} p=30%,delay=1s")
        assert reply[-1].startswith("ERR fault item 'p' is for new clients")
        assert ask_control(path, "FAULT new p=100%,satellite,delay=1s") == [
            "ERR fault item 'delay' is given twice"  # satellite has one
        ]
        assert ask_control(path, "FAULT new p=100%,satellite") == ["OK"]
        assert ask_control(path, f"FAULT {client_id} SATELLITE") == ["OK"]
        line = ask_control(path, "LIST")[0]
        assert line.endswith(" fault=delay=600ms")
        stats = ask_control(path, "STATS")[0]
        assert stats.endswith(" fault=p=100%,delay=600ms")
        other, other_id = connect_and_wait(running)
        with other:
            running.events.wait_for(FaultChanged, client=other_id, fault="delay=600ms")
            lines = ask_control(path, "LIST")
            assert f"id={other_id} " in lines[1]
            assert lines[1].endswith(" fault=delay=600ms")
        running.server.set_fault(client_id, "corrupt=1/1000,jitter=10ms:pareto")
        running.events.wait_for(
            FaultChanged, client=client_id, fault="jitter=10ms:pareto,corrupt=1/1000"
        )
        assert ask_control(path, f"ACTIVITY {client_id}") == [
            "delayed=0 pieces=0 discarded=0 corrupted=0",
            "OK",
        ]


@pytest.mark.parametrize(
    ("spec", "complaint"),
    [
        ("p=30", "argument --fault: fault item p=30: not a percentage"),
        ("corrupt=1/0", "argument --fault: fault item corrupt=1/0: N of 1/N"),
        ("jitter=5ms:wobbly", "argument --fault: fault item jitter=5ms:wobbly: no"),
    ],
)
def test_a_bad_new_item_on_the_command_line_exits_2_naming_it(
    spec: str, complaint: str
) -> None:
    result = subprocess.run(
        [*COMMAND, "--no-ui", "--port", "0", "--fault", spec],
        capture_output=True,
        text=True,
        timeout=DEADLINE,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 2
    assert complaint in result.stderr
    assert "Traceback" not in result.stderr


def test_a_profile_on_the_command_line_is_announced_as_its_items() -> None:
    with Headless("--fault", "3g", "--log-format", "json") as server:
        line = server.line_matching('"event":"fault"')
        assert '"fault":"delay=2s,rate=50000"' in line
        server.finish()


def test_the_help_lists_the_new_items() -> None:
    result = subprocess.run(
        [*COMMAND, "--help"], capture_output=True, text=True, timeout=DEADLINE
    )
    assert "p=PCT" in result.stdout
    assert "corrupt=1/N" in result.stdout
    assert "jitter=DURATION[:DIST]" in result.stdout


async def test_the_dialog_refuses_p_for_one_client_and_takes_a_profile(
    monitor: Monitor,
) -> None:
    client = monitor.connect()
    await monitor.row_showing(1, "open")
    await monitor.pilot.press("f")
    dialog = await monitor.screen_is(FaultScreen)
    await monitor.pilot.press("tab", *"p=30%,delay=1s", "enter")
    error = dialog.query_one("#fault-error", Static)
    message = await monitor.until(lambda: str(error.render()), "an error")
    assert "fault item 'p' is for new clients" in message
    assert monitor.app.screen is dialog
    await monitor.pilot.press("escape")
    await monitor.until(lambda: not isinstance(monitor.app.screen, FaultScreen), "gone")
    await monitor.pilot.press("f")
    await monitor.screen_is(FaultScreen)
    await monitor.pilot.press("tab", *"satellite", "enter")
    await monitor.until(
        lambda: monitor.app.book.clients[1].fault == "delay=600ms", "the profile"
    )
    client.close()


# ---- jitter's shape through a socket -------------------------------------------------


def test_a_pareto_jitter_never_echoes_before_its_floor(
    start_server: StartServer,
) -> None:
    """pareto adds at least a sixth of its DURATION: 30 round trips, none sooner
    (a uniform jitter of 60 ms would give one under 10 ms 99.6% of the time)."""
    running = start_server(seed=3)
    client, client_id = connect_and_wait(running)
    running.server.set_fault(client_id, "jitter=60ms:pareto")
    running.events.wait_for(FaultChanged, client=client_id)
    took = []
    with client:
        for i in range(30):
            started = time.monotonic()
            client.sendall(bytes([i]))
            assert recv_exactly(client, 1) == bytes([i])
            took.append(time.monotonic() - started)
    assert min(took) >= 0.010
    assert sum(took) / len(took) < 0.03 + SLACK


async def test_the_detail_screen_counts_the_bits_flipped(monitor: Monitor) -> None:
    client = monitor.connect()
    await monitor.row_showing(1, "open")
    monitor.server.set_fault(1, "corrupt=1/1")
    await monitor.row_showing(1, "corrupt")
    client.sendall(bytes(12))
    assert recv_exactly(client, 12) != bytes(12)
    await monitor.pilot.press("enter")
    await monitor.screen_is(ClientDetailScreen)
    text = await monitor.until(
        lambda: "corrupted" in monitor.screen_text() and monitor.screen_text(),
        "the flips counted",
    )
    assert "12 bits" in text
    client.close()
