"""What is benchmarked: the servers and the scenarios, with their metrics."""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent.parent
REPO_ROOT = BENCH_DIR.parent
BUILD_DIR = BENCH_DIR / "build"
SERVERS_DIR = BENCH_DIR / "servers"
REFERENCE = "asyncio-protocol"
HEADLESS = "tui-echo-json"
UI = "tui-echo-ui"
ATTACH = "tui-echo-attach"
TUI_SERVERS = ("tui-echo-json", "tui-echo-text", "tui-echo-ui", "tui-echo-attach")
CONTROL_DIR = BUILD_DIR / "control"


@dataclass(frozen=True)
class ServerSpec:
    """A server the harness can start; ``{python}``/``{host}``/``{port}`` fill argv."""

    name: str
    argv: tuple[str, ...]
    cwd: Path = REPO_ROOT
    in_tmux: bool = False
    # where stdout goes: "log" (with stderr), "devnull", or "file" (a file of its
    # own under build/logs/, truncated at each start: a real disk write per line)
    stdout: str = "log"
    max_clients: int | None = None  # select() cannot go past FD_SETSIZE
    env: tuple[tuple[str, str], ...] = ()  # added to the harness's environment
    base: str = ""  # for a baseline twin: the name of the server it mirrors
    # also run the monitor, `python -m tui_echo attach {control}`, in tmux
    attach: bool = False

    @property
    def base_name(self) -> str:
        """The catalog name: scenarios and goals select servers by it."""
        return self.base or self.name

    @property
    def is_tui(self) -> bool:
        return self.base_name in TUI_SERVERS

    @property
    def control_path(self) -> Path:
        """Where this server's control socket goes (one per server, twins apart)."""
        return CONTROL_DIR / f"{self.name}.sock"

    def command(self, python: str, host: str, port: int) -> list[str]:
        values = {
            "python": python,
            "host": host,
            "port": str(port),
            "build": str(BUILD_DIR),
            "control": str(self.control_path),
        }
        return [arg.format(**values) for arg in self.argv]

    def attach_command(self, python: str) -> list[str]:
        """The monitor's command line, for a server with ``attach``."""
        return [python, "-m", "tui_echo", "attach", str(self.control_path)]


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
    # goal 3 is "with the logger running (--log-format json to a file)"
    ServerSpec("tui-echo-json", _tui("--no-ui", "--log-format", "json"), stdout="file"),
    ServerSpec("tui-echo-text", _tui("--no-ui"), stdout="devnull"),
    ServerSpec("tui-echo-ui", _tui(), in_tmux=True),
    # the same headless server as tui-echo-json, with the monitor in a process
    # of its own, fed by the control socket's EVENTS
    ServerSpec(
        "tui-echo-attach",
        _tui("--no-ui", "--log-format", "json", "--control", "{control}"),
        stdout="file",
        attach=True,
    ),
    ServerSpec("asyncio-streams", _ref("asyncio_streams.py")),
    ServerSpec("asyncio-protocol", _ref("asyncio_protocol.py")),
    ServerSpec("uvloop-protocol", _ref("uvloop_protocol.py")),
    ServerSpec("naive-select", _ref("naive_select.py"), max_clients=1000),
    ServerSpec(
        "epoll-c", ("{build}/epoll_echo", "--host", "{host}", "--port", "{port}")
    ),
)


def baseline_twin(spec: ServerSpec, rev: str, package_dir: Path) -> ServerSpec:
    """The same server run from an exported tui_echo/ of another revision.

    ``python -m`` puts the working directory first on sys.path, ahead of the
    venv's editable install; PYTHONPATH says the same, in case it ever did not.
    """
    return dataclasses.replace(
        spec,
        name=f"{spec.name}@{rev}",
        cwd=package_dir,
        env=(("PYTHONPATH", str(package_dir)),),
        base=spec.name,
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
    """One load shape.  ``kind`` picks how it runs: load, idle, slowreader, flood
    or ticker."""

    name: str
    title: str
    kind: str
    loadgen: tuple[str, ...]
    metrics: tuple[Metric, ...]
    clients: int = 0  # connections open at once
    only: tuple[str, ...] = ()  # if set, only these servers (catalog names)
    max_rounds: int | None = None  # None: every round
    fresh_server: bool = False  # own server process (memory and fault scenarios)
    # appended to a tui-echo server's command (never to a reference server's);
    # needs its own process, so only with fresh_server
    server_args: tuple[str, ...] = ()
    warmup: float | None = None  # None: the run's --warmup
    long: bool = False  # measured for Settings.long_duration, not --duration
    # a group of scenarios run only when asked for (--curve, or by name), never
    # in a run that names no scenarios
    group: str = ""
    # sample the server's VmRSS: settled before the loadgen starts, peak while
    # the idle clients are held (load scenarios with --idle)
    sample_rss: bool = False

    def __post_init__(self) -> None:
        if self.server_args and not self.fresh_server:
            raise ValueError(f"{self.name}: server_args need fresh_server")

    def runs_on(self, server: ServerSpec) -> bool:
        if self.only and server.base_name not in self.only:
            return False
        return server.max_clients is None or server.max_clients >= self.clients

    def args_for(self, server: ServerSpec) -> tuple[str, ...]:
        """Extra server arguments for this server (tui-echo only)."""
        return self.server_args if server.is_tui else ()

    @property
    def idle(self) -> int:
        """The ``--idle N`` the loadgen is given (0 without)."""
        if "--idle" not in self.loadgen:
            return 0
        return int(self.loadgen[self.loadgen.index("--idle") + 1])


def fault_items(server_args: tuple[str, ...]) -> dict[str, str]:
    """The items of a ``--fault SPEC`` among server arguments: delay -> 20ms, ..."""
    if "--fault" not in server_args:
        return {}
    spec = server_args[server_args.index("--fault") + 1]
    return dict(item.partition("=")[::2] for item in spec.split(","))


_DURATION = re.compile(r"^([0-9.]+)(ms|s|m)?$")
_SIZE = re.compile(r"^([0-9.]+)([KMG]?)$", re.IGNORECASE)


def duration_ms(text: str) -> float:
    """A SPEC.md DURATION (``250ms``, ``1.5s``, ``2m``, seconds) in milliseconds."""
    match = _DURATION.match(text.strip())
    if not match:
        raise ValueError(f"not a duration: {text!r}")
    scale = {"ms": 1.0, "s": 1000.0, "m": 60000.0, None: 1000.0}[match[2]]
    return float(match[1]) * scale


def size_bytes(text: str) -> float:
    """A SPEC.md SIZE (bytes, ``64K``, ``1M``: powers of 1024) in bytes."""
    match = _SIZE.match(text.strip())
    if not match:
        raise ValueError(f"not a size: {text!r}")
    power = " KMG".index(match[2].upper() or " ")
    return float(match[1]) * float(1 << (10 * power))


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
CHURN_P99 = Metric("p99_us", "p99 connect+echo µs", False)
RSS_BEFORE = Metric("rss_before_mib", "RSS before MiB", None)
RSS_PEAK = Metric("rss_peak_mib", "peak RSS MiB", False)
RSS_AFTER = Metric("rss_after_mib", "RSS after close MiB", False)
RSS_KEPT = Metric("rss_kept_mib", "after - before MiB", False)
FLOOD_SENT = Metric("sent_mib", "clients sent MiB", None)
P50_EXCESS = Metric("p50_excess_ms", "p50 RTT - delay ms", False, 2)
P99_EXCESS = Metric("p99_excess_ms", "p99 RTT - delay ms", False, 2)
SERVER_CPU = Metric("server_cpu_pct", "server CPU %", False)
ALL_ECHOED = Metric("all_echoed", "every echo back", None)
P50_MS = Metric("p50_ms", "p50 RTT ms", False, 2)
P99_MS = Metric("p99_ms", "p99 RTT ms", False, 2)
RATE_MIB = Metric("mib_per_s", "MiB/s (2^20)", None, 3)
RATE_DEV = Metric("rate_dev_pct", "deviation from rate %", None, 1)
# server CPU time per echoed message, over the loadgen's measured window only
CPU_MSG = Metric("server_us_per_msg", "server CPU µs/msg", False, 2)
CPU_MSG_USER = Metric("server_user_us_per_msg", "server user µs/msg", False, 2)
CPU_MSG_SYS = Metric("server_sys_us_per_msg", "server system µs/msg", False, 2)
CPU_PER_MSG = (CPU_MSG, CPU_MSG_USER, CPU_MSG_SYS)
# the scaling curve: RSS growth while the idle clients are held, and per idle
# client against the same server's 0-idle run in the same round (curve.py)
RSS_HELD = Metric("rss_growth_mib", "RSS growth while held MiB", None, 1)
KIB_PER_IDLE = Metric("kib_per_idle", "RSS KiB/idle client", False, 2)

# slowreader and flood leave out tui-echo-attach: its goals are the load ones,
# and each of these runs costs seconds
SLOW_SERVERS = ("tui-echo-json", "tui-echo-text", "tui-echo-ui", REFERENCE)
IDLE_10K_SERVERS = ("tui-echo-json", "tui-echo-text", REFERENCE, "epoll-c")
IDLE_LOAD_SERVERS = (*TUI_SERVERS, REFERENCE, "uvloop-protocol", "epoll-c")
FLOOD_SERVERS = SLOW_SERVERS
FAULT_SERVERS = (HEADLESS,)
# the scaling curve (issue 18): ping-pong 50 x 1 KiB with N idle clients held,
# a fresh server per run (a clean RSS baseline, no leftovers of 50,000 closes)
CURVE = "curve"
TIMELINE = "timeline"
CURVE_IDLE = (0, 1000, 10_000, 50_000)
CURVE_SERVERS = (HEADLESS, UI, REFERENCE, "uvloop-protocol")
CURVE_WARMUP = 1.0


def _curve(idle: int) -> Scenario:
    held = ("--idle", str(idle)) if idle else ()
    return Scenario(
        f"curve-idle{idle}",
        f"curve: ping-pong 50 conns x 1 KiB + {idle:,} idle",
        "load",
        ("--mode", "pingpong", "--conns", "50", "--size", "1024", *held),
        (MSGS, P99, *CPU_PER_MSG, RSS_HELD, *((KIB_PER_IDLE,) if idle else ())),
        clients=50 + idle,
        only=CURVE_SERVERS,
        fresh_server=True,
        group=CURVE,
        sample_rss=True,
        # a fresh process on a CPU that was idle: a second of load first, so no
        # point measures a cold server (or CPU) and the others one that has
        # been busy accepting its idle clients for seconds
        warmup=CURVE_WARMUP,
    )


SCENARIOS: tuple[Scenario, ...] = (
    Scenario("pp-1x64", "ping-pong 1 conn x 64 B", "load",
             ("--mode", "pingpong", "--conns", "1", "--size", "64"),
             (P50, P99, *CPU_PER_MSG)),
    Scenario("pp-50x1k", "ping-pong 50 conns x 1 KiB", "load",
             ("--mode", "pingpong", "--conns", "50", "--size", "1024"),
             (MSGS, P99, *CPU_PER_MSG)),
    Scenario("pp-10x64k", "ping-pong 10 conns x 64 KiB", "load",
             ("--mode", "pingpong", "--conns", "10", "--size", "65536"),
             (MBPS, *CPU_PER_MSG)),
    Scenario("stream-4", "stream 4 conns, 256 KiB in flight each", "load",
             ("--mode", "stream", "--conns", "4", "--inflight", "262144"), (MBPS,)),
    Scenario("churn", "churn: connect, 16 B echo, close; 8 in flight", "load",
             ("--mode", "churn", "--concurrency", "8"), (CONNS,)),
    # load while 1,000 other connections sit idle (each echoed one 16 B ping)
    Scenario("pp-50x1k-idle1000", "ping-pong 50 conns x 1 KiB + 1,000 idle", "load",
             ("--mode", "pingpong", "--conns", "50", "--size", "1024",
              "--idle", "1000"), (MSGS, P99, *CPU_PER_MSG),
             clients=1050, only=IDLE_LOAD_SERVERS),
    Scenario("churn-idle1000", "churn, 8 in flight + 1,000 idle", "load",
             ("--mode", "churn", "--concurrency", "8", "--idle", "1000"),
             (CONNS, CHURN_P99), clients=1008, only=IDLE_LOAD_SERVERS),
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
    # memory: 1,000 clients that send 4 MiB each and never read (--max-memory)
    Scenario("flood-1000", "flood: 1,000 conns send 4 MiB each, never read", "flood",
             ("--mode", "flood", "--conns", "1000", "--total", str(4 << 20)),
             (RSS_BEFORE, RSS_PEAK, RSS_AFTER, RSS_KEPT, FLOOD_SENT),
             clients=1000, only=FLOOD_SERVERS, max_rounds=1, fresh_server=True,
             long=True),
    # faults (SPEC.md "Faults"); tui-echo only, the reference has no --fault
    Scenario("fault-delay20", "fault delay=20ms: ping-pong 100 conns x 1 KiB",
             "load", ("--mode", "pingpong", "--conns", "100", "--size", "1024"),
             (P50_EXCESS, P99_EXCESS), clients=100, only=FAULT_SERVERS,
             fresh_server=True, server_args=("--fault", "delay=20ms")),
    Scenario("fault-jitter-idle1000",
             "fault delay=100ms,jitter=50ms: 1,000 conns ping once a second",
             "ticker", ("--mode", "ticker", "--conns", "1000", "--interval", "1"),
             (SERVER_CPU, ALL_ECHOED, P50_MS, P99_MS), clients=1000,
             only=FAULT_SERVERS, max_rounds=3, fresh_server=True, long=True,
             server_args=("--fault", "delay=100ms,jitter=50ms")),
    # 1.5 s warm-up: the first second's burst allowance is spent before measuring
    Scenario("fault-rate1m", "fault rate=1M: 1 conn streaming", "load",
             ("--mode", "stream", "--conns", "1"), (RATE_MIB, RATE_DEV),
             only=FAULT_SERVERS, max_rounds=3, fresh_server=True, long=True,
             warmup=1.5, server_args=("--fault", "rate=1M")),
    *(_curve(idle) for idle in CURVE_IDLE),
    # issue 20: a timeline of faults under 1,000 pinging clients, against the same
    # load without one, and with its faults all along; run by name (--scenarios
    # timeline-1000,timeline-1000-none,timeline-1000-faults)
    *(
        Scenario(name, f"1,000 conns ping every 50 ms, {what}", "ticker",
                 ("--mode", "ticker", "--conns", "1000", "--interval", "0.05"),
                 (SERVER_CPU, ALL_ECHOED, P50_MS, P99_MS), clients=1000,
                 only=FAULT_SERVERS, fresh_server=True, long=True, group=TIMELINE,
                 server_args=args)
        for name, what, args in (
            ("timeline-1000", "a scenario of faults (scenarios/timeline-1000.toml)",
             ("--scenario", str(BENCH_DIR / "scenarios" / "timeline-1000.toml"))),
            ("timeline-1000-none", "no scenario, no fault", ()),
            ("timeline-1000-faults", "fault delay=2ms,jitter=3ms:pareto all along",
             ("--fault", "delay=2ms,jitter=3ms:pareto")),
        )
    ),
)  # fmt: skip


@dataclass(frozen=True)
class Goal:
    """A performance target: a metric of ``server`` in ``scenario``, as a value or
    as the per-round ratio to ``versus``, compared with ``target``."""

    group: str
    scenario: str
    key: str
    label: str
    server: str
    versus: str | None  # None: the value itself
    op: str  # ">=", "<=", "<", "abs<=" (|value| at most), "all" (true every round)
    target: float = 0.0
    unit: str = "x"
    # the ratio's denominator comes from this scenario (``versus``'s run of it in
    # the same round) instead of ``scenario``: N idle clients against none
    base_scenario: str | None = None

    def meets(self, value: float | bool) -> bool:
        if self.op == "all":
            return bool(value)
        number = float(value)
        return {
            ">=": number >= self.target,
            "<=": number <= self.target,
            "<": number < self.target,
            "abs<=": abs(number) <= self.target,
        }[self.op]

    def worst(self, values: list[float | bool]) -> float | bool:
        """The round that is furthest from meeting the target."""
        if self.op == "all":
            return all(values)
        if self.op == ">=":
            return min(values)
        if self.op == "abs<=":
            return max(values, key=lambda v: abs(float(v)))
        return max(values)

    @property
    def target_text(self) -> str:
        if self.op == "all":
            return "every round"
        sign = {">=": "≥", "<=": "≤", "<": "<", "abs<=": "±"}[self.op]
        unit = self.unit if self.unit in ("x", "%") else " " + self.unit
        return f"{sign} {self.target:g}{unit}"


GOAL_1 = "Goal 1, the monitor's cost: tui-echo-ui relative to tui-echo-json"
GOAL_1_ATTACH = (
    "Goal 1, second comparison: attach mode relative to headless, "
    "tui-echo-attach / tui-echo-json"
)
GOAL_3 = "Goal 3, headless vs asyncio: tui-echo-json / asyncio-protocol"
GOAL_FAULTS = "Faults: tui-echo-json with --fault"
GOAL_IDLE = (
    "Issue 18: idle clients cost nothing, and the monitor at 10,000 clients "
    "(the scaling curve, --curve)"
)


def _ui(scenario: str, key: str, label: str, op: str, target: float) -> Goal:
    return Goal(GOAL_1, scenario, key, label, UI, HEADLESS, op, target)


def _attach(goal: Goal) -> Goal:
    """A goal-1 load target, for the monitor attached from another process."""
    return dataclasses.replace(goal, group=GOAL_1_ATTACH, server=ATTACH)


# goal 1's load targets: the monitor may cost at most this much, wherever it runs
_MONITOR_LOAD: tuple[Goal, ...] = (
    _ui("pp-50x1k", "msgs_per_s", "messages/s", ">=", 0.95),
    _ui("pp-50x1k", "p99_us", "p99 RTT", "<=", 1.5),
    _ui("pp-50x1k-idle1000", "msgs_per_s", "messages/s", ">=", 0.95),
    _ui("pp-50x1k-idle1000", "p99_us", "p99 RTT", "<=", 1.5),
    _ui("churn-idle1000", "conns_per_s", "connections/s", ">=", 0.95),
    _ui("churn-idle1000", "p99_us", "p99 connect+echo", "<=", 1.5),
    _ui("stream-4", "mb_per_s", "MB/s", ">=", 0.95),
)


def _vs_asyncio(scenario: str, key: str, label: str, op: str, target: float) -> Goal:
    return Goal(GOAL_3, scenario, key, label, HEADLESS, REFERENCE, op, target)


GOALS: tuple[Goal, ...] = (
    *_MONITOR_LOAD,
    Goal(GOAL_1, "idle-2000", "kib_per_conn", "RSS per idle connection, with UI",
         UI, None, "<=", 4, "KiB"),
    Goal(GOAL_1, "slowreader", "rss_growth_mib", "slow-reader RSS growth, with UI",
         UI, None, "<=", 8, "MiB"),
    *(_attach(goal) for goal in _MONITOR_LOAD),
    _vs_asyncio("pp-50x1k", "msgs_per_s", "messages/s", ">=", 1.2),
    _vs_asyncio("pp-50x1k", "p99_us", "p99 RTT", "<=", 1.0),
    _vs_asyncio("pp-10x64k", "mb_per_s", "MB/s", ">=", 1.0),
    _vs_asyncio("churn", "conns_per_s", "connections/s", ">=", 1.2),
    Goal(GOAL_FAULTS, "fault-delay20", "p50_excess_ms", "p50 RTT - 20 ms",
         HEADLESS, None, "<=", 1, "ms"),
    Goal(GOAL_FAULTS, "fault-delay20", "p99_excess_ms", "p99 RTT - 20 ms",
         HEADLESS, None, "<=", 5, "ms"),
    Goal(GOAL_FAULTS, "fault-jitter-idle1000", "server_cpu_pct", "server CPU",
         HEADLESS, None, "<", 20, "%"),
    Goal(GOAL_FAULTS, "fault-jitter-idle1000", "all_echoed", "every echo came back",
         HEADLESS, None, "all"),
    Goal(GOAL_FAULTS, "fault-rate1m", "rate_dev_pct", "MiB/s vs 1 MiB/s",
         HEADLESS, None, "abs<=", 5, "%"),
    Goal(GOAL_FAULTS, "timeline-1000", "server_cpu_pct",
         "server CPU with a scenario / without", HEADLESS, HEADLESS, "<=", 1.1,
         base_scenario="timeline-1000-none"),
    # same server, same round: with 10,000 idle clients held / with none
    Goal(GOAL_IDLE, "curve-idle10000", "msgs_per_s",
         "messages/s, tui-echo-json: 10,000 idle / none", HEADLESS, HEADLESS,
         ">=", 0.95, base_scenario="curve-idle0"),
    Goal(GOAL_IDLE, "curve-idle10000", "msgs_per_s",
         "messages/s, tui-echo-ui: 10,000 idle / none", UI, UI,
         ">=", 0.95, base_scenario="curve-idle0"),
    Goal(GOAL_IDLE, "curve-idle10000", "msgs_per_s",
         "messages/s with 10,000 idle, tui-echo-ui / tui-echo-json", UI, HEADLESS,
         ">=", 0.95),
    Goal(GOAL_IDLE, "curve-idle10000", "p99_us",
         "p99 RTT with 10,000 idle, tui-echo-ui / tui-echo-json", UI, HEADLESS,
         "<=", 1.5),
    Goal(GOAL_IDLE, "curve-idle10000", "kib_per_idle",
         "RSS per idle client, with UI", UI, None, "<=", 2, "KiB"),
)  # fmt: skip
