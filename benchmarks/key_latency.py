"""How soon a key press shows: the monitor in a real pseudo-terminal, timed from the
key written to the pty to the repainted title read back from it.

    python benchmarks/key_latency.py [--presses 40] [--load none|pp-50x1k-idle1000]
    python benchmarks/key_latency.py --clients 10000               # 10,000 idle
    python benchmarks/key_latency.py --load pp-50x1k --clients 10000  # 50 of them busy

The monitor (`python -m tui_echo`, 160x48, TERM=xterm-256color) runs on a pty that
this script drains all the time, as a terminal would, pinned to CPU 1 like the
server in `run.py`; with `--load` the load generator runs on CPU 0 (`loadgen`
ping-pong 50 x 1 KiB with 1,000 idle clients held, or with `pp-50x1k` and
`--clients N`, N - 50 idle clients held besides the 50 busy ones). `--clients N`
with no load holds N idle clients (`loadgen --mode idle`). The clients connect once
the monitor has drawn and its port accepts, and the presses start once it shows
them all.
Each press is `s` (sort by the next column): the table's title says "sorted by
COLUMN", so the press has shown once the terminal receives a title naming a column
other than the last one. Presses are spaced by a random 0.3 to 1.3 s, so they land
anywhere in the monitor's 1 s refresh cycle. Prints the median, p90 and maximum in
milliseconds (goal: 50 ms).
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

from benchkit.limits import MARGIN, raise_nofile
from benchkit.procs import free_port, pinned, port_accepts

HERE = Path(__file__).resolve().parent
LOADGEN = HERE / "build" / "loadgen"
ESCAPES = re.compile(rb"\x1b(\[[0-9;?<>=]*[ -/]*[@-~]|\][^\x07\x1b]*(\x07|\x1b\\)|.)")
SORTED_BY = re.compile(rb"sorted by (\S+)")
CONNECTED = re.compile(rb"\d+ connected")
LOADGEN_READY = re.compile(rb"^(ready|holding) (\d+)", re.MULTILINE)
LOADGEN_LOG = HERE / "build" / "logs" / "key_latency.loadgen.log"
START_DEADLINE = 20.0
PRESS_DEADLINE = 5.0
ACTIVE = 50  # the busy clients of the ping-pong loads

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

    def output(self) -> bytes:
        """Everything the monitor has written so far."""
        with self._lock:
            return bytes(self._output)

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


def loadgen_argv(load: str, clients: int, port: int, seconds: float) -> list[str]:
    """The load: ping-pong 50 x 1 KiB with the other clients idle, or only idle
    clients (held until stopped, or ``seconds`` at most)."""
    argv = [str(LOADGEN), "--port", str(port), "--duration", f"{seconds:.0f}"]
    argv += ["--connect-timeout", f"{max(30, clients / 500):.0f}"]
    if load == "none":
        return [*argv, "--mode", "idle", "--conns", str(clients)]
    argv += ["--mode", "pingpong", "--conns", str(ACTIVE), "--size", "1024"]
    if clients > ACTIVE:
        argv += ["--idle", str(clients - ACTIVE)]
    return argv


def measure(
    presses: int, load: str, clients: int, seed: int, each: bool = False
) -> list[float]:
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
        if clients:
            # The first screen may come a few ms before the port listens: the
            # loadgen's first connects would be refused.
            listening = time.monotonic() + START_DEADLINE
            while not port_accepts("127.0.0.1", port):
                if time.monotonic() > listening:
                    raise SystemExit(f"port {port} never accepted a connection")
                time.sleep(0.02)
            connecting = clients / 500  # the monitor accepts a few thousand a second
            seconds = presses * 1.3 + 30 + 2 * connecting
            argv = loadgen_argv(load, clients, port, seconds)
            LOADGEN_LOG.parent.mkdir(parents=True, exist_ok=True)
            with LOADGEN_LOG.open("wb") as log:
                loadgen = subprocess.Popen(pinned(0, argv), stdout=log, stderr=log)
            # Wait for the load to be on screen: every client connected.  The
            # loadgen says so first ("ready N" or "holding N idle"): a screen
            # that repaints only the cells that changed may never write the
            # whole "N connected" again, so its saying so is enough then.
            wanted = text(b"%d connected" % clients)
            deadline = time.monotonic() + START_DEADLINE + connecting
            shown = None
            while shown is None and time.monotonic() < deadline:
                if loadgen.poll() is not None:
                    break
                if ready := LOADGEN_READY.search(LOADGEN_LOG.read_bytes()):
                    expected = clients if load == "none" else clients - ACTIVE
                    if int(ready[2]) != expected:
                        raise SystemExit(
                            f"the loadgen connected {int(ready[2])} of {expected}"
                        )
                    shown = terminal.wait_for(wanted, 0, time.monotonic() + 3)
                    if shown is None:
                        print(
                            f"note: the loadgen holds its {clients} clients, but "
                            "the screen never spelt it out; pressing anyway",
                            file=sys.stderr,
                        )
                        shown = b""
                else:
                    shown = terminal.wait_for(wanted, 0, time.monotonic() + 0.2)
            if shown is None:
                seen = CONNECTED.findall(ESCAPES.sub(b"", terminal.output()))
                last_shown = seen[-1].decode() if seen else "nothing"
                said = LOADGEN_LOG.read_text(errors="replace").strip()
                raise SystemExit(
                    f"{clients} connected never showed on screen (last shown: "
                    f"{last_shown}; loadgen: {said[-300:] or 'nothing'})"
                )
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
            if each:
                print(f"{latencies[-1]:6.1f} ms  sorted by {found.decode()}")
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
    parser.add_argument(
        "--load",
        choices=["none", "pp-50x1k-idle1000", "pp-50x1k"],
        default="none",
        help="none (the default), ping-pong 50 x 1 KiB with 1,000 idle clients, or "
        "ping-pong 50 x 1 KiB with --clients in all",
    )
    parser.add_argument(
        "--clients",
        type=int,
        help="clients connected in all: idle ones with --load none, the 50 busy "
        "ones and N - 50 idle with pp-50x1k (default: 0, 1,050 with "
        "pp-50x1k-idle1000, 50 with pp-50x1k)",
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--each", action="store_true", help="print every press: its time and column"
    )
    args = parser.parse_args()
    preset = {"none": 0, "pp-50x1k-idle1000": 1050, "pp-50x1k": ACTIVE}[args.load]
    clients = preset if args.clients is None else args.clients
    if args.load == "pp-50x1k-idle1000" and clients != preset:
        parser.error("pp-50x1k-idle1000 is 1,050 clients: use --load pp-50x1k")
    if args.load == "pp-50x1k" and clients < ACTIVE:
        parser.error(f"pp-50x1k needs --clients {ACTIVE} or more")
    if clients < 0:
        parser.error("--clients must not be negative")
    if clients and not LOADGEN.exists():
        raise SystemExit(f"{LOADGEN} is missing: run benchmarks/run.py --quick once")
    # before the monitor and the loadgen start: they inherit it
    nofile = raise_nofile(clients + MARGIN)
    if not nofile.enough:
        raise SystemExit(nofile.note)
    with contextlib.suppress(OSError):
        os.sched_setaffinity(0, {0})  # off the monitor's CPU
    latencies = sorted(measure(args.presses, args.load, clients, args.seed, args.each))
    p90 = latencies[int(0.9 * (len(latencies) - 1))]
    print(
        f"key to screen, load {args.load}, {clients} clients connected, "
        f"{len(latencies)} presses: "
        f"median {statistics.median(latencies):.1f} ms, p90 {p90:.1f} ms, "
        f"max {latencies[-1]:.1f} ms"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
