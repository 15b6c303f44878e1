"""The cost of watching: UI-thread time of one refresh with N busy clients.

    python benchmarks/ui_refresh.py [--clients 1000] [--seconds 10] [--churn 0]

A synthetic server feeds the app what a real one would with N clients all sending:
their connects once, then one coalesced `data` event per client per refresh. With
`--churn C`, C more clients per refresh come and go within it (connect, 16 B echoed,
close), as in the benchmark's churn scenario (benchmarks/results has its rate). The
app runs headless (Textual's test driver, 160x48) with its usual refresh interval.
Two numbers per refresh:

- `refresh_view`: wall time of the app's refresh callback (drain, fold into the
  ClientBook, sort and filter the rows, update the status bar and the log);
- CPU per refresh: the process's CPU time over the run divided by the refreshes, which
  adds what Textual does afterwards (layout, painting the visible lines, compositing).

No other thread runs, so wall time here is UI-thread time, not time spent waiting for
the GIL.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import Callable

from tui_echo.engine.feed import EventFeed
from tui_echo.events import (
    ClientClosed,
    ClientConnected,
    ClientData,
    ClientState,
    Event,
    Listening,
)
from tui_echo.ui.app import EchoApp
from tui_echo.ui.cadence import REFRESH_INTERVAL


class BusyFeed(EventFeed):
    """Every drain finds one fresh data event per client (and the churn), as a live
    server's feed would under full load."""

    def __init__(self, clients: int, churn: int) -> None:
        super().__init__()
        self.clients = clients
        self.churn = churn
        self._next_id = clients + 1
        self.publish(Listening(host="127.0.0.1", port=9000))
        for client in range(1, clients + 1):
            self.publish(ClientConnected(client=client, peer=f"127.0.0.1:{client}"))
        self._totals = [0] * (clients + 1)
        self._tick = 0
        self.generating: list[float] = []
        """Seconds spent making each batch of fake events (not the app's cost)."""

    def on_backlog(self, count: int, alarm: Callable[[], None] | None) -> None:
        """No early refreshes: the batches are made inside `drain`, one per tick, so
        the app's alarm would ring at every batch and refresh back to back."""

    def drain(self, max_events: int | None = None) -> list[Event]:
        started = time.perf_counter()
        self._make_batch()
        self.generating.append(time.perf_counter() - started)
        return super().drain(max_events)

    def _make_batch(self) -> None:
        self._tick += 1
        now = time.time()
        events = []
        for client in range(1, self.clients + 1):
            step = 1000 + (client * 37 + self._tick * 101) % 50_000
            self._totals[client] += step
            total = self._totals[client]
            events.append(
                ClientData(
                    client=client,
                    bytes=step,
                    bytes_in=total,
                    bytes_out=total,
                    pending=(client * 13) % 4096,
                    state=ClientState.OPEN,
                    ts=now,
                )
            )
        self.publish_data(events)
        for client in range(self._next_id, self._next_id + self.churn):
            self.publish(ClientConnected(client=client, peer=f"127.0.0.1:{client}"))
            self.publish_close(
                ClientClosed(client=client, reason="peer closed", bytes_in=16,
                             bytes_out=16, ts=now),
                ClientData(client=client, bytes=16, bytes_in=16, bytes_out=16,
                           pending=0, state=ClientState.OPEN, ts=now),
            )  # fmt: skip
        self._next_id += self.churn


class BusyServer:
    """A live `Source` that pretends N clients connected and all keep sending (for
    the app only); its commands and kernel probes do nothing."""

    mode = "live"
    playback = None
    seed = None

    def __init__(self, clients: int, churn: int = 0) -> None:
        self.feed = BusyFeed(clients, churn)
        self.commands = self
        self.kernel = self

    def clock(self) -> float:
        return time.time()

    def mode_detail(self) -> str:
        return ""

    def set_fault(self, target: object, spec: object) -> None: ...
    def fault_activity(self, client_id: int) -> None: ...
    def watch_kernel(self, client_ids: object) -> None: ...
    def kernel_stats(self, client_id: int) -> None: ...
    def kick(self, client_id: int) -> None: ...
    def reset(self, client_id: int) -> None: ...
    def kick_all(self) -> None: ...
    def inspect(self, client_id: int, enabled: bool = True) -> None: ...
    def recent_bytes(self, client_id: int) -> bytes | None:
        return None

    def stop(self) -> None: ...


async def measure(
    clients: int, seconds: float, sort: str, churn: int
) -> dict[str, float]:
    server = BusyServer(clients, churn)
    app = EchoApp(server, refresh_interval=REFRESH_INTERVAL)
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause()
        if sort != "id":
            app.table.sort_by(sort)
        app.refresh_costs.clear()
        server.feed.generating.clear()
        cpu, wall = time.process_time(), time.monotonic()
        await asyncio.sleep(seconds)
        cpu, wall = time.process_time() - cpu, time.monotonic() - wall
        # The app drains the feed once per refresh: take the fake events' making
        # out of each refresh's time and out of the CPU total.
        made = list(server.feed.generating)[-len(app.refresh_costs) :]
        costs = sorted(c - g for c, g in zip(app.refresh_costs, made, strict=True))
        cpu -= sum(server.feed.generating)
    refreshes = len(costs)
    return {
        "refreshes": refreshes,
        "median_ms": statistics.median(costs) * 1000,
        "p95_ms": costs[int(0.95 * (refreshes - 1))] * 1000,
        "max_ms": costs[-1] * 1000,
        "cpu_per_refresh_ms": cpu / max(1, refreshes) * 1000,
        "cpu_share": cpu / wall,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--sort", default="in", help="sort column while measuring")
    parser.add_argument(
        "--churn", type=int, default=0, help="clients that come and go per refresh"
    )
    args = parser.parse_args()
    result = asyncio.run(measure(args.clients, args.seconds, args.sort, args.churn))
    churning = f", {args.churn} more coming and going each" if args.churn else ""
    print(
        f"{args.clients} busy clients{churning}, sorted by {args.sort},"
        f" {result['refreshes']}"
        f" refreshes in {args.seconds:.0f}s:\n"
        f"  refresh_view   median {result['median_ms']:.1f} ms"
        f"  p95 {result['p95_ms']:.1f} ms  max {result['max_ms']:.1f} ms\n"
        f"  CPU per refresh (all UI work) {result['cpu_per_refresh_ms']:.1f} ms;"
        f" the UI thread busy {result['cpu_share']:.0%} of the time"
    )


if __name__ == "__main__":
    main()
