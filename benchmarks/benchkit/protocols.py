"""Issue 19's measurements: tui-echo speaking TLS and UDP, against asyncio's own.

A group of its own (``tls-udp``): neither its servers nor its scenarios run
unless asked for (``run.py --tls-udp``, or by name). The TLS servers all serve
the one certificate the harness makes with trustme (``certs.py``), with TLS 1.3
at least; the loadgen verifies it against that CA. Each scenario's ratios are to
the asyncio server of its protocol.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .certs import CA, CERT, KEY
from .metrics import CPU_PER_MSG, LOST, MBPS, MSGS, NO_LOSS, P99, STALE
from .specs import BENCH_DIR, TLS, UDP, Goal, Scenario, ServerSpec, ref_argv, tui_argv

Record = dict[str, Any]

GROUP = "tls-udp"
TLS_HEADLESS = "tui-echo-tls-json"
TLS_UI = "tui-echo-tls-ui"
TLS_REFERENCE = "asyncio-tls"
UDP_HEADLESS = "tui-echo-udp-json"
UDP_REFERENCE = "asyncio-udp"

_CERT = ("--cert", str(CERT), "--key", str(KEY))
# tui-echo's default minimum is 1.2; the asyncio reference asks for 1.3 as well
_TLS = ("--tls", *_CERT, "--tls-min", "1.3")
_JSON = ("--no-ui", "--log-format", "json")  # as tui-echo-json: the logger writes

PROTOCOL_SERVERS: tuple[ServerSpec, ...] = (
    ServerSpec(TLS_HEADLESS, tui_argv(*_JSON, *_TLS), stdout="file", proto=TLS,
               group=GROUP),
    ServerSpec(TLS_UI, tui_argv(*_TLS), in_tmux=True, proto=TLS, group=GROUP),
    ServerSpec(TLS_REFERENCE, (*ref_argv("asyncio_tls.py"), *_CERT), proto=TLS,
               group=GROUP),
    ServerSpec(UDP_HEADLESS, tui_argv(*_JSON, "--udp"), stdout="file", proto=UDP,
               group=GROUP),
    ServerSpec(UDP_REFERENCE, ref_argv("asyncio_udp.py"), proto=UDP, group=GROUP),
)  # fmt: skip

_PP_TLS = ("--mode", "pingpong", "--tls", "--tls-ca", str(CA))

PROTOCOL_SCENARIOS: tuple[Scenario, ...] = (
    Scenario("tls-pp-50x1k", "TLS ping-pong 50 conns x 1 KiB", "load",
             (*_PP_TLS, "--conns", "50", "--size", "1024"), (MSGS, P99, *CPU_PER_MSG),
             clients=50, group=GROUP, proto=TLS, reference=TLS_REFERENCE),
    Scenario("tls-pp-10x64k", "TLS ping-pong 10 conns x 64 KiB", "load",
             (*_PP_TLS, "--conns", "10", "--size", "65536"), (MBPS, *CPU_PER_MSG),
             clients=10, group=GROUP, proto=TLS, reference=TLS_REFERENCE),
    # the monitor's cost with 1,000 TLS clients (each made its handshake and
    # echoed one 16 B ping before warm-up), as pp-50x1k-idle1000 for TCP
    Scenario("tls-pp-50x1k-idle1000", "TLS ping-pong 50 conns x 1 KiB + 1,000 idle",
             "load", (*_PP_TLS, "--conns", "50", "--size", "1024", "--idle", "1000"),
             (MSGS, P99, *CPU_PER_MSG), clients=1050, group=GROUP, proto=TLS,
             reference=TLS_REFERENCE),
    Scenario("udp-pp-1k", "UDP ping-pong 50 sockets x 1 KiB datagrams", "load",
             ("--mode", "udp", "--conns", "50", "--size", "1024"),
             (MSGS, P99, LOST, STALE, NO_LOSS, *CPU_PER_MSG), clients=50, group=GROUP,
             proto=UDP, reference=UDP_REFERENCE),
)  # fmt: skip

GOAL_TLS = (
    f"Issue 19, TLS against asyncio: {TLS_HEADLESS} / {TLS_REFERENCE} (the same "
    "certificate, TLS 1.3)"
)
GOAL_TLS_UI = (
    f"Issue 19, the monitor's cost with 1,000 TLS clients: {TLS_UI} / {TLS_HEADLESS}"
)
GOAL_UDP = f"Issue 19, UDP against asyncio: {UDP_HEADLESS} / {UDP_REFERENCE}"

PROTOCOL_GOALS: tuple[Goal, ...] = (
    Goal(GOAL_TLS, "tls-pp-50x1k", "msgs_per_s", "messages/s", TLS_HEADLESS,
         TLS_REFERENCE, ">=", 1.0),
    Goal(GOAL_TLS, "tls-pp-10x64k", "mb_per_s", "MB/s", TLS_HEADLESS, TLS_REFERENCE,
         ">=", 1.0),
    Goal(GOAL_TLS_UI, "tls-pp-50x1k-idle1000", "msgs_per_s", "messages/s", TLS_UI,
         TLS_HEADLESS, ">=", 0.95),
    Goal(GOAL_TLS_UI, "tls-pp-50x1k-idle1000", "p99_us", "p99 RTT", TLS_UI,
         TLS_HEADLESS, "<=", 1.5),
    Goal(GOAL_UDP, "udp-pp-1k", "msgs_per_s", "messages/s", UDP_HEADLESS,
         UDP_REFERENCE, ">=", 1.0),
    Goal(GOAL_UDP, "udp-pp-1k", "no_loss", "no datagram lost (loopback, no fault)",
         UDP_HEADLESS, None, "all"),
)  # fmt: skip


def protocol_notes(scenarios: list[Scenario], records: list[Record]) -> list[str]:
    """Header lines for a run with TLS or UDP scenarios: the certificate and
    what the handshakes agreed on; what counts as a lost datagram."""
    lines = []
    runs = [run.get("loadgen") or {} for run in records]
    if any(sc.proto == TLS for sc in scenarios):
        agreed = sorted(
            {f"{r['tls_version']} {r['tls_cipher']}" for r in runs if r.get("tls")}
        )
        lines.append(
            f"- TLS: every TLS server serves {_shown(CERT)} and {_shown(KEY)} "
            "(a trustme CA and leaf, made once), TLS 1.3 at "
            f"least, OpenSSL's default ciphers; the loadgen verifies the "
            f"certificate against {_shown(CA)} and 127.0.0.1; negotiated: "
            + (", ".join(agreed) or "nothing")
        )
    if any(sc.proto == UDP for sc in scenarios):
        timeouts = sorted({r["timeout_s"] for r in runs if r.get("mode") == "udp"})
        wait = ", ".join(f"{t:g} s" for t in timeouts) or "the loadgen's timeout"
        lines.append(
            "- UDP: one datagram out per socket at a time; an echo not back within "
            f"{wait} counts as lost, one for an earlier datagram as stale"
        )
    return lines


def _shown(path: Path) -> str:
    """A path as the README names it: under benchmarks/."""
    return str(path.relative_to(BENCH_DIR))
