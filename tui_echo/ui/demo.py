"""A scripted server and a fixed clock: the app with no sockets and no wall-clock time.

Snapshot tests and the screenshot command (`python -m tui_echo.ui.screenshots`) use
the same scene, so no real port number or time of day ever reaches a frame.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from textual.pilot import Pilot

from tui_echo.engine.feed import EventFeed
from tui_echo.events import (
    ClientClosed,
    ClientConnected,
    ClientData,
    ClientState,
    Event,
    FaultChanged,
    KernelStats,
    ListenerChanged,
    Listening,
    Rejected,
)
from tui_echo.faults import FaultActivity, FaultSpec, fault_text
from tui_echo.faults.listener import ListenerFault, listener_text
from tui_echo.sources.contract import (
    Commands,
    FaultTarget,
    KernelProbe,
    Mode,
    Playback,
    Seed,
)
from tui_echo.ui.app import EchoApp
from tui_echo.ui.graphs import TREND_SECONDS, Trend
from tui_echo.ui.widgets import ClientTable

DEMO_NOW = 1_764_410_400.0
"""The scene's fixed "now": 2025-11-29 10:00:00 UTC."""

DEMO_SIZE = (120, 36)
"""Terminal size of snapshots and screenshots."""

KiB = 1024
MiB = 1024 * 1024


class FixedClock:
    """A clock that says what it is told."""

    def __init__(self, now: float = DEMO_NOW) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class ScriptedServer:
    """A `Source` that plays a list of events to the app and records the commands
    it gets back.

    In `replay` mode it has no commands (and no playback either: the frame stays
    still); otherwise it has commands and, unless told not to, kernel probes.
    Kicks and resets are remembered, not carried out, so the scene can show a
    client in the `closing` state; `settle()` then publishes their closes. Faults are
    "set" at once: their `fault` events are published for the next refresh. The
    kernel's numbers and the faults' activity are whatever the scene says.
    """

    def __init__(
        self,
        events: list[Event],
        clock: FixedClock,
        *,
        mode: Mode = "live",
        with_kernel: bool = True,
    ) -> None:
        self.clock = clock
        self.mode: Mode = mode
        self.commands: Commands | None = self if mode != "replay" else None
        self.kernel: KernelProbe | None = self if with_kernel else None
        self.playback: Playback | None = None
        self.seed: Seed | None = None
        self.kernel_numbers: dict[int, KernelStats] = {}
        """What `kernel_stats` answers, by client."""
        self.activity: dict[int, FaultActivity] = {}
        """What `fault_activity` answers, by client."""
        self.watched: list[tuple[int, ...]] = []
        """The clients each `watch_kernel` call named, in order."""
        self.faults: list[tuple[FaultTarget, FaultSpec | None]] = []
        """Every `set_fault`, in order."""
        self.listener_faults: list[ListenerFault | None] = []
        """Every `set_listener_fault`, in order."""
        self._feed = EventFeed()
        for event in events:
            # publish() keeps data events apart (in order), so a scene can build a
            # minute of throughput history; a live server's data goes through
            # publish_data and is merged instead.
            self._feed.publish(event)
        self.kicked: list[int] = []
        self.reset_clients: list[int] = []
        self.inspected: set[int] = set()
        self.stopped = False
        self.recent: dict[int, bytes] = {}
        """What `recent_bytes` answers for inspected clients."""
        self.open_clients = {e.client for e in events if isinstance(e, ClientConnected)}
        self.open_clients -= {e.client for e in events if isinstance(e, ClientClosed)}

    @property
    def feed(self) -> EventFeed:
        return self._feed

    def kick(self, client_id: int) -> None:
        self.kicked.append(client_id)

    def reset(self, client_id: int) -> None:
        self.reset_clients.append(client_id)

    def kick_all(self) -> None:
        self.kicked.extend(sorted(self.open_clients))

    def inspect(self, client_id: int, enabled: bool = True) -> None:
        if enabled:
            self.inspected.add(client_id)
        else:
            self.inspected.discard(client_id)

    def recent_bytes(self, client_id: int) -> bytes | None:
        if client_id not in self.inspected:
            return None
        return self.recent.get(client_id, b"")

    def set_fault(self, target: FaultTarget, spec: FaultSpec | None) -> None:
        self.faults.append((target, spec))
        clients = sorted(self.open_clients) if target == "all" else [target]
        if target == "new":
            self._feed.publish(FaultChanged(fault=fault_text(spec), ts=self.clock()))
            return
        for client in clients:
            if client in self.open_clients:
                assert isinstance(client, int)
                self._feed.publish(
                    FaultChanged(client=client, fault=fault_text(spec), ts=self.clock())
                )

    def set_listener_fault(self, fault: ListenerFault | None) -> None:
        self.listener_faults.append(fault)
        text = listener_text(fault)
        self._feed.publish(ListenerChanged(fault=text, ts=self.clock()))

    def fault_activity(self, client_id: int) -> FaultActivity | None:
        return self.activity.get(client_id)

    def watch_kernel(self, client_ids: Iterable[int]) -> None:
        self.watched.append(tuple(client_ids))

    def kernel_stats(self, client_id: int) -> KernelStats | None:
        # Every client, watched or not: a snapshot must not depend on timing.
        return self.kernel_numbers.get(client_id)

    def stop(self) -> None:
        self.stopped = True

    def mode_detail(self) -> str:
        return ""

    def settle(self) -> None:
        """Carry out the remembered kicks and resets: publish their closes."""
        for client_id, reason in [(c, "kicked") for c in self.kicked] + [
            (c, "reset") for c in self.reset_clients
        ]:
            if client_id in self.open_clients:
                self.open_clients.discard(client_id)
                self._feed.publish(
                    ClientClosed(
                        client=client_id,
                        reason=reason,
                        bytes_in=0,
                        bytes_out=0,
                        ts=self.clock(),
                    )
                )
        self.kicked.clear()
        self.reset_clients.clear()


def demo_scene(now: float = DEMO_NOW) -> list[Event]:
    """A lively minute of an echo server: clients in every state, in order."""
    events: list[Event] = [Listening(host="127.0.0.1", port=9000, ts=now - 187.0)]
    peers = {
        1: "127.0.0.1:51234",
        2: "127.0.0.1:51240",
        3: "[::1]:40112",
        4: "127.0.0.1:51262",
        5: "127.0.0.1:51270",
        6: "127.0.0.1:51288",
        7: "127.0.0.1:51302",
        8: "127.0.0.1:51316",
    }
    started = {1: 75.0, 2: 64.0, 3: 58.0, 4: 61.0, 5: 33.0, 6: 20.0, 7: 12.0, 8: 47.0}
    for client, ago in sorted(started.items(), key=lambda item: -item[1]):
        events.append(ClientConnected(client=client, peer=peers[client], ts=now - ago))
    totals = dict.fromkeys(peers, 0)
    # A minute of traffic, second by second, from the busy clients.
    for second in range(60, 0, -1):
        ts = now - second + 0.5
        for client, scale in ((1, 900 * KiB), (8, 40 * KiB), (5, 12 * KiB)):
            if now - started[client] > ts:
                continue
            step = int(scale * (1.2 + math.sin(second / 6 + client)))
            totals[client] += step
            events.append(_data(client, step, totals[client], totals[client], ts))
    events += [
        FaultChanged(client=2, fault="rate=64K", ts=now - 50.0),
        FaultChanged(client=8, fault="jitter=300ms,slice=16,gap=100ms", ts=now - 20.0),
        FaultChanged(fault="delay=100ms", ts=now - 15.0),  # client 7 inherits it
        _data(
            2,
            3 * MiB,
            3 * MiB,
            2 * MiB,
            now - 30.0,
            pending=MiB,
            state=ClientState.PAUSED,
        ),
        _data(
            3,
            512 * KiB,
            512 * KiB,
            256 * KiB,
            now - 2.0,
            pending=256 * KiB,
            state=ClientState.HALF_CLOSED,
        ),
        _data(4, 1234, 1234, 1234, now - 42.0),
        _data(6, 64 * KiB, 64 * KiB, 64 * KiB, now - 5.0),
        ClientClosed(
            client=6,
            reason="kicked",
            bytes_in=80 * KiB,
            bytes_out=64 * KiB,
            discarded=16 * KiB,
            ts=now - 1.5,
        ),
        _data(7, 4096, 4096, 4096, now - 3.0),
        ClientClosed(
            client=7,
            reason="reset by peer",
            bytes_in=4096,
            bytes_out=4096,
            ts=now - 1.0,
        ),
        Rejected(
            peer="127.0.0.1:51330", reason="max clients (8) reached", ts=now - 0.8
        ),
    ]
    # A real server publishes in time order; so does the scene (sort is stable).
    return sorted(events, key=lambda event: event.ts)


def _data(
    client: int,
    step: int,
    bytes_in: int,
    bytes_out: int,
    ts: float,
    *,
    pending: int = 0,
    state: ClientState = ClientState.OPEN,
) -> ClientData:
    return ClientData(
        client=client,
        bytes=step,
        bytes_in=bytes_in,
        bytes_out=bytes_out,
        pending=pending,
        state=state,
        ts=ts,
    )


DEMO_KERNEL = {
    1: KernelStats(
        recv_q=0, send_q=46_080, rtt_us=48, rttvar_us=12, retransmits=0, cwnd=10, lost=0
    ),
    2: KernelStats(
        recv_q=2_621_440,
        send_q=0,
        rtt_us=61,
        rttvar_us=20,
        retransmits=0,
        cwnd=10,
        lost=0,
    ),
    3: KernelStats(
        recv_q=0,
        send_q=655_360,
        rtt_us=1_850,
        rttvar_us=900,
        retransmits=3,
        cwnd=7,
        lost=1,
    ),
    4: KernelStats(
        recv_q=0, send_q=0, rtt_us=55, rttvar_us=27, retransmits=0, cwnd=10, lost=0
    ),
    5: KernelStats(
        recv_q=0, send_q=0, rtt_us=52, rttvar_us=16, retransmits=0, cwnd=10, lost=0
    ),
    8: KernelStats(
        recv_q=0, send_q=16, rtt_us=240, rttvar_us=80, retransmits=0, cwnd=10, lost=0
    ),
}
"""The kernel's view of the scene's clients (RECV-Q, SEND-Q, TCP_INFO)."""

DEMO_ACTIVITY = {
    2: FaultActivity(delayed=0, pieces=1_536, discarded=0),
    8: FaultActivity(delayed=2_457_600, pieces=153_600, discarded=0),
}
"""What the scene's faults have done."""

DEMO_RECENT = (
    b"GET /status HTTP/1.1\r\nHost: localhost:9000\r\nUser-Agent: probe/1.0\r\n\r\n"
    b"\x1b[31mred alert\x1b[0m \x00\x01\x02\xff\xfe binary tail\n"
)
"""Bytes client 1 "sent", escape sequences included: shown, never obeyed."""

DEMO_RECENT_8 = (
    b'{"op":"ping","seq":41}\n{"op":"ping","seq":42}\n'
    b"\x1b]0;you have been pwned\x07\r\n"
)
"""Bytes client 8 "sent": a title-setting escape that must not reach the terminal."""


def make_demo_app(server: ScriptedServer | None = None) -> EchoApp:
    """The app over the demo scene (or `server`, one from `make_demo_server`), with
    its fixed clock and no refresh timer ticks (one refresh at mount, then one per
    key: an hour between ticks keeps every frame still)."""
    if server is None:
        server = make_demo_server()
    app = EchoApp(server, clock=server.clock, refresh_interval=3600.0)
    # A still clock samples no second: the charts get the scene's seconds instead.
    app.trend = scene_trend(demo_scene(server.clock.now), server.clock.now)
    return app


def scene_trend(events: Iterable[Event], now: float) -> Trend:
    """The seconds of a scene as the app's `Trend` would have sampled them."""
    trend = Trend()
    ordered = sorted(events, key=lambda e: e.ts)
    if not ordered:
        return trend
    seen: dict[int, tuple[int, int]] = {}
    per_second: dict[int, list[int]] = {}
    clients: dict[int, int] = {}
    connected = 0
    for event in ordered:
        second = int(event.ts)
        if isinstance(event, ClientConnected):
            connected += 1
        elif isinstance(event, ClientClosed):
            connected -= 1
        elif isinstance(event, ClientData):
            before_in, before_out = seen.get(event.client, (0, 0))
            counts = per_second.setdefault(second, [0, 0])
            counts[0] += event.bytes_in - before_in
            counts[1] += event.bytes_out - before_out
            seen[event.client] = (event.bytes_in, event.bytes_out)
        clients[second] = connected
    first, last = int(ordered[0].ts), int(now)
    connected = 0
    for second in range(max(first, last - TREND_SECONDS), last):
        grown = per_second.get(second, [0, 0])
        connected = clients.get(second, connected)
        trend.rate_in.append(grown[0])
        trend.rate_out.append(grown[1])
        trend.clients.append(connected)
    return trend


def make_demo_server(mode: Mode = "live") -> ScriptedServer:
    """The scripted server of the demo scene, with its kernel numbers and faults."""
    clock = FixedClock()
    # A replay has no kernel to ask: its queue columns say n/a and give way.
    server = ScriptedServer(
        demo_scene(clock.now), clock, mode=mode, with_kernel=mode != "replay"
    )
    server.recent[1] = DEMO_RECENT
    server.recent[8] = DEMO_RECENT_8
    server.kernel_numbers.update(DEMO_KERNEL)
    server.activity.update(DEMO_ACTIVITY)
    return server


async def show_closing_client(pilot: Pilot[None]) -> None:
    """Kick client 5 so the scene has a row in the `closing` state."""
    await pilot.pause()
    pilot.app.query_one(ClientTable).select_client(5)
    await pilot.press("k")
    pilot.app.query_one(ClientTable).select_client(1)
    await pilot.pause()
