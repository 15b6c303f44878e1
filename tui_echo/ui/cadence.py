"""`Cadence`: when the monitor refreshes. Pure: no Textual, no clock of its own.

SPEC "Interactive mode": about once an interval while nobody touches the app (htop
1.5 s, dolphie 1 s, k9s 2 s), at once on input, but never more often than
`input_gap` however fast the keys come, since each refresh holds the GIL the echo
loop needs. A backlog of events growing in the feed asks for a refresh before the
tick, so the server never stops accepting for want of a reader.
"""

from __future__ import annotations

from dataclasses import dataclass

REFRESH_INTERVAL = 1.0
"""Seconds between refreshes while nobody touches anything."""

INPUT_REFRESH_GAP = 0.1
"""Least seconds between two refreshes that input asks for: a held key repeats
thirty times a second."""

EARLY_REFRESH_BACKLOG = 25_000
"""Lifecycle events waiting in the feed that call for a refresh before the tick.
Under heavy churn a second's worth of events would reach the feed's limit (50,000),
where the server stops accepting; half the limit leaves room for the refresh to
come. Not much less: every refresh holds the GIL, and refreshes that come too often
slow the churn they are draining (benchmarks/results keeps the measurements)."""

MAX_EVENTS_PER_REFRESH = 100_000
"""A cap on one refresh's work (more than the server lets wait: it stops accepting
at 50,000 lifecycle events); the rest is taken soon by another refresh."""


@dataclass(slots=True)
class Cadence:
    """Decides when the next refresh comes; the app runs the timers (UI thread).

    Times are seconds of a monotonic clock the caller passes in.
    """

    interval: float = REFRESH_INTERVAL
    input_gap: float = INPUT_REFRESH_GAP
    early_backlog: int = EARLY_REFRESH_BACKLOG
    batch_limit: int = MAX_EVENTS_PER_REFRESH
    last: float = float("-inf")
    """When the last refresh ran."""
    waiting: bool = False
    """A refresh that input, a command or a backlog asked for is on its way."""

    def tick_refreshes(self, now: float) -> bool:
        """Should the interval's tick refresh? Not when input refreshed less than
        half an interval ago: the tick would show nothing new."""
        return now - self.last >= self.interval / 2

    def ask(self, now: float, delay: float = 0.0) -> float | None:
        """Input, a command or a growing backlog wants a refresh after `delay`:
        the seconds to wait (at least until `input_gap` after the last refresh;
        0 or less means now), or None when one is already on its way."""
        if self.waiting:
            return None
        self.waiting = True
        return max(delay, self.last + self.input_gap - now)

    def asked_refresh_runs(self) -> None:
        """The refresh that `ask` scheduled is running: another may be asked."""
        self.waiting = False

    def refreshed(self, now: float, taken: int) -> float | None:
        """A refresh ran at `now` and took `taken` events: the delay of another
        one, when it took a full batch (more wait), else None."""
        self.last = now
        if taken >= self.batch_limit:
            return self.ask(now, self.input_gap)
        return None
