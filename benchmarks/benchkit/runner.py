"""Running one scenario against one started server and turning it into a record."""

from __future__ import annotations

import json
import select
import subprocess
import time
from dataclasses import dataclass
from typing import IO, Any

from .catalog import BUILD_DIR, Scenario
from .procs import Server, cpu_seconds, read_status_kib

Record = dict[str, Any]


@dataclass(frozen=True)
class Settings:
    """Durations and sizes of one harness run."""

    duration: float  # measured seconds per load run
    warmup: float
    slow_total_mib: int
    slow_pause: float
    settle: float  # seconds to let a server settle before reading RSS
    loadgen_prefix: tuple[str, ...]  # e.g. ("taskset", "-c", "0")


def loadgen_argv(
    settings: Settings, scenario: Scenario, host: str, port: int
) -> list[str]:
    """The full loadgen command line for a scenario."""
    argv = [*settings.loadgen_prefix, str(BUILD_DIR / "loadgen"), *scenario.loadgen]
    argv += ["--host", host, "--port", str(port)]
    if scenario.kind == "load":
        argv += ["--duration", str(settings.duration), "--warmup", str(settings.warmup)]
    elif scenario.kind == "idle":
        argv += ["--duration", "60", "--connect-timeout", "30"]
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


def parse_result(stdout: str) -> Record:
    """The loadgen's JSON object (its last stdout line)."""
    lines = [ln for ln in stdout.splitlines() if ln.strip()]
    if not lines:
        raise ValueError("loadgen printed nothing")
    result: Record = json.loads(lines[-1])
    return result


def verification_problem(result: Record) -> str | None:
    """A short description of any echo failure the loadgen saw, else None."""
    problems = []
    if result.get("mismatches"):
        problems.append(f"{result['mismatches']} mismatched bytes")
    if result.get("extra_bytes"):
        problems.append(f"{result['extra_bytes']} unexpected bytes")
    if result.get("errors"):
        problems.append(f"{result['errors']} connection errors")
    if result.get("unfinished"):
        problems.append(f"{result['unfinished']} echoes not back in time")
    if result.get("complete") is False:
        problems.append(
            f"only {result.get('received')} of {result.get('total')} bytes back"
        )
    if result.get("fresh_echo_ok") is False:
        problems.append("a new client got no echo")
    if "requested" in result and result.get("connected") != result["requested"]:
        problems.append(f"{result.get('connected')} of {result['requested']} connected")
    return "; ".join(problems) or None


def run_load(
    server: Server, scenario: Scenario, settings: Settings, host: str, port: int
) -> Record:
    """A timed load run; metrics come straight from the loadgen."""
    argv = loadgen_argv(settings, scenario, host, port)
    cpu0, t0 = cpu_seconds(server.pid), time.monotonic()
    timeout = settings.duration + settings.warmup + 30
    done = subprocess.run(
        argv, capture_output=True, text=True, timeout=timeout, check=False
    )
    cpu1, wall = cpu_seconds(server.pid), time.monotonic() - t0
    if done.returncode != 0:
        raise ValueError(f"exit status {done.returncode}: {done.stderr.strip()[-200:]}")
    result = parse_result(done.stdout)
    metrics = {k: v for k, v in result.items() if isinstance(v, (int, float))}
    if cpu0 is not None and cpu1 is not None:
        metrics["server_cpu_pct"] = round(100 * (cpu1 - cpu0) / wall, 1)
    return {"metrics": metrics, "loadgen": result}


def _read_line(stream: IO[str], timeout: float) -> str:
    ready, _, _ = select.select([stream], [], [], timeout)
    return stream.readline() if ready else ""


def settled_rss(pid: int, settle: float) -> int | None:
    """VmRSS (KiB) once two readings agree within 1%, waiting at most ``settle`` s."""
    end = time.monotonic() + settle
    last = read_status_kib(pid, "VmRSS")
    while time.monotonic() < end:
        time.sleep(0.25)
        now = read_status_kib(pid, "VmRSS")
        if now is None or last is None:
            return now
        if abs(now - last) <= last * 0.01:
            return now
        last = now
    return last


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


def run_scenario(
    server: Server, scenario: Scenario, settings: Settings, host: str, port: int
) -> Record:
    """Run a scenario; the record has metrics, the raw loadgen JSON, and any problem."""
    runner = {"load": run_load, "idle": run_idle, "slowreader": run_slowreader}[
        scenario.kind
    ]
    try:
        record = runner(server, scenario, settings, host, port)
    except (ValueError, OSError, subprocess.SubprocessError) as exc:
        return {"ok": False, "error": f"loadgen failed: {exc}"}
    problem = verification_problem(record["loadgen"])
    if not server.alive():
        problem = "; ".join(
            filter(None, [problem, "server exited: " + server.failure()])
        )
    record.update(ok=problem is None, error=problem)
    return record
