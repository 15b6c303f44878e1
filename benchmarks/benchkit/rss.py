"""The server's resident memory over a run: settled before, and its peak while
the load runs (VmRSS from /proc, every 50 ms on a thread of its own)."""

from __future__ import annotations

import threading
import time

from .procs import read_status_kib


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


class PeakRss:
    """Samples a process's VmRSS every 50 ms on a thread of its own, for a set
    time from :meth:`start`, and keeps the peak (KiB)."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peak: int | None = None
        self.samples = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self, seconds: float) -> None:
        self._thread = threading.Thread(target=self._run, args=(seconds,))
        self._thread.daemon = True
        self._thread.start()

    def _run(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while True:
            rss = read_status_kib(self.pid, "VmRSS")
            if rss is not None:
                self.peak = rss if self.peak is None else max(self.peak, rss)
                self.samples += 1
            if self._stop.wait(0.05) or time.monotonic() >= end:
                return

    def stop(self) -> int | None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        return self.peak
