"""What is benchmarked: the servers and the scenarios, with their metrics.

The TLS and UDP ones (issue 19) come from ``protocols.py``, in a group of their
own: a run selects them only when asked (``--tls-udp``, or by name).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from .metrics import (
    ALL_ECHOED,
    CHURN_P99,
    CONNECTED,
    CONNS,
    CPU_PER_MSG,
    FLOOD_SENT,
    FRESH,
    KIB_PER_CONN,
    KIB_PER_IDLE,
    MBPS,
    MSGS,
    P50,
    P50_EXCESS,
    P50_MS,
    P99,
    P99_EXCESS,
    P99_MS,
    RATE_DEV,
    RATE_MIB,
    RSS_AFTER,
    RSS_BEFORE,
    RSS_GROWTH,
    RSS_HELD,
    RSS_KEPT,
    RSS_PEAK,
    SECONDS,
    SERVER_CPU,
)
from .protocols import PROTOCOL_GOALS, PROTOCOL_SCENARIOS, PROTOCOL_SERVERS
from .specs import (
    BENCH_DIR,
    REFERENCE,
    Goal,
    Scenario,
    ServerSpec,
    ref_argv,
    tui_argv,
)

HEADLESS = "tui-echo-json"
UI = "tui-echo-ui"
ATTACH = "tui-echo-attach"
TUI_SERVERS = ("tui-echo-json", "tui-echo-text", "tui-echo-ui", "tui-echo-attach")

SERVERS: tuple[ServerSpec, ...] = (
    # goal 3 is "with the logger running (--log-format json to a file)"
    ServerSpec(
        "tui-echo-json", tui_argv("--no-ui", "--log-format", "json"), stdout="file"
    ),
    ServerSpec("tui-echo-text", tui_argv("--no-ui"), stdout="devnull"),
    ServerSpec("tui-echo-ui", tui_argv(), in_tmux=True),
    # the same headless server as tui-echo-json, with the monitor in a process
    # of its own, fed by the control socket's EVENTS
    ServerSpec(
        "tui-echo-attach",
        tui_argv("--no-ui", "--log-format", "json", "--control", "{control}"),
        stdout="file",
        attach=True,
    ),
    ServerSpec("asyncio-streams", ref_argv("asyncio_streams.py")),
    ServerSpec("asyncio-protocol", ref_argv("asyncio_protocol.py")),
    ServerSpec("uvloop-protocol", ref_argv("uvloop_protocol.py")),
    ServerSpec("naive-select", ref_argv("naive_select.py"), max_clients=1000),
    ServerSpec(
        "epoll-c", ("{build}/epoll_echo", "--host", "{host}", "--port", "{port}")
    ),
    *PROTOCOL_SERVERS,
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
    # timeline-1000,timeline-1000-steps,timeline-1000-none,timeline-1000-faults,
    # timeline-1000-slice)
    *(
        Scenario(name, f"1,000 conns ping every 50 ms, {what}", "ticker",
                 ("--mode", "ticker", "--conns", "1000", "--interval", "0.05"),
                 (SERVER_CPU, ALL_ECHOED, P50_MS, P99_MS), clients=1000,
                 only=FAULT_SERVERS, fresh_server=True, long=True, group=TIMELINE,
                 server_args=args)
        for name, what, args in (
            ("timeline-1000", "a scenario of faults (scenarios/timeline-1000.toml)",
             ("--scenario", str(BENCH_DIR / "scenarios" / "timeline-1000.toml"))),
            ("timeline-1000-steps",
             "the same timeline, faults doing nothing per message "
             "(scenarios/timeline-1000-steps.toml)",
             ("--scenario",
              str(BENCH_DIR / "scenarios" / "timeline-1000-steps.toml"))),
            ("timeline-1000-none", "no scenario, no fault", ()),
            ("timeline-1000-faults", "fault delay=2ms,jitter=3ms:pareto all along",
             ("--fault", "delay=2ms,jitter=3ms:pareto")),
            ("timeline-1000-slice", "fault slice=256 all along (the pings fit)",
             ("--fault", "slice=256")),
        )
    ),
    *PROTOCOL_SCENARIOS,
)  # fmt: skip


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
    *PROTOCOL_GOALS,
)  # fmt: skip
