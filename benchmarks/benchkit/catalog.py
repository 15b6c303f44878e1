"""What is benchmarked: the servers and the scenarios, with their metrics."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent.parent
REPO_ROOT = BENCH_DIR.parent
BUILD_DIR = BENCH_DIR / "build"
SERVERS_DIR = BENCH_DIR / "servers"
REFERENCE = "asyncio-protocol"
HEADLESS = "tui-echo-json"
UI = "tui-echo-ui"


@dataclass(frozen=True)
class ServerSpec:
    """A server the harness can start; ``{python}``/``{host}``/``{port}`` fill argv."""

    name: str
    argv: tuple[str, ...]
    cwd: Path = REPO_ROOT
    in_tmux: bool = False
    stdout_devnull: bool = False
    max_clients: int | None = None  # select() cannot go past FD_SETSIZE

    def command(self, python: str, host: str, port: int) -> list[str]:
        values = {
            "python": python,
            "host": host,
            "port": str(port),
            "build": str(BUILD_DIR),
        }
        return [arg.format(**values) for arg in self.argv]


def _tui(*extra: str) -> tuple[str, ...]:
    return (
        "{python}",
        "-m",
        "tui_echo",
        "--host",
        "{host}",
        "--port",
        "{port}",
        *extra,
    )


def _ref(script: str) -> tuple[str, ...]:
    return (
        "{python}",
        str(SERVERS_DIR / script),
        "--host",
        "{host}",
        "--port",
        "{port}",
    )


SERVERS: tuple[ServerSpec, ...] = (
    ServerSpec(
        "tui-echo-json", _tui("--no-ui", "--log-format", "json"), stdout_devnull=True
    ),
    ServerSpec("tui-echo-text", _tui("--no-ui"), stdout_devnull=True),
    ServerSpec("tui-echo-ui", _tui(), in_tmux=True),
    ServerSpec("asyncio-streams", _ref("asyncio_streams.py")),
    ServerSpec("asyncio-protocol", _ref("asyncio_protocol.py")),
    ServerSpec("uvloop-protocol", _ref("uvloop_protocol.py")),
    ServerSpec("naive-select", _ref("naive_select.py"), max_clients=1000),
    ServerSpec(
        "epoll-c", ("{build}/epoll_echo", "--host", "{host}", "--port", "{port}")
    ),
)


@dataclass(frozen=True)
class Metric:
    """One number shown in the table, read from a run's metrics by key."""

    key: str
    label: str
    higher_is_better: bool | None  # None: a count or a check, no ratio
    digits: int = 1

    @property
    def direction(self) -> str:
        if self.higher_is_better is None:
            return ""
        return "↑ higher" if self.higher_is_better else "↓ lower"


@dataclass(frozen=True)
class Scenario:
    """One load shape.  ``kind`` picks how it runs: load, idle or slowreader."""

    name: str
    title: str
    kind: str
    loadgen: tuple[str, ...]
    metrics: tuple[Metric, ...]
    clients: int = 0  # idle connections held
    only: tuple[str, ...] = ()  # if set, only these servers
    max_rounds: int | None = None  # None: every round
    fresh_server: bool = False  # own server process (memory scenarios)

    def runs_on(self, server: ServerSpec) -> bool:
        if self.only and server.name not in self.only:
            return False
        return server.max_clients is None or server.max_clients >= self.clients


P50 = Metric("p50_us", "p50 RTT µs", False)
P99 = Metric("p99_us", "p99 RTT µs", False)
MSGS = Metric("msgs_per_s", "messages/s", True, 0)
MBPS = Metric("mb_per_s", "MB/s", True)
CONNS = Metric("conns_per_s", "connections/s", True, 0)
KIB_PER_CONN = Metric("kib_per_conn", "RSS KiB/conn", False, 2)
CONNECTED = Metric("connected", "connected", None, 0)
FRESH = Metric("fresh_echo_ok", "new client echoed", None)
RSS_GROWTH = Metric("rss_growth_mib", "RSS growth MiB", False)
SECONDS = Metric("seconds", "time s", False, 2)

SLOW_SERVERS = ("tui-echo-json", "tui-echo-text", "tui-echo-ui", REFERENCE)
IDLE_10K_SERVERS = ("tui-echo-json", "tui-echo-text", REFERENCE, "epoll-c")

SCENARIOS: tuple[Scenario, ...] = (
    Scenario("pp-1x64", "ping-pong 1 conn x 64 B", "load",
             ("--mode", "pingpong", "--conns", "1", "--size", "64"), (P50, P99)),
    Scenario("pp-50x1k", "ping-pong 50 conns x 1 KiB", "load",
             ("--mode", "pingpong", "--conns", "50", "--size", "1024"), (MSGS, P99)),
    Scenario("pp-10x64k", "ping-pong 10 conns x 64 KiB", "load",
             ("--mode", "pingpong", "--conns", "10", "--size", "65536"), (MBPS,)),
    Scenario("stream-4", "stream 4 conns, 256 KiB in flight each", "load",
             ("--mode", "stream", "--conns", "4", "--inflight", "262144"), (MBPS,)),
    Scenario("churn", "churn: connect, 16 B echo, close; 8 in flight", "load",
             ("--mode", "churn", "--concurrency", "8"), (CONNS,)),
    Scenario("idle-2000", "2,000 idle connections", "idle",
             ("--mode", "idle", "--conns", "2000"), (KIB_PER_CONN, CONNECTED),
             clients=2000, max_rounds=2, fresh_server=True),
    Scenario("idle-10000", "10,000 idle connections + a new client", "idle",
             ("--mode", "idle", "--conns", "10000", "--check"),
             (KIB_PER_CONN, CONNECTED, FRESH),
             clients=10000, only=IDLE_10K_SERVERS, max_rounds=1, fresh_server=True),
    Scenario("slowreader", "slow reader: pause reading, then read all", "slowreader",
             ("--mode", "slowreader"), (RSS_GROWTH, SECONDS),
             only=SLOW_SERVERS, max_rounds=1, fresh_server=True),
)  # fmt: skip
