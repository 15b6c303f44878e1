"""How soon a key press shows: the monitor in a real pseudo-terminal, timed from the
key written to the pty to the repainted title read back from it.

    python benchmarks/key_latency.py [--presses 40] [--load none|pp-50x1k-idle1000]

The monitor (`python -m tui_echo`, 160x48, TERM=xterm-256color) runs on a pty that
this script drains all the time, as a terminal would, pinned to CPU 1 like the
server in `run.py`; with `--load` the load generator runs on CPU 0 (`loadgen`
ping-pong 50 x 1 KiB with 1,000 idle clients held). Each press is `s` (sort by the
next column): the table's title says "sorted by COLUMN", so the press has shown once
the terminal receives a title naming a column other than the last one. Presses are
spaced by a random 0.3 to 1.3 s, so they land anywhere in the monitor's 1 s refresh
cycle. Prints the median, p90 and maximum in milliseconds (goal: 50 ms).
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import os
import pty
import random
import re
import signal
import statistics
import struct
import subprocess
import sys
import termios
import threading
import time
from collections.abc import Callable
from pathlib import Path

from benchkit.procs import free_port, pinned

HERE = Path(__file__).resolve().parent
LOADGEN = HERE / "build" / "loadgen"
ESCAPES = re.compile(rb"\x1b(\[[0-9;?<>=]*[ -/]*[@-~]|\][^\x07\x1b]*(\x07|\x1b\\)|.)")
SORTED_BY = re.compile(rb"sorted by (\S+)")
START_DEADLINE = 20.0
PRESS_DEADLINE = 5.0

Finder = Callable[[bytes], bytes | None]


class Terminal:
    """A pty whose output a thread reads all the time, as a terminal would."""

    def __init__(self, argv: list[str], size: tuple[int, int]) -> None:
        self.pid, self.fd = pty.fork()
        if self.pid == 0:  # the child: become the monitor
            os.execvpe(argv[0], argv, dict(os.environ, TERM="xterm-256color"))
        width, height = size
        winsize = struct.pack("HHHH", height, width, 0, 0)
        fcntl.ioctl(self.fd, termios.TIOCSWINSZ, winsize)
        self._lock = threading.Lock()
        self._output = bytearray()
        self._reader = threading.Thread(target=self._drain, daemon=True)
        self._reader.start()

    def _drain(self) -> None:
        while True:
            try:
                chunk = os.read(self.fd, 65536)
            except OSError:  # EIO: the monitor has gone
                return
            if not chunk:
                return
            with self._lock:
                self._output += chunk

    def mark(self) -> int:
        """Where the output stands now (what comes later is new)."""
        with self._lock:
            return len(self._output)

    def wait_for(self, find: Finder, since: int, deadline: float) -> bytes | None:
        """The first column name `find` sees in the text written after `since` (a
        `mark()`), escape sequences removed; polled every 0.2 ms."""
        seen = since
        while time.monotonic() < deadline:
            with self._lock:
                size = len(self._output)
                raw = bytes(self._output[since:]) if size > seen else b""
            if raw:
                seen = size
                found = find(ESCAPES.sub(b"", raw))
                if found is not None:
                    return found
            time.sleep(0.0002)
        return None

    def write(self, data: bytes) -> None:
        os.write(self.fd, data)

    def stop(self) -> int | None:
        """SIGTERM the monitor by PID, SIGKILL after 10 s; its exit status."""
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGTERM)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            done, status = os.waitpid(self.pid, os.WNOHANG)
            if done:
                return os.waitstatus_to_exitcode(status)
            time.sleep(0.05)
        os.kill(self.pid, signal.SIGKILL)
        return os.waitstatus_to_exitcode(os.waitpid(self.pid, 0)[1])


def title_other_than(last: bytes | None) -> Finder:
    """Finds a table title sorted by a column other than `last`."""

    def find(text: bytes) -> bytes | None:
        for match in SORTED_BY.finditer(text):
            if match.group(1) != last:
                return match.group(1)
        return None

    return find


def text(wanted: bytes) -> Finder:
    """Finds `wanted` itself."""
    return lambda screen: wanted if wanted in screen else None


def measure(presses: int, load: str, seed: int) -> list[float]:
    port = free_port()
    terminal = Terminal(
        pinned(1, [sys.executable, "-m", "tui_echo", "--port", str(port)]), (160, 48)
    )
    loadgen: subprocess.Popen[bytes] | None = None
    try:
        last = terminal.wait_for(
            title_other_than(None), 0, time.monotonic() + START_DEADLINE
        )
        if last is None:
            raise SystemExit("the monitor did not draw its table")
        if load != "none":
            seconds = presses * 1.0 + 10
            argv = [str(LOADGEN), "--mode", "pingpong", "--port", str(port)]
            argv += ["--conns", "50", "--size", "1024", "--idle", "1000"]
            argv += ["--duration", f"{seconds:.0f}"]
            loadgen = subprocess.Popen(
                pinned(0, argv), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )
            # Wait for the load to be on screen: 1,050 connected.
            shown = terminal.wait_for(
                text(b"1050 connected"), 0, time.monotonic() + START_DEADLINE
            )
            if shown is None:
                raise SystemExit("the load never showed on screen")
        rng = random.Random(seed)
        latencies: list[float] = []
        for _ in range(presses):
            time.sleep(rng.uniform(0.3, 1.3))  # spacing, not synchronisation
            since = terminal.mark()
            start = time.monotonic()
            terminal.write(b"s")
            found = terminal.wait_for(
                title_other_than(last), since, start + PRESS_DEADLINE
            )
            if found is None:
                raise SystemExit(f"a press did not show within {PRESS_DEADLINE} s")
            latencies.append((time.monotonic() - start) * 1000)
            last = found
        if loadgen is not None and loadgen.poll() not in (None, 0):
            raise SystemExit(f"loadgen failed with {loadgen.returncode}")
        return latencies
    finally:
        if loadgen is not None and loadgen.poll() is None:
            loadgen.terminate()
            loadgen.wait(10)
        terminal.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presses", type=int, default=40)
    parser.add_argument("--load", choices=["none", "pp-50x1k-idle1000"], default="none")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    if args.load != "none" and not LOADGEN.exists():
        raise SystemExit(f"{LOADGEN} is missing: run benchmarks/run.py --quick once")
    with contextlib.suppress(OSError):
        os.sched_setaffinity(0, {0})  # off the monitor's CPU
    latencies = sorted(measure(args.presses, args.load, args.seed))
    p90 = latencies[int(0.9 * (len(latencies) - 1))]
    print(
        f"key to screen, load {args.load}, {len(latencies)} presses: "
        f"median {statistics.median(latencies):.1f} ms, p90 {p90:.1f} ms, "
        f"max {latencies[-1]:.1f} ms"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
