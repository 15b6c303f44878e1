"""Sorting the client table by each column: the order of the rows, not a flag.

Four clients whose values put them in a different order in every column, and none
of those orders is the ids' (what a sort key made constant gives, ties going by id)
nor IN's (what a column sorting by the wrong key gives), either way round. So each
test fails if its column's sort key is made constant or replaced by IN's.
"""

from __future__ import annotations

import pytest

from tests.helpers import data_event
from tests.pilot import SIZE, until
from tui_echo.events import (
    ClientConnected,
    ClientState,
    Event,
    FaultChanged,
    KernelStats,
)
from tui_echo.ui.app import EchoApp
from tui_echo.ui.demo import FixedClock, ScriptedServer
from tui_echo.ui.widgets import ClientTable

# client: (peer, connected seconds ago, idle seconds, state, fault)
CLIENTS = {
    1: ("10.0.0.4:5", 40, 2.5, ClientState.HALF_CLOSED, "rate=2K"),
    2: ("10.0.0.1:5", 10, 5, ClientState.PAUSED, "blackhole"),
    3: ("10.0.0.2:5", 20, 3, ClientState.HALF_CLOSED, "delay=1s"),
    4: ("10.0.0.3:5", 30, 8, ClientState.OPEN, "stall"),
}
# client: (IN, OUT, PENDING now; IN and OUT at its last sending, `idle` ago)
BYTES = {
    1: (300, 50, 30, 275, 25),
    2: (100, 250, 10, 5, 225),
    3: (400, 150, 20, 397, 0),
    4: (200, 350, 40, 160, 190),
}
# IN/s = (IN now - IN then) / idle: 10, 19, 1, 5; OUT/s: 10, 5, 50, 20 (every idle
# is longer than the rate's window, so the rate runs from the last sending).

# client: (RECV-Q, SEND-Q) as the scripted server's kernel says
QUEUES = {1: (70, 900), 2: (20, 80), 3: (300, 600), 4: (500, 10)}

FIRST_CLICK = {
    # column: the order its first click gives (bytes, rates and ages biggest first)
    "peer": [2, 3, 4, 1],
    "state": [4, 2, 1, 3],  # open, paused, half-closed (ties by id)
    "in": [3, 1, 4, 2],
    "out": [4, 2, 3, 1],
    "pending": [4, 1, 3, 2],
    "rate_in": [2, 1, 4, 3],
    "rate_out": [3, 4, 1, 2],
    "age": [1, 4, 3, 2],
    "idle": [1, 3, 2, 4],  # the most recently active first
    "fault": [2, 3, 1, 4],
    "recv_q": [4, 3, 1, 2],  # the kernel's queues, biggest first
    "send_q": [1, 3, 2, 4],
}
BY_ID = [1, 2, 3, 4]
BY_IN = FIRST_CLICK["in"]


def scene(clock: FixedClock) -> list[Event]:
    """The four clients: connected, sent once (`idle` ago), counters now, fault."""
    now = clock()
    events: list[Event] = []
    for client, (peer, age, idle, state, fault) in CLIENTS.items():
        in_now, out_now, pending, in_then, out_then = BYTES[client]
        events += [
            ClientConnected(client=client, peer=peer, ts=now - age),
            data_event(client, in_then, out_then, ts=now - idle),
            # Counters and state move on with no new bytes in: not activity.
            data_event(
                client, in_now, out_now, step=0, pending=pending, state=state,
                ts=now - 0.5,
            ),
            FaultChanged(client=client, fault=fault, ts=now - 0.4),
        ]  # fmt: skip
    return sorted(events, key=lambda event: event.ts)


async def sorted_orders(column: str) -> tuple[list[int], list[int]]:
    """The rows' order after one click on the column's header, then a second."""
    clock = FixedClock()
    server = ScriptedServer(scene(clock), clock)
    server.kernel_numbers = {
        client: KernelStats(recv_q, send_q, 0, 0, 0, 10, 0)
        for client, (recv_q, send_q) in QUEUES.items()
    }
    app = EchoApp(server, clock=clock)
    async with app.run_test(size=SIZE) as pilot:
        table = app.query_one(ClientTable)
        await until(pilot, lambda: len(table.order) == 4, "the four rows")
        assert table.order == BY_ID  # the start: by id
        table.sort_by(column)
        first = list(table.order)
        table.sort_by(column)
        return first, list(table.order)


def test_the_scene_tells_every_sort_key_from_the_ids_and_from_in() -> None:
    for column, order in FIRST_CLICK.items():
        if column != "in":
            assert order not in (BY_IN, BY_IN[::-1]), column
        assert order not in (BY_ID, BY_ID[::-1]), column


@pytest.mark.parametrize("column", FIRST_CLICK)
async def test_sorting_by_a_column_orders_the_rows_by_it(column: str) -> None:
    first, second = await sorted_orders(column)
    assert first == FIRST_CLICK[column]
    assert second == FIRST_CLICK[column][::-1], "a second click reverses it"


async def test_sorting_by_id_goes_newest_first_then_oldest_first() -> None:
    # The start is by id, oldest first: a click reverses it. (A constant key would
    # order by id too, ties going by id: only IN's key can be told apart here.)
    first, second = await sorted_orders("id")
    assert first == BY_ID[::-1]
    assert second == BY_ID


@pytest.mark.parametrize("column", ["recv_q", "send_q"])
async def test_s_cycles_to_the_kernel_columns(column: str) -> None:
    clock = FixedClock()
    app = EchoApp(ScriptedServer(scene(clock), clock), clock=clock)
    async with app.run_test(size=SIZE) as pilot:
        table = app.query_one(ClientTable)
        await until(pilot, lambda: len(table.order) == 4, "the four rows")
        seen = set()
        for _ in range(len(table.visible_columns()) + 1):
            await pilot.press("s")
            seen.add(table.sort_column)
        assert column in seen


@pytest.mark.parametrize("column", ["recv_q", "send_q"])
async def test_the_kernel_columns_do_not_sort_where_there_is_no_kernel(
    column: str,
) -> None:
    # A replay says n/a in every row: there is no order to give.
    clock = FixedClock()
    server = ScriptedServer(scene(clock), clock, with_kernel=False)
    app = EchoApp(server, clock=clock)
    async with app.run_test(size=SIZE) as pilot:
        table = app.query_one(ClientTable)
        await until(pilot, lambda: len(table.order) == 4, "the four rows")
        table.sort_by(column)
        assert table.order == BY_ID
