"""Benchmark tui-echo against reference echo servers and print a Markdown table.

    python benchmarks/run.py            # full run, 5 rounds, about 15 minutes
    python benchmarks/run.py --quick    # one short round, about 2 minutes
    python benchmarks/run.py --servers tui-echo-json,asyncio-protocol --scenarios churn
    python benchmarks/run.py --baseline HEAD~3   # also the tui-echo of HEAD~3
    python benchmarks/run.py --curve    # the scaling curve: 0 to 50,000 idle clients
    python benchmarks/run.py --tls-udp  # issue 19: TLS and UDP against asyncio's

See benchmarks/README.md for the method.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import os
import platform
import shlex
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from benchkit.build import build_c_programs, export_baseline
from benchkit.catalog import (
    CURVE,
    CURVE_SERVERS,
    CURVE_WARMUP,
    SCENARIOS,
    SERVERS,
    baseline_twin,
)
from benchkit.certs import CertificateError, ensure_certificates
from benchkit.curve import add_idle_rss, caption, curve_svg
from benchkit.limits import MARGIN, Nofile, raise_nofile
from benchkit.procs import (
    TMUX_SOCKET,
    AttachedServer,
    Server,
    ServerProcess,
    TmuxServer,
    free_port,
    port_accepts,
    udp_echoes,
    wait_until_serving,
)
from benchkit.protocols import GROUP as TLS_UDP
from benchkit.protocols import protocol_notes
from benchkit.readings import Record
from benchkit.report import render
from benchkit.runner import Settings, run_scenario
from benchkit.specs import (
    BENCH_DIR,
    BUILD_DIR,
    CONTROL_DIR,
    REPO_ROOT,
    TCP,
    TLS,
    UDP,
    Scenario,
    ServerSpec,
)
from benchkit.tables import Baseline

Named = TypeVar("Named", ServerSpec, Scenario)
T = TypeVar("T")
HOST = "127.0.0.1"
START_DEADLINE = 10.0


@dataclass
class Context:
    """Everything one harness run shares: settings, pinning, results so far."""

    settings: Settings
    python: str
    server_prefix: tuple[str, ...]
    records: list[Record] = field(default_factory=list)
    # launch (server name, plus any extra arguments) -> why it cannot start;
    # it is not tried again
    broken: dict[str, str] = field(default_factory=dict)
    exits: dict[str, list[str]] = field(default_factory=dict)
    # server name -> seconds from the monitor's launch to its first screen
    monitor_starts: dict[str, list[float]] = field(default_factory=dict)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="1 round, short durations")
    parser.add_argument("--rounds", type=int, help="rounds (default 5, quick 1)")
    parser.add_argument(
        "--servers",
        help="comma-separated subset of: " + ", ".join(s.name for s in SERVERS),
    )
    parser.add_argument(
        "--scenarios",
        help="comma-separated subset of: "
        + ", ".join(s.name for s in SCENARIOS)
        + f" (default: all but those of a group: {CURVE}, timeline, {TLS_UDP})",
    )
    parser.add_argument(
        "--curve",
        action="store_true",
        help="the scaling curve: scenarios curve-idle0, -idle1000, -idle10000 and "
        "-idle50000 (ping-pong 50 x 1 KiB with that many idle clients held, a fresh "
        "server per run) on " + ", ".join(CURVE_SERVERS) + "; --scenarios and "
        "--servers narrow it; writes results/curve.{md,json,svg} (--out to rename)",
    )
    parser.add_argument(
        "--tls-udp",
        action="store_true",
        help="TLS and UDP (issue 19): the scenarios tls-pp-50x1k, tls-pp-10x64k, "
        "tls-pp-50x1k-idle1000 and udp-pp-1k on tui-echo over TLS (headless and "
        "UI) and UDP against asyncio's TLS and UDP echo; --scenarios and --servers "
        "narrow it",
    )
    parser.add_argument(
        "--duration",
        type=float,
        help="measured seconds per load run (default 2, quick 0.5)",
    )
    parser.add_argument(
        "--warmup",
        type=float,
        help="warm-up seconds per load run (default 0.2, quick 0.1)",
    )
    parser.add_argument(
        "--python", default=sys.executable, help="interpreter for the Python servers"
    )
    parser.add_argument(
        "--out",
        help="output name in benchmarks/results/ (default latest, quick: quick)",
    )
    parser.add_argument(
        "--no-pin", action="store_true", help="do not pin processes to CPUs"
    )
    parser.add_argument(
        "--baseline",
        metavar="REV",
        help="also run the selected tui-echo servers from this git revision's "
        "tui_echo/ (as NAME@SHORTREV), and report this build relative to it",
    )
    args = parser.parse_args(argv)
    if args.out is not None and (not args.out or Path(args.out).name != args.out):
        parser.error(f"--out: a name for a file in results/, not {args.out!r}")
    return args


def pick(names: str | None, catalog: tuple[Named, ...], what: str) -> list[Named]:
    """The catalog entries named in a comma-separated list (all if None, but
    for scenarios that belong to a group: those run only when named)."""
    if not names:
        return [item for item in catalog if not getattr(item, "group", "")]
    by_name = {item.name: item for item in catalog}
    wanted = [n.strip() for n in names.split(",") if n.strip()]
    unknown = [n for n in wanted if n not in by_name]
    if unknown:
        sys.exit(
            f"unknown {what}: {', '.join(unknown)} (choose from {', '.join(by_name)})"
        )
    return [by_name[n] for n in wanted]


def default_servers(scenarios: list[Scenario]) -> list[ServerSpec]:
    """The servers of a run that names none: every TCP server of no group (as
    ever) if a TCP scenario is selected, and each server of a group (TLS, UDP)
    that a selected scenario runs on."""
    tcp = any(sc.proto == TCP for sc in scenarios)
    return [
        spec
        for spec in SERVERS
        if (tcp and not spec.group)
        or (spec.group and any(sc.runs_on(spec) for sc in scenarios))
    ]


def with_twins(
    servers: list[ServerSpec], short: str, package_dir: Path
) -> list[ServerSpec]:
    """The servers, each tui-echo one followed by its baseline twin."""
    out: list[ServerSpec] = []
    for spec in servers:
        out.append(spec)
        if spec.is_tui:
            out.append(baseline_twin(spec, short, package_dir))
    return out


def pinning(no_pin: bool) -> tuple[tuple[str, ...], tuple[str, ...], str]:
    """Prefixes for server and loadgen commands, and a line for the report."""
    if no_pin:
        return (), (), "unpinned (--no-pin)"
    if shutil.which("taskset") is None or (os.cpu_count() or 1) < 2:
        return (), (), "unpinned (taskset missing or fewer than 2 CPUs)"
    os.sched_setaffinity(0, {0})  # the harness itself stays off the server's CPU
    return (
        ("taskset", "-c", "1"),
        ("taskset", "-c", "0"),
        "server on CPU 1, loadgen (and harness) on CPU 0 via taskset",
    )


def descriptor_limit(scenarios: list[Scenario]) -> tuple[Nofile, int | None]:
    """Raise the harness's own descriptor limit (inherited by every server and
    loadgen it starts) to what the most clients of the selected scenarios need;
    the limit, and the most idle clients a run may hold (None: no cap)."""
    most = max((sc.clients for sc in scenarios), default=0)
    nofile = raise_nofile(most + MARGIN)
    if nofile.enough:
        return nofile, None
    return nofile, nofile.clients(max((sc.idle for sc in scenarios), default=0))


def capped_lines(
    scenarios: list[Scenario], cap: int | None, nofile: Nofile
) -> list[str]:
    """Header lines for the scenarios that hold fewer idle clients than asked."""
    if cap is None:
        return []
    return [
        f"- **{sc.name} holds {cap:,} idle clients, not {sc.idle:,}**: the "
        f"descriptor limit is {nofile.soft:,} (see the line above)"
        for sc in scenarios
        if sc.idle > cap
    ]


def make_settings(
    args: argparse.Namespace, loadgen_prefix: tuple[str, ...], idle_cap: int | None
) -> Settings:
    quick = args.quick
    return Settings(
        idle_cap=idle_cap,
        duration=args.duration
        if args.duration is not None
        else (0.5 if quick else 2.0),
        warmup=args.warmup if args.warmup is not None else (0.1 if quick else 0.2),
        slow_total_mib=64 if quick else 256,
        slow_pause=2.0 if quick else 5.0,
        settle=0.5 if quick else 1.0,
        loadgen_prefix=loadgen_prefix,
        long_duration=3.0 if quick else 10.0,
        after_close=3.0 if quick else 10.0,
    )


class StartError(Exception):
    """A server could not be launched at all."""


def launch_key(spec: ServerSpec, args: tuple[str, ...]) -> str:
    """How a launch is named in ctx.broken and the report's n/a lines."""
    return " ".join([spec.name, shlex.join(args)]) if args else spec.name


def tmux_socket(spec: ServerSpec, kind: str = "") -> str:
    """A tmux socket per tmux-using server: tuiecho-bench[-KIND][-SHORT], so the
    UI, the attached monitor and their baseline twins never share one."""
    suffix = spec.name.partition("@")[2]
    return "-".join(part for part in (TMUX_SOCKET, kind, suffix) if part)


def monitor_name(spec: ServerSpec) -> str:
    """How the attached monitor is named in the exit list."""
    return f"{spec.name} (its monitor, attach)"


@contextmanager
def started(
    spec: ServerSpec, ctx: Context, port: int, args: tuple[str, ...] = ()
) -> Iterator[Server]:
    """Launch a server and always stop it by PID afterwards."""
    argv = [*ctx.server_prefix, *spec.command(ctx.python, HOST, port), *args]
    logs = BUILD_DIR / "logs"
    log = logs / f"{spec.name}.log"
    logs.mkdir(parents=True, exist_ok=True)
    env = dict(spec.env)
    server: Server
    try:
        if spec.in_tmux:
            server = TmuxServer(argv, spec.cwd, log, (160, 48), env, tmux_socket(spec))
        else:
            if spec.attach:
                CONTROL_DIR.mkdir(exist_ok=True)
                if spec.control_path.is_socket():
                    # left by a killed run: the monitor must wait for a fresh one
                    spec.control_path.unlink()
            process = ServerProcess(
                argv,
                spec.cwd,
                log,
                stdout_devnull=spec.stdout == "devnull",
                stdout_path=logs / f"{spec.name}.stdout"
                if spec.stdout == "file"
                else None,
                env=env,
            )
            server = process
            if spec.attach:
                # the monitor on the loadgen's CPU: attach mode's point is that
                # the screen need not share the server's
                monitor = [
                    *ctx.settings.loadgen_prefix,
                    *spec.attach_command(ctx.python),
                ]
                server = AttachedServer(
                    process,
                    spec.control_path,
                    monitor,
                    spec.cwd,
                    logs / f"{spec.name}.monitor.log",
                    env,
                    tmux_socket(spec, "attach"),
                )
    except (OSError, subprocess.SubprocessError, ValueError) as exc:
        raise StartError(str(exc)) from exc
    try:
        yield server
    finally:
        server.stop()
        ctx.exits.setdefault(spec.name, []).append(exit_text(server))
        if isinstance(server, AttachedServer) and server.monitor is not None:
            statuses = ctx.exits.setdefault(monitor_name(spec), [])
            statuses.append(exit_text(server.monitor))


def exit_text(server: Server) -> str:
    """How a server ended when asked to stop, for the report."""
    if server.killed:
        return "did not exit within 5 s of SIGTERM (killed)"
    status = server.exit_status
    if status is None:  # the shell in the pane died before it could say
        return "exited, status unknown"
    if status < 0:
        return f"killed by signal {-status}"
    return f"exit {status}"


Live = tuple[Server, int] | None  # a serving server and its port, or None


@contextmanager
def serving(
    spec: ServerSpec, ctx: Context, args: tuple[str, ...] = ()
) -> Iterator[Live]:
    """A started server that accepts connections, or None (reason in ctx.broken).

    A launch with extra arguments is keyed apart: a build that rejects a flag
    (exit 2) is n/a for the scenarios that pass it, and still runs the others.
    """
    key = launch_key(spec, args)
    reason = ctx.broken.get(key)
    if reason is None:
        port = free_port(HOST)
        try:
            with started(spec, ctx, port, args) as server:
                probe = udp_echoes if spec.proto == UDP else port_accepts
                reason = wait_until_serving(server, HOST, port, START_DEADLINE, probe)
                if reason is None and isinstance(server, AttachedServer):
                    reason = server.start_monitor(START_DEADLINE)
                    if server.drawn_after is not None:
                        starts = ctx.monitor_starts.setdefault(spec.name, [])
                        starts.append(server.drawn_after)
                if reason is None:
                    yield server, port
                    return
        except StartError as exc:
            reason = str(exc)
        ctx.broken[key] = f"did not start: {reason}"
    yield None


def run_turn(
    spec: ServerSpec, sc: Scenario, live: Live, round_no: int, ctx: Context
) -> None:
    """One run of a scenario against a server; appends its record."""
    base = {"round": round_no, "server": spec.name, "scenario": sc.name}
    args = sc.args_for(spec)
    if args:
        base["server_args"] = list(args)
    if live is None:
        error = ctx.broken[launch_key(spec, args)]
        ctx.records.append({**base, "ok": False, "unavailable": True, "error": error})
        log_progress(ctx.records[-1])
        return
    server, port = live
    t0 = time.monotonic()
    if server.alive():
        server.resume()
        try:
            record = run_scenario(server, sc, ctx.settings, HOST, port, args)
        finally:
            server.pause()
    else:
        record = {"ok": False, "error": "server exited: " + server.failure()}
    record.update(base, pid=server.pid, wall=round(time.monotonic() - t0, 2))
    ctx.records.append(record)
    log_progress(record)


def log_progress(record: Record) -> None:
    metrics = record.get("metrics", {})
    shown = {k: metrics[k] for k in list(metrics)[:4]}
    status = "ok" if record["ok"] else f"FAIL {record['error']}"
    if record.get("unavailable"):
        status = f"n/a {record['error']}"
    where = f"r{record['round'] + 1} {record['server']:<17} {record['scenario']:<17}"
    print(f"  {where} {status} {shown}", file=sys.stderr)


def rotate(items: list[T], n: int) -> list[T]:
    """items rotated left by n, so each round starts with a different one."""
    if not items:
        return []
    n %= len(items)
    return items[n:] + items[:n]


def run_round(
    round_no: int, servers: list[ServerSpec], scenarios: list[Scenario], ctx: Context
) -> None:
    """One round: the load scenarios, then the memory scenarios.

    Load scenarios: every server is started once for the round and paused;
    for each scenario the servers take turns, each resumed only for its run.
    Memory scenarios: a fresh process per run, for a clean RSS baseline.
    """
    print(f"round {round_no + 1}", file=sys.stderr)
    order = rotate(servers, round_no)
    shared = rotate([sc for sc in scenarios if not sc.fresh_server], round_no)
    with contextlib.ExitStack() as stack:
        live: dict[str, Live] = {}
        for spec in order:
            if any(sc.runs_on(spec) for sc in shared):
                live[spec.name] = stack.enter_context(serving(spec, ctx))
                if (entry := live[spec.name]) is not None:
                    entry[0].pause()
        for sc in shared:
            for spec in order:
                if sc.runs_on(spec):
                    run_turn(spec, sc, live[spec.name], round_no, ctx)
    for sc in scenarios:
        if not sc.fresh_server or (
            sc.max_rounds is not None and round_no >= sc.max_rounds
        ):
            continue
        for spec in rotate([s for s in servers if sc.runs_on(s)], round_no):
            with serving(spec, ctx, sc.args_for(spec)) as entry:
                run_turn(spec, sc, entry, round_no, ctx)


def machine_lines(
    pin_note: str,
    ctx: Context,
    rounds: int,
    scenarios: list[Scenario],
    wall: float,
    baseline: Baseline | None,
) -> list[str]:
    cpu = "unknown CPU"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    version = subprocess.run(
        [ctx.python, "--version"], capture_output=True, text=True
    ).stdout.strip()
    s = ctx.settings
    per_scenario = [
        f"{sc.name} {min(rounds, sc.max_rounds)}"
        for sc in scenarios
        if sc.max_rounds is not None
    ]
    now = datetime.datetime.now(datetime.UTC)
    fewer = ", ".join(per_scenario) or "none"
    lines = [
        f"- date: {now:%Y-%m-%d %H:%M} UTC; wall time {wall:.0f} s",
        f"- machine: {os.cpu_count()} CPUs, {cpu}, Linux {platform.release()}, "
        f"{version}",
        f"- pinning: {pin_note}",
        f"- rounds: {rounds} (fewer for {fewer}); each load run: {s.warmup:g} s "
        f"warm-up + {s.duration:g} s measured; slow reader: {s.slow_total_mib} MiB, "
        f"{s.slow_pause:g} s without reading",
        f"- flood: at most {s.long_duration:g} s of sending, clients held "
        f"{s.flood_hold:g} s, RSS after close read {s.after_close:g} s after they "
        f"closed; fault-jitter and fault-rate: {s.long_duration:g} s measured "
        "(fault-rate after a 1.5 s warm-up that spends the burst allowance)",
        "- load scenarios: one server process per server per round; for each "
        "scenario the servers take turns, the others paused with SIGSTOP; idle, "
        "slow-reader, flood and fault scenarios: a fresh process per run; the order "
        "of servers and scenarios rotates each round",
        "- tui-echo-json writes its JSON Lines to a file (build/logs/, truncated at "
        "each start); tui-echo-text to /dev/null; tui-echo-ui renders in tmux; "
        "tui-echo-attach is tui-echo-json with --control, and its monitor "
        "(tui_echo attach) renders in tmux as a process of its own, on the "
        "loadgen's CPU, paused and resumed with its server",
    ]
    for name, starts in ctx.monitor_starts.items():
        lines.append(
            f"- {name}: the monitor's first screen came {fmt_seconds(starts)} after "
            f"its launch ({len(starts)} start{'s' if len(starts) > 1 else ''}; "
            "the runs wait for it)"
        )
    if baseline is not None:
        lines.append(
            f"- baseline: {baseline.label}, its tui_echo/ "
            f"exported to {baseline.path.relative_to(REPO_ROOT)}, run as "
            f"NAME@{baseline.short}"
        )
    return lines


def fmt_seconds(values: list[float]) -> str:
    """``0.62 s`` or ``0.62 s (median; 0.55-0.90)``."""
    text = f"{statistics.median(values):.2f} s"
    if len(values) > 1:
        text += f" (median; {min(values):.2f}\u2013{max(values):.2f})"
    return text


def write_outputs(
    name: str, markdown: str, ctx: Context, meta: dict[str, object]
) -> None:
    out = BENCH_DIR / "results"
    out.mkdir(exist_ok=True)
    (out / f"{name}.md").write_text(markdown + "\n")
    payload = {
        "meta": meta,
        "unavailable": ctx.broken,
        "exits": ctx.exits,
        "monitor_starts": ctx.monitor_starts,
        "runs": ctx.records,
    }
    (out / f"{name}.json").write_text(json.dumps(payload, indent=1, default=str) + "\n")
    print(f"wrote {out / name}.md and .json", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.curve:
        args.servers = args.servers or ",".join(CURVE_SERVERS)
        args.scenarios = args.scenarios or ",".join(
            sc.name for sc in SCENARIOS if sc.group == CURVE
        )
    if args.tls_udp:
        args.scenarios = args.scenarios or ",".join(
            sc.name for sc in SCENARIOS if sc.group == TLS_UDP
        )
    scenarios: list[Scenario] = pick(args.scenarios, SCENARIOS, "scenarios")
    servers: list[ServerSpec] = (
        pick(args.servers, SERVERS, "servers")
        if args.servers
        else default_servers(scenarios)
    )
    if any(spec.proto == TLS for spec in servers):
        try:
            ensure_certificates()  # once, before any TLS server starts
        except CertificateError as exc:
            sys.exit(str(exc))
    # before anything starts: every server and loadgen inherits it
    nofile, idle_cap = descriptor_limit(scenarios)
    if not nofile.enough:
        print(f"warning: {nofile.note}", file=sys.stderr)
    rounds = args.rounds or (1 if args.quick else 5)
    baseline = None
    if args.baseline:
        short, package_dir = export_baseline(args.baseline, args.python)
        baseline = Baseline(args.baseline, short, package_dir)
        servers = with_twins(servers, short, package_dir)
        if not any(s.base for s in servers):
            print("note: --baseline, but no tui-echo server selected", file=sys.stderr)
    build_c_programs()
    server_prefix, loadgen_prefix, pin_note = pinning(args.no_pin)
    settings = make_settings(args, loadgen_prefix, idle_cap)
    ctx = Context(settings, args.python, server_prefix)
    selected = {s.name for s in servers}
    for ref in dict.fromkeys(sc.reference for sc in scenarios):
        if ref not in selected:
            print(f"note: {ref} not selected, so no ratios to it", file=sys.stderr)
    t0, status = time.monotonic(), 0
    try:
        for round_no in range(rounds):
            run_round(round_no, servers, scenarios, ctx)
    except KeyboardInterrupt:
        print("interrupted: reporting what ran", file=sys.stderr)
        status = 130
    wall = time.monotonic() - t0
    header = machine_lines(pin_note, ctx, rounds, scenarios, wall, baseline)
    header += [f"- {nofile.note}", *capped_lines(scenarios, idle_cap, nofile)]
    if any(sc.group == CURVE for sc in scenarios):
        header.append(
            f"- scaling curve (curve-idle*): a fresh server per run; "
            f"{CURVE_WARMUP:g} s of ping-pong warm-up (not --warmup) + "
            f"{settings.duration:g} s measured; VmRSS settled before the loadgen, "
            "then its peak every 50 ms from the idle clients all held to the end "
            "of the window; tui-echo-ui's clients start once it has drawn its "
            "first screen"
        )
    header += protocol_notes(scenarios, ctx.records)
    if ctx.broken:
        header += [f"- n/a `{name}`: {why}" for name, why in ctx.broken.items()]
    add_idle_rss(ctx.records)
    markdown = render(header, ctx.records, servers, scenarios, ctx.exits, baseline)
    print(markdown)
    meta = {
        "argv": sys.argv,
        "baseline": None if baseline is None else [baseline.rev, baseline.short],
        "rounds": rounds,
        "wall_seconds": round(wall, 1),
        "header": header,
    }
    default_out = "curve" if args.curve else "tls-udp" if args.tls_udp else "latest"
    name = args.out or ("quick" if args.quick else default_out)
    write_outputs(name, markdown, ctx, meta)
    if any(sc.group == CURVE for sc in scenarios):
        svg = BENCH_DIR / "results" / f"{name}.svg"
        names = [s.name for s in servers]
        svg.write_text(curve_svg(ctx.records, names, caption(meta)))
        print(f"wrote {svg}", file=sys.stderr)
    return status


if __name__ == "__main__":
    sys.exit(main())
