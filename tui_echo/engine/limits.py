"""`Limits`: what every connection shares (loop thread): its bounds and the faults'
seeded generator."""

from __future__ import annotations

import random
from dataclasses import dataclass

from tui_echo.engine.memory import MemoryBudget


@dataclass(frozen=True, slots=True)
class Limits:
    """What every connection shares: its limits (from `ServerConfig`) and more."""

    max_buffer: int
    """Most pending bytes one client may hold; reading pauses there."""
    budget: MemoryBudget
    """All clients' pending bytes, shared."""
    rng: random.Random
    """The faults' one seeded generator (`--seed`): jitter repeats with the seed."""

    @property
    def resume_below(self) -> int:
        """A paused client reads again once its pending bytes are down to this."""
        return self.max_buffer // 2
