"""The process's own limits, set once at start by the command."""

from __future__ import annotations

import contextlib
import gc
import resource


def allow_all_descriptors() -> int:
    """Raise the soft limit of open descriptors to the hard one (a server holding
    10,000 clients needs as many; the usual soft limit is 1,024); the limit now."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft >= hard:
        return soft
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        return hard
    return soft


YOUNG_COLLECTION_EVERY = 10_000
"""Allocations between two young collections (Python's default: 700)."""


def collect_garbage_less_often() -> None:
    """Keep the monitor's pauses short with many clients (call once its objects are
    built, before it runs).

    A full collection walks every tracked object: with 10,000 clients on screen it
    took 16-39 ms, and it landed on key presses. What exists when the monitor
    starts (modules, Textual's classes and tables) lives as long as the process, so
    it is frozen out of every collection; young collections every 10,000
    allocations instead of 700 make the full ones rarer. Garbage without cycles
    goes at once as ever (reference counting); cycles wait a little longer.
    """
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_COLLECTION_EVERY, middle, old)
