"""`DatagramFaults`: a fault in force on one UDP peer, acting per datagram.

A stream's fault (stack.py) shapes bytes; a datagram's acts on whole datagrams,
boundaries kept: `loss` drops one, `truncate` cuts it, `duplicate` sends it twice,
`reorder` holds it back until after the peer's next one (or `REORDER_WAIT`),
`delay`/`jitter` hold it (the same `DelayLine` as TCP's, so the same shapes and the
same `--seed` draws), `rate` paces them (a token bucket of one second's bytes, as
TCP's). What survives waits in `held`, in order, until `ready` lets it go; the
peer's port (engine/datagrams.py) sends it. No I/O; loop thread only.
"""

from __future__ import annotations

import random
from collections import deque

from tui_echo.faults.spec import FaultActivity, FaultSpec
from tui_echo.faults.stages import DelayLine, Stage

REORDER_WAIT = 0.1
"""Seconds a datagram `reorder` held back waits for the peer's next one: then it
goes anyway (SPEC: after 100 ms if none comes)."""

_SHORTEST_WAIT = 1e-6
"""Seconds: the least a paced datagram is told to wait (see stages.RateLimit)."""

_TOKEN_SLACK = 1e-6


class DatagramFaults:
    """What one UDP peer's fault does to its datagrams (loop thread only)."""

    __slots__ = (
        "delay",
        "delayed",
        "dropped",
        "duplicate",
        "duplicated",
        "held",
        "held_bytes",
        "kept",
        "kept_until",
        "last_release",
        "loss",
        "rate",
        "reorder",
        "reordered",
        "rng",
        "spec",
        "tokens",
        "tokens_at",
        "truncate",
        "truncated",
    )

    def __init__(self, spec: FaultSpec, now: float, rng: random.Random) -> None:
        self.spec = spec
        self.rng = rng
        """The faults' one seeded generator (`--seed`)."""
        self.loss = (spec.number("loss") or 0.0) / 100.0
        self.duplicate = (spec.number("duplicate") or 0.0) / 100.0
        self.reorder = (spec.number("reorder") or 0.0) / 100.0
        truncate = spec.number("truncate")
        self.truncate = None if truncate is None else int(truncate)
        self.delay: Stage | None = DelayLine.build(spec, now)
        rate = spec.number("rate")
        self.rate = None if rate is None else int(rate)
        self.tokens = 0.0
        """Bytes `rate` lets go now (the bucket starts empty, as TCP's)."""
        self.tokens_at = now
        self.held: deque[tuple[float, bytes]] = deque()
        """Datagrams that survived, with the time each may go, in order."""
        self.held_bytes = 0
        """Bytes in `held` and `kept`: pending bytes, bounded by the port."""
        self.last_release = now
        self.kept: tuple[bytes, int] | None = None
        """The datagram `reorder` holds back (and its copies: 2 if duplicated)."""
        self.kept_until = 0.0
        self.dropped = self.duplicated = self.reordered = 0
        self.truncated = self.delayed = 0

    def admit(self, data: bytes, now: float) -> None:
        """A datagram arrived: drop, cut, double, hold back or delay it; what is
        left waits in `held` (`ready` says when it goes)."""
        rng = self.rng
        if self.loss and rng.random() < self.loss:
            self.dropped += 1
            return
        if self.truncate is not None and len(data) > self.truncate:
            data = data[: self.truncate]
            self.truncated += 1
        copies = 1
        if self.duplicate and rng.random() < self.duplicate:
            copies = 2
            self.duplicated += 1
        kept = self.kept
        if self.reorder and kept is None and rng.random() < self.reorder:
            self.kept = (data, copies)
            self.kept_until = now + REORDER_WAIT
            self.held_bytes += len(data) * copies
            return
        self._queue(data, copies, now)
        if kept is not None:  # the one held back goes after this one
            self.kept = None
            self.held_bytes -= len(kept[0]) * kept[1]
            self.reordered += 1
            self._queue(kept[0], kept[1], now)

    def _queue(self, data: bytes, copies: int, now: float) -> None:
        release = now
        if self.delay is not None:
            # Order is kept, as for TCP: none goes before one that came earlier.
            release = max(
                self.delay.hold_until(now, self.rng) or now, self.last_release
            )
            self.last_release = release
            self.delayed += len(data) * copies
        for _ in range(copies):
            self.held.append((release, data))
            self.held_bytes += len(data)

    def ready(self, now: float) -> list[bytes]:
        """The datagrams that may go now, in order (their time came, the rate
        allows them); a datagram held back by `reorder` goes once its wait is over."""
        kept = self.kept
        if kept is not None and now >= self.kept_until:
            self.kept = None
            self.held_bytes -= len(kept[0]) * kept[1]
            self._queue(kept[0], kept[1], now)
        held = self.held
        out: list[bytes] = []
        rate = self.rate
        if rate is not None:
            self._refill(now)
        while held and held[0][0] <= now:
            data = held[0][1]
            if rate is not None:
                if self.tokens + _TOKEN_SLACK < min(len(data), rate):
                    break
                self.tokens -= len(data)
            held.popleft()
            self.held_bytes -= len(data)
            out.append(data)
        return out

    def _refill(self, now: float) -> None:
        rate = self.rate or 0
        self.tokens = min(float(rate), self.tokens + (now - self.tokens_at) * rate)
        self.tokens_at = now

    def deadline(self, now: float) -> float | None:
        """When `ready` may have more to give (None: nothing waits)."""
        deadline = self.kept_until if self.kept is not None else None
        held = self.held
        if held:
            at = held[0][0]
            rate = self.rate
            if rate is not None and at <= now:
                need = min(len(held[0][1]), rate) - self.tokens
                at = now + max(need / rate, _SHORTEST_WAIT)
            if deadline is None or at < deadline:
                deadline = at
        return deadline

    def release_all(self) -> list[bytes]:
        """Everything held, in order, to go now (the fault is replaced or cleared)."""
        out = [data for _, data in self.held]
        if self.kept is not None:
            out.extend([self.kept[0]] * self.kept[1])
        self.clear()
        return out

    def clear(self) -> None:
        """Drop whatever is held (the peer is gone)."""
        self.held.clear()
        self.kept = None
        self.held_bytes = 0

    def activity(self) -> FaultActivity:
        """What the fault has done since it was set."""
        return FaultActivity(
            delayed=self.delayed,
            pieces=0,
            discarded=0,
            dropped=self.dropped,
            duplicated=self.duplicated,
            reordered=self.reordered,
            truncated=self.truncated,
        )
