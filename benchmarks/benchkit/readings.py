"""What the loadgen's JSON says: the checks a run must pass, and the numbers
derived from it (CPU per message, a fault's excess, a UDP run's loss)."""

from __future__ import annotations

import json
from typing import Any

from .specs import duration_ms, fault_items, size_bytes

Record = dict[str, Any]


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
    if "idle" in result and result.get("idle_connected") != result["idle"]:
        problems.append(
            f"{result.get('idle_connected')} of {result['idle']} idle connected"
        )
    if result.get("idle_dropped"):
        problems.append(f"{result['idle_dropped']} idle connections closed by server")
    if result.get("mode") == "ticker" and result.get("echoes") != result.get("pings"):
        problems.append(f"{result.get('echoes')} of {result.get('pings')} pings echoed")
    if result.get("lost"):
        problems.append(f"{result['lost']} datagrams lost")
    if result.get("stale"):
        problems.append(f"{result['stale']} stale echoes (late or duplicated)")
    return "; ".join(problems) or None


def cpu_per_message(result: Record) -> Record:
    """Server CPU µs per echoed message, total, user and system, for ping-pong
    (over TCP, TLS or UDP).

    The loadgen reads the server's utime and stime at the instants its
    measured window opens and closes, the same window its message count
    covers, so neither warm-up, connects nor the drain are in it.
    """
    messages = result.get("messages") or 0
    if result.get("mode") not in ("pingpong", "udp") or "server_utime_s" not in result:
        return {}
    if messages <= 0:
        return {}
    user = result["server_utime_s"] * 1e6 / messages
    system = result["server_stime_s"] * 1e6 / messages
    return {
        "server_us_per_msg": user + system,
        "server_user_us_per_msg": user,
        "server_sys_us_per_msg": system,
    }


def add_fault_metrics(metrics: Record, server_args: tuple[str, ...]) -> None:
    """Numbers relative to the fault the server was given: RTT beyond the
    requested delay (ms), delivered rate against the requested one (%)."""
    fault = fault_items(server_args)
    delay = duration_ms(fault["delay"]) if "delay" in fault else 0.0
    for q in ("p50", "p99"):  # without a delay, the "excess" is the RTT itself
        if metrics.get(f"{q}_us", -1) >= 0:
            metrics[f"{q}_excess_ms"] = metrics[f"{q}_us"] / 1000 - delay
    if "rate" in fault and metrics.get("mib_per_s") is not None:
        rate_mib = size_bytes(fault["rate"]) / 2**20
        metrics["rate_dev_pct"] = 100 * (metrics["mib_per_s"] / rate_mib - 1)


def udp_metrics(result: Record) -> Record:
    """For a UDP run: whether no datagram was lost (a goal on loopback)."""
    if result.get("mode") != "udp":
        return {}
    return {"no_loss": result.get("lost") == 0}
