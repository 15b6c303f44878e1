"""The descriptor limit (RLIMIT_NOFILE) the harness, its servers and its loadgen share.

Limits are inherited: what the harness sets for itself before it starts anything
holds for every server (tmux and its panes included) and every loadgen it starts.
Tens of thousands of idle clients need more descriptors than a default shell gives
(often 1,024 soft; 20,000 hard here); root may raise the hard limit up to
/proc/sys/fs/nr_open, anyone the soft limit up to the hard one.
"""

from __future__ import annotations

import resource
from dataclasses import dataclass
from pathlib import Path

# descriptors a process needs besides its clients: the listening socket, epoll,
# logs, the interpreter's own files, Textual's pipes; generous on purpose
MARGIN = 1024


@dataclass(frozen=True)
class Nofile:
    """The limit before and after :func:`raise_nofile`, and why it stopped there."""

    before: tuple[int, int]  # (soft, hard)
    after: tuple[int, int]
    wanted: int
    why_short: str = ""  # set when the soft limit is below ``wanted``

    @property
    def soft(self) -> int:
        return self.after[0]

    @property
    def enough(self) -> bool:
        return self.soft >= self.wanted

    def clients(self, wanted: int) -> int:
        """The largest client count (``wanted`` at most) that fits the soft limit
        with MARGIN to spare, rounded down to a thousand when it does not fit."""
        if wanted + MARGIN <= self.soft:
            return wanted
        return max(0, (self.soft - MARGIN) // 1000 * 1000)

    @property
    def note(self) -> str:
        """A line for the report's header."""
        before = f"{_n(self.before[0])}/{_n(self.before[1])}"
        after = f"{_n(self.after[0])}/{_n(self.after[1])}"
        text = f"descriptors (RLIMIT_NOFILE soft/hard): {before}"
        text += f", raised to {after}" if self.after != self.before else ", unchanged"
        text += f" (wanted {_n(self.wanted)}); the servers and the loadgen inherit it"
        if self.why_short:
            text += f"; NOT ENOUGH: {self.why_short}"
        return text


def _n(value: int) -> str:
    return "unlimited" if value == resource.RLIM_INFINITY else f"{value:,}"


def nr_open() -> int | None:
    """The kernel's ceiling for any process's hard limit, or None if unreadable."""
    try:
        return int(Path("/proc/sys/fs/nr_open").read_text())
    except (OSError, ValueError):
        return None


def raise_nofile(wanted: int) -> Nofile:
    """Raise this process's soft limit to at least ``wanted`` descriptors, and the
    hard limit too where it is lower and that is permitted (root, up to
    nr_open).  Never lowers either."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    before = (soft, hard)
    why = ""
    if hard != resource.RLIM_INFINITY and hard < wanted:
        ceiling = nr_open()
        target = wanted if ceiling is None else min(wanted, ceiling)
        if target > hard:
            try:
                resource.setrlimit(resource.RLIMIT_NOFILE, (soft, target))
                hard = target
            except (OSError, ValueError) as exc:
                why = (
                    f"the hard limit stays {hard:,} ({exc}; raising it needs "
                    "CAP_SYS_RESOURCE, which root in a container may lack)"
                )
        if hard < wanted and not why:
            why = f"the kernel's nr_open is {ceiling:,}"
    new_soft = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if new_soft > soft:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (new_soft, hard))
            soft = new_soft
        except (OSError, ValueError) as exc:
            why = why or f"the soft limit stays {soft:,} ({exc})"
    after = resource.getrlimit(resource.RLIMIT_NOFILE)
    return Nofile(before, after, wanted, why if after[0] < wanted else "")
