"""Running one scenario against one started server and turning it into a record."""

from __future__ import annotations

import os
import select
import subprocess
import time
from dataclasses import dataclass
from typing import IO

from .procs import AttachedServer, Server, TmuxServer, cpu_seconds, read_status_kib
from .readings import (
    Record,
    add_fault_metrics,
    cpu_per_message,
    parse_result,
    udp_metrics,
    verification_problem,
)
from .rss import PeakRss, settled_rss
from .specs import BUILD_DIR, Scenario


@dataclass(frozen=True)
class Settings:
    """Durations and sizes of one harness run."""

    duration: float  # measured seconds per load run
    warmup: float
    slow_total_mib: int
    slow_pause: float
    settle: float  # seconds to let a server settle before reading RSS
    loadgen_prefix: tuple[str, ...]  # e.g. ("taskset", "-c", "0")
    long_duration: float = 10.0  # scenarios marked long: faults, flood
    after_close: float = 10.0  # flood: RSS is read this long after the close
    flood_hold: float = 1.0  # flood: clients stay connected this long after sending
    # the most idle clients (--idle) the descriptor limit allows; None: no cap
    idle_cap: int | None = None


def idle_held(settings: Settings, scenario: Scenario) -> int:
    """How many idle clients a run holds: the scenario's --idle, capped to what
    the descriptor limit allows."""
    if settings.idle_cap is None:
        return scenario.idle
    return min(scenario.idle, settings.idle_cap)


def connect_seconds(idle: int) -> float:
    """Time allowed to open the --idle connections: 30 s, more past 20,000 (the
    slowest server, with the monitor on, opens a few thousand a second)."""
    return max(30.0, idle / 500)


def timing(settings: Settings, scenario: Scenario) -> tuple[float, float]:
    """(measured seconds, warm-up seconds) of a scenario's run."""
    duration = settings.long_duration if scenario.long else settings.duration
    warmup = settings.warmup if scenario.warmup is None else scenario.warmup
    return duration, warmup


def loadgen_argv(
    settings: Settings, scenario: Scenario, host: str, port: int
) -> list[str]:
    """The full loadgen command line for a scenario."""
    loadgen = list(scenario.loadgen)
    if scenario.idle:
        loadgen[loadgen.index("--idle") + 1] = str(idle_held(settings, scenario))
    argv = [*settings.loadgen_prefix, str(BUILD_DIR / "loadgen"), *loadgen]
    argv += ["--host", host, "--port", str(port)]
    duration, warmup = timing(settings, scenario)
    if scenario.kind == "load":
        argv += ["--duration", str(duration), "--warmup", str(warmup)]
        # for --idle: all of them open in time
        connect = connect_seconds(idle_held(settings, scenario))
        argv += ["--connect-timeout", f"{connect:g}"]
    elif scenario.kind == "idle":
        argv += ["--duration", "60", "--connect-timeout", "30"]
    elif scenario.kind == "flood":
        argv += ["--duration", str(duration), "--hold", str(settings.flood_hold)]
    elif scenario.kind == "ticker":
        argv += ["--duration", str(duration), "--connect-timeout", "30"]
    else:
        total = settings.slow_total_mib << 20
        argv += [
            "--total",
            str(total),
            "--pause",
            str(settings.slow_pause),
            "--duration",
            "90",
        ]
    return argv


class PipeLines:
    """Lines from a child's pipe, waited for with a deadline (raw reads: nothing
    is left in a Python buffer where select() cannot see it)."""

    def __init__(self, stream: IO[bytes]) -> None:
        self.fd = stream.fileno()
        self.pending = b""
        self.seen: list[str] = []

    def wait_for(self, prefix: str, timeout: float) -> bool:
        """True once a line starting with prefix arrives; False at timeout or EOF."""
        end = time.monotonic() + timeout
        while True:
            while b"\n" in self.pending:
                line, self.pending = self.pending.split(b"\n", 1)
                self.seen.append(line.decode(errors="replace"))
                if self.seen[-1].startswith(prefix):
                    return True
            left = end - time.monotonic()
            if left <= 0 or not select.select([self.fd], [], [], left)[0]:
                return False
            chunk = os.read(self.fd, 4096)
            if not chunk:
                return False
            self.pending += chunk


def _finish(proc: subprocess.Popen[bytes], timeout: float) -> str:
    """The loadgen's stdout once it exits; kills it if it does not in time."""
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    if proc.returncode != 0:
        tail = stderr.decode(errors="replace").strip()[-200:]
        raise ValueError(f"exit status {proc.returncode}: {tail}")
    return stdout.decode(errors="replace")


def await_first_screen(server: TmuxServer, deadline: float = 10.0) -> None:
    """Wait until the monitor has drawn its first screen (at most ``deadline``
    seconds; its port may accept before that): a fresh server's clients then
    meet a monitor that has started, as they would a running one."""
    end = time.monotonic() + deadline
    while not server.drawn() and server.alive() and time.monotonic() < end:
        time.sleep(0.05)


def run_load(
    server: Server, scenario: Scenario, settings: Settings, host: str, port: int
) -> Record:
    """A timed load run; metrics come straight from the loadgen.

    Server CPU % is counted over the loadgen's run; with ``--idle``, from its
    'holding' line on, so opening the idle connections is not in it.  So is
    an attached monitor's (it shares the loadgen's CPU).

    With ``sample_rss``: VmRSS settled before the loadgen starts, and its peak
    from 'holding' (the idle clients all open, the active ones not yet) to the
    end of the measured window (warm-up + duration later), so the closing of
    the clients is not in it.
    """
    rss_before = None
    if scenario.sample_rss:
        if isinstance(server, TmuxServer):
            await_first_screen(server)
        rss_before = settled_rss(server.pid, settings.settle)
    argv = loadgen_argv(settings, scenario, host, port)
    argv += ["--server-pid", str(server.pid)]
    monitor = server.monitor if isinstance(server, AttachedServer) else None
    idle = idle_held(settings, scenario)
    # connecting --idle, draining, and closing them (tens of thousands) at the end
    timeout = sum(timing(settings, scenario)) + 60 + connect_seconds(idle)
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    mon0 = mon1 = None
    sampler = PeakRss(server.pid) if scenario.sample_rss else None
    try:
        if idle:
            assert proc.stderr is not None
            lines = PipeLines(proc.stderr)
            if not lines.wait_for("holding", connect_seconds(idle) + 30):
                raise ValueError("never held: " + " | ".join(lines.seen[-2:]))
        if sampler is not None:
            sampler.start(sum(timing(settings, scenario)))
        cpu0, t0 = cpu_seconds(server.pid), time.monotonic()
        if monitor is not None:
            mon0 = cpu_seconds(monitor.pid)
        stdout = _finish(proc, timeout)
        cpu1, wall = cpu_seconds(server.pid), time.monotonic() - t0
        if monitor is not None:
            mon1 = cpu_seconds(monitor.pid)
    finally:
        if sampler is not None:
            sampler.stop()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    result = parse_result(stdout)
    metrics = {k: v for k, v in result.items() if isinstance(v, (int, float))}
    if scenario.idle:
        metrics["idle_requested"] = scenario.idle
    if sampler is not None and rss_before is not None and sampler.peak is not None:
        metrics["rss_before_kib"] = rss_before
        metrics["rss_held_kib"] = sampler.peak
        metrics["rss_growth_mib"] = (sampler.peak - rss_before) / 1024
    if cpu0 is not None and cpu1 is not None:
        metrics["server_cpu_pct"] = round(100 * (cpu1 - cpu0) / wall, 1)
    if mon0 is not None and mon1 is not None:
        metrics["monitor_cpu_pct"] = round(100 * (mon1 - mon0) / wall, 1)
    metrics.update(cpu_per_message(result))
    metrics.update(udp_metrics(result))
    return {"metrics": metrics, "loadgen": result}


def _read_line(stream: IO[str], timeout: float) -> str:
    ready, _, _ = select.select([stream], [], [], timeout)
    return stream.readline() if ready else ""


def run_idle(
    server: Server, scenario: Scenario, settings: Settings, host: str, port: int
) -> Record:
    """Hold N idle connections; RSS per connection = (RSS with N - RSS before) / N."""
    before = settled_rss(server.pid, settings.settle)
    argv = loadgen_argv(settings, scenario, host, port)
    proc = subprocess.Popen(
        argv,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stderr is not None
        assert proc.stdin is not None
        ready = _read_line(proc.stderr, 45)
        during = settled_rss(server.pid, settings.settle * 3)
        # communicate() closes stdin: that releases the loadgen, which checks a
        # new client if asked, closes everything and prints its result.
        stdout, _ = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    result = parse_result(stdout)
    if not ready.startswith("ready"):
        result["errors"] = result.get("errors", 0) + 1
    connected = int(result.get("connected", 0))
    metrics: Record = {
        "connected": connected,
        "fresh_echo_ok": result.get("fresh_echo_ok"),
    }
    metrics.update(rss_before_kib=before, rss_during_kib=during)
    if before is not None and during is not None and connected:
        metrics["kib_per_conn"] = (during - before) / connected
        metrics["bytes_per_conn"] = (during - before) * 1024 / connected
    return {"metrics": metrics, "loadgen": result}


def run_slowreader(
    server: Server, scenario: Scenario, settings: Settings, host: str, port: int
) -> Record:
    """Slow reader; RSS growth = peak VmRSS sampled during the run - VmRSS before."""
    before = settled_rss(server.pid, settings.settle)
    argv = loadgen_argv(settings, scenario, host, port)
    proc = subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    peak = before or 0
    try:
        end = time.monotonic() + 120
        while proc.poll() is None and time.monotonic() < end:
            peak = max(peak, read_status_kib(server.pid, "VmRSS") or 0)
            time.sleep(0.05)
        stdout, _ = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    result = parse_result(stdout)
    metrics: Record = {"seconds": result.get("seconds"), "rss_peak_kib": peak}
    metrics["rss_before_kib"] = before
    metrics["vmhwm_kib"] = read_status_kib(server.pid, "VmHWM")
    metrics["sent_during_pause"] = result.get("sent_during_pause")
    if before is not None:
        metrics["rss_growth_mib"] = (peak - before) / 1024
    return {"metrics": metrics, "loadgen": result}


def run_ticker(
    server: Server, scenario: Scenario, settings: Settings, host: str, port: int
) -> Record:
    """Many slow pingers; server CPU is measured from 'ready' to 'done' only, so
    the 1,000 connects (and the drain) are not in it."""
    duration, _ = timing(settings, scenario)
    argv = loadgen_argv(settings, scenario, host, port)
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert proc.stderr is not None
        lines = PipeLines(proc.stderr)
        if not lines.wait_for("ready", 60):
            raise ValueError("never ready: " + " | ".join(lines.seen[-2:]))
        cpu0, t0 = cpu_seconds(server.pid), time.monotonic()
        if not lines.wait_for("done", duration + 30):
            raise ValueError("never done: " + " | ".join(lines.seen[-2:]))
        cpu1, wall = cpu_seconds(server.pid), time.monotonic() - t0
        stdout = _finish(proc, 30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    result = parse_result(stdout)
    metrics = {k: v for k, v in result.items() if isinstance(v, (int, float))}
    if cpu0 is not None and cpu1 is not None:
        metrics["server_cpu_pct"] = round(100 * (cpu1 - cpu0) / wall, 1)
    for q in ("p50", "p99"):
        if result.get(f"{q}_us", -1) >= 0:
            metrics[f"{q}_ms"] = result[f"{q}_us"] / 1000
    metrics["all_echoed"] = bool(
        result.get("connected") == result.get("requested")
        and result.get("echoes") == result.get("pings")
        and not result.get("unfinished")
        and not result.get("errors")
    )
    return {"metrics": metrics, "loadgen": result}


def run_flood(
    server: Server, scenario: Scenario, settings: Settings, host: str, port: int
) -> Record:
    """Clients that send and never read: RSS before, peak (VmRSS every 50 ms) and
    ``after_close`` seconds after the clients closed."""
    before = settled_rss(server.pid, settings.settle)
    argv = loadgen_argv(settings, scenario, host, port)
    duration, _ = timing(settings, scenario)
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    peak, peak_at, t0 = before or 0, 0.0, time.monotonic()

    def sample() -> None:
        nonlocal peak, peak_at
        rss = read_status_kib(server.pid, "VmRSS") or 0
        if rss > peak:
            peak, peak_at = rss, time.monotonic() - t0

    try:
        end = t0 + duration + settings.flood_hold + 90  # 90: 1,000 blocking connects
        while proc.poll() is None and time.monotonic() < end:
            sample()
            time.sleep(0.05)
        closed = time.monotonic()  # the loadgen closes every socket, then exits
        stdout = _finish(proc, 10)
        while time.monotonic() < closed + settings.after_close:
            sample()
            time.sleep(0.05)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    after = read_status_kib(server.pid, "VmRSS")
    result = parse_result(stdout)
    metrics: Record = {
        "rss_peak_mib": peak / 1024,
        "peak_at_s": round(peak_at, 2),
        "after_close_s": settings.after_close,
        "sent_mib": result.get("sent_mib"),
        "completed": result.get("completed"),
        "stalled": result.get("stalled"),
        "send_seconds": result.get("send_seconds"),
    }
    hwm = read_status_kib(server.pid, "VmHWM")
    if hwm is not None:
        metrics["vmhwm_mib"] = hwm / 1024
    if before is not None:
        metrics["rss_before_mib"] = before / 1024
    if after is not None:
        metrics["rss_after_mib"] = after / 1024
    if before is not None and after is not None:
        metrics["rss_kept_mib"] = (after - before) / 1024
    return {"metrics": metrics, "loadgen": result}


def run_scenario(
    server: Server,
    scenario: Scenario,
    settings: Settings,
    host: str,
    port: int,
    server_args: tuple[str, ...] = (),
) -> Record:
    """Run a scenario; the record has metrics, the raw loadgen JSON, and any problem.

    ``server_args`` are the extra arguments the server was started with (a
    fault), for the metrics measured against them.
    """
    runner = {
        "load": run_load,
        "idle": run_idle,
        "slowreader": run_slowreader,
        "flood": run_flood,
        "ticker": run_ticker,
    }[scenario.kind]
    try:
        record = runner(server, scenario, settings, host, port)
    except (ValueError, OSError, subprocess.SubprocessError) as exc:
        return {"ok": False, "error": f"loadgen failed: {exc}"}
    if scenario.server_args:
        add_fault_metrics(record["metrics"], server_args)
    problem = verification_problem(record["loadgen"])
    if not server.alive():
        problem = "; ".join(
            filter(None, [problem, "server exited: " + server.failure()])
        )
    record.update(ok=problem is None, error=problem)
    return record
