"""Does the monitor's start-up slow the first clients? Ping-pong begun the moment the
port accepts, against the same begun once the screen has settled.

    python benchmarks/ui_startup.py [--rounds 5] [--settle 3]

Each round starts `python -m tui_echo` twice in a detached tmux session (160x48, on
a tmux socket of its own, `tuiecho-startup-PID-N`, the server pinned to CPU 1) and
runs `build/loadgen` ping-pong 50 x 1 KiB (0.2 s warm-up, 2 s measured, pinned to
CPU 0): once as soon as a connection to the port succeeds ("at once"), once
`--settle` seconds later ("settled"). Prints each run, then the medians of
messages/s and p99 with their min-max, and the ratio at once / settled of the
medians. Each run's tmux server is ended after it; nothing else is touched.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

from benchkit.procs import free_port, pinned, port_accepts

HERE = Path(__file__).resolve().parent
LOADGEN = HERE / "build" / "loadgen"
ACCEPT_DEADLINE = 20.0


def wait_until_it_accepts(port: int) -> float:
    """Seconds from now until a connection to the port succeeds."""
    started = time.monotonic()
    while time.monotonic() - started < ACCEPT_DEADLINE:
        if port_accepts("127.0.0.1", port):
            return time.monotonic() - started
        time.sleep(0.01)  # polling a port: there is nothing to wait on
    raise SystemExit(f"the monitor did not accept within {ACCEPT_DEADLINE} s")


def one_run(settle: float, number: int) -> dict[str, float]:
    # A tmux server of its own per run: a new session on the socket of one that is
    # still shutting down can fail.
    tmux = ["tmux", "-L", f"tuiecho-startup-{os.getpid()}-{number}"]
    port = free_port()
    monitor = pinned(1, [sys.executable, "-m", "tui_echo", "--port", str(port)])
    subprocess.run(
        [*tmux, "new-session", "-d", "-x", "160", "-y", "48", shlex.join(monitor)],
        check=True,
    )
    try:
        accepted_after = wait_until_it_accepts(port)
        time.sleep(settle)  # the condition under test: time for the screen to settle
        argv = [str(LOADGEN), "--mode", "pingpong", "--port", str(port)]
        argv += [
            "--conns",
            "50",
            "--size",
            "1024",
            "--duration",
            "2",
            "--warmup",
            "0.2",
        ]
        out = subprocess.run(
            pinned(0, argv), capture_output=True, text=True, check=True
        )
    finally:
        subprocess.run([*tmux, "kill-server"], check=False)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    return {
        "accepted_after_s": accepted_after,
        "msgs_per_s": float(result["msgs_per_s"]),
        "p99_us": float(result["p99_us"]),
    }


def summary(runs: list[dict[str, float]], key: str) -> str:
    values = [run[key] for run in runs]
    return f"{statistics.median(values):,.1f} ({min(values):,.1f}-{max(values):,.1f})"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--settle", type=float, default=3.0)
    args = parser.parse_args()
    if not LOADGEN.exists():
        raise SystemExit(f"{LOADGEN} is missing: run benchmarks/run.py --quick once")
    if not shutil.which("tmux"):
        raise SystemExit("tmux is needed: the monitor must render on a terminal")
    results: dict[str, list[dict[str, float]]] = {"at once": [], "settled": []}
    for round_number in range(args.rounds):
        order = ["at once", "settled"][:: 1 if round_number % 2 == 0 else -1]
        for name in order:
            settle = 0.0 if name == "at once" else args.settle
            run = one_run(settle, sum(len(runs) for runs in results.values()))
            results[name].append(run)
            print(f"round {round_number + 1} {name:8} {run}", flush=True)
    for name, runs in results.items():
        print(
            f"{name:8} accepted after {summary(runs, 'accepted_after_s')} s,"
            f" msg/s {summary(runs, 'msgs_per_s')}, p99 µs {summary(runs, 'p99_us')}"
        )
    for key in ("msgs_per_s", "p99_us"):
        at_once = statistics.median(run[key] for run in results["at once"])
        settled = statistics.median(run[key] for run in results["settled"])
        print(f"at once / settled, {key}: {at_once / settled:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
