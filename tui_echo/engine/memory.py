"""The memory budget of all clients' pending bytes, memory that a burst took given
back, and a garbage collector that never stalls.

glibc keeps the memory of freed buffers for reuse: once it has freed a large block,
it raises its own threshold for using separate mappings, so later buffers of that
size come from the heap, and a heap with a few live blocks in it cannot shrink: a
server whose clients' buffers all went would keep their memory for good.
`malloc_trim(0)` hands every free page back (milliseconds for hundreds of MiB); the
loop calls it when its `MemoryBudget` says enough was freed.
"""

from __future__ import annotations

import ctypes
import gc
import sys
from collections.abc import Callable

GC_THRESHOLDS = (20_000, 20, 100)
"""Collect the young generation every 20,000 allocations (Python's default: 700),
the middle one every 20 of those, the old one every 100 of those. The old
generation holds the monitor's model of every client; with the defaults its
collections come often and take tens of milliseconds under churn, and every thread
waits them out (the GIL), the echo loop too."""

_trim: Callable[[int], int] | None = None
_looked_up = False


def release_freed_memory() -> bool:
    """Return free heap pages to the system; False where the C library can't."""
    global _trim, _looked_up
    if not _looked_up:
        _looked_up = True
        _trim = _find_malloc_trim()
    if _trim is None:
        return False
    _trim(0)
    return True


def _find_malloc_trim() -> Callable[[int], int] | None:
    """glibc's `malloc_trim`, or None (other systems and C libraries lack it)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(None)  # the C library this process already uses
    except OSError:
        return None
    trim = getattr(libc, "malloc_trim", None)
    if trim is None:
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    found: Callable[[int], int] = trim
    return found


def calm_garbage_collector() -> None:
    """Collect rarely, and never walk what exists now again (the program itself:
    modules, classes, the UI's setup). For the command's process, not a library's."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


TRIM_AFTER = 32 * 1024 * 1024
"""Freed pending bytes that make it worth giving memory back to the system while a
burst still goes on."""
TRIM_AT_THE_END = 1024 * 1024
"""Freed pending bytes worth giving back once a burst is over (what is pending is
down to a quarter of the most it was since the last return)."""
TRIM_EVERY = 1.0
"""Seconds between two such returns at most (each takes milliseconds)."""


class MemoryBudget:
    """All clients' pending bytes together, against `max_memory` (loop thread only)."""

    __slots__ = ("high_water", "limit", "over", "pending", "trimmed_at")

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.pending = 0
        """Bytes pending over all clients."""
        self.over = False
        """Went past `limit` and has not come back under half of it yet."""
        self.high_water = 0
        """The most `pending` since memory was last given back."""
        self.trimmed_at = float("-inf")

    def add(self, change: int) -> bool:
        """Count `change` more (or fewer) pending bytes; True if `over` flipped."""
        self.pending += change
        if self.pending > self.high_water:
            self.high_water = self.pending
        if self.over:
            if self.pending > self.limit // 2:
                return False
        elif self.pending <= self.limit:
            return False
        self.over = not self.over
        return True

    def trim_due(self, now: float) -> bool:
        """True (once) when enough was freed that memory should go back to the
        system: `TRIM_AFTER` bytes below the high-water mark, or, once the burst
        is over, `TRIM_AT_THE_END`; at most every `TRIM_EVERY` seconds. Each
        return starts a new high-water mark from what is pending then, so every
        later burst, large or small, is given back in its turn."""
        freed = self.high_water - self.pending
        if freed < TRIM_AT_THE_END:
            return False
        if freed < TRIM_AFTER and self.pending > self.high_water // 4:
            return False
        if now - self.trimmed_at < TRIM_EVERY:
            return False
        self.high_water = self.pending
        self.trimmed_at = now
        return True
