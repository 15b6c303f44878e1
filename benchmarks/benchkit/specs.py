"""The shapes of what is benchmarked: servers, metrics, scenarios and goals.

``catalog.py`` lists the ones of the default run, ``protocols.py`` the TLS and
UDP ones (issue 19); both build on these.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent.parent
REPO_ROOT = BENCH_DIR.parent
BUILD_DIR = BENCH_DIR / "build"
SERVERS_DIR = BENCH_DIR / "servers"
CONTROL_DIR = BUILD_DIR / "control"
TLS_DIR = BUILD_DIR / "tls"  # the certificate every TLS server serves (certs.py)
REFERENCE = "asyncio-protocol"
TCP, TLS, UDP = "tcp", "tls", "udp"  # what a server speaks, and a scenario needs


def tui_argv(*extra: str) -> tuple[str, ...]:
    """``python -m tui_echo`` on the harness's host and port, then ``extra``."""
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


def ref_argv(script: str) -> tuple[str, ...]:
    """A reference server of servers/ on the harness's host and port."""
    return (
        "{python}",
        str(SERVERS_DIR / script),
        "--host",
        "{host}",
        "--port",
        "{port}",
    )


def is_tui_name(name: str) -> bool:
    """tui-echo itself, not a reference server: tui-echo's servers are named
    tui-echo-*, and only they get a baseline twin."""
    return name.startswith("tui-echo-")


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
    proto: str = TCP  # only scenarios of the same protocol run on it
    # a group of servers selected only when asked for (--tls-udp, or by name)
    group: str = ""

    @property
    def base_name(self) -> str:
        """The catalog name: scenarios and goals select servers by it."""
        return self.base or self.name

    @property
    def is_tui(self) -> bool:
        return is_tui_name(self.base_name)

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
    proto: str = TCP  # runs only on servers that speak it
    reference: str = REFERENCE  # the ratios' denominator in the medians table

    def __post_init__(self) -> None:
        if self.server_args and not self.fresh_server:
            raise ValueError(f"{self.name}: server_args need fresh_server")

    def runs_on(self, server: ServerSpec) -> bool:
        if server.proto != self.proto:
            return False
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
