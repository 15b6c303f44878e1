"""The fault stages: each item's behaviour on one client, as a small type.

A `FaultStack` (stack.py) holds a client's stages in order and asks each, through
the same few hooks, what to do with the bytes it is given: how much of a read to
keep (`admit`), how long to hold bytes back (`hold_until`), how much one send may
take and when (`piece_limit`, `send_limit`, `send_wait`), what a send means
(`sent`), and when to close (`deadline`, `due`, `at_start`). A stage overrides only
the hooks its item needs; the defaults change nothing. No I/O, loop thread only.

Counters passed in count from when the fault was set: `received` and `echoed`
bytes since then, and `pending` bytes now.
"""

from __future__ import annotations

import functools
import math
import random
from typing import ClassVar

from tui_echo.faults import shapes
from tui_echo.faults.shapes import UNIFORM, Jitter
from tui_echo.faults.spec import FaultSpec
from tui_echo.states import CloseReason

RATE_SENDS_PER_SECOND = 50
"""A `rate` echoes in sends of about rate/50 bytes: smooth, yet few wake-ups."""

_SHORTEST_WAIT = 1e-6
"""Seconds: the least a paced send is told to wait."""

LISTED_FLIPS = 10
"""Flips of one client listed one by one between two takes (one per tick: 100 a
second); more are counted, not listed, so no load floods the events."""

_TOKEN_SLACK = 1e-6
"""Rounding in the token arithmetic: a bucket this close to full enough is enough."""


class Stage:
    """One item's behaviour on one client; every hook's default does nothing."""

    __slots__ = ()

    shapes_sends: ClassVar[bool] = False
    """True when it limits what one send may take, or when."""
    stops_reading: ClassVar[bool] = False
    """True when the client must not be read at all."""
    alters_bytes: ClassVar[bool] = False
    """True when it changes the bytes a send takes (`alter`)."""

    @classmethod
    def build(cls, spec: FaultSpec, now: float) -> Stage | None:
        """This stage for a fault set at `now`, or None if `spec` has no part in it."""
        raise NotImplementedError

    def at_start(self) -> CloseReason | None:
        """Close at once, as the fault is set (`close-after=0`)?"""
        return None

    def admit(
        self, size: int, received: int, echoed: int, pending: int
    ) -> tuple[int, CloseReason | None]:
        """How many of `size` bytes just received to keep (the rest is thrown away,
        counted as discarded), and whether to close now."""
        return size, None

    def hold_until(self, now: float, rng: random.Random) -> float | None:
        """When bytes received now may go (None: as soon as the rest allows)."""
        return None

    def longest_hold(self) -> float:
        """The longest `hold_until` may hold bytes (bytes a replaced fault held wait
        no longer than this)."""
        return 0.0

    def piece_limit(self) -> int | None:
        """The most one send may take, whatever the time (None: no limit); asked
        once, when the fault is set."""
        return None

    def send_limit(self, limit: int, echoed: int) -> int:
        """The most the next send may take now, given `limit` from the others."""
        return limit

    def send_wait(self, piece: int, now: float) -> float:
        """Seconds until a send of `piece` bytes may go (0: now)."""
        return 0.0

    def alter(self, data: bytearray, echoed: int, rng: random.Random) -> None:
        """Change `data`, a copy of what the next send takes, which goes out from
        position `echoed` (`alters_bytes` stages only)."""

    def sent(self, count: int, echoed: int, now: float) -> CloseReason | None:
        """`count` bytes went out; close now?"""
        return None

    def deadline(self) -> float | None:
        """When `due` must be asked next, if ever."""
        return None

    def due(self, now: float) -> CloseReason | None:
        """The time came (or not): close now?"""
        return None


class DelayLine(Stage):
    """`delay` and `jitter`: each byte waits DURATION, plus what the jitter's shape
    draws (0..jitter for the uniform one: shapes.py), after it came."""

    __slots__ = ("delay", "dist", "extra", "jitter")

    @classmethod
    def build(cls, spec: FaultSpec, now: float) -> Stage | None:
        delay, jitter = spec.number("delay"), spec.get("jitter")
        seconds, dist = (
            (jitter.seconds, jitter.dist)
            if isinstance(jitter, Jitter)
            else (float(jitter or 0.0), UNIFORM)
        )
        if not (delay or seconds):  # zero: bytes go as they come
            return None
        return cls(float(delay or 0.0), seconds, dist)

    def __init__(self, delay: float, jitter: float, dist: str = UNIFORM) -> None:
        self.delay, self.jitter, self.dist = delay, jitter, dist
        self.extra = None if dist == UNIFORM else shapes.sampler(jitter, dist)
        """What the jitter adds for a draw (uniform: one multiplication, inline)."""

    def hold_until(self, now: float, rng: random.Random) -> float | None:
        release = now + self.delay
        if self.jitter:
            if self.extra is None:  # uniform, as it always was
                release += rng.random() * self.jitter
            else:
                release += self.extra(rng.random())
        return release

    def longest_hold(self) -> float:
        return self.delay + shapes.longest(self.jitter, self.dist)


class RateLimit(Stage):
    """`rate`: a token bucket of at most one second's bytes, starting empty."""

    __slots__ = ("rate", "tokens", "tokens_at")
    shapes_sends = True

    @classmethod
    def build(cls, spec: FaultSpec, now: float) -> Stage | None:
        rate = spec.number("rate")
        return None if rate is None else cls(int(rate), now)

    def __init__(self, rate: int, now: float) -> None:
        self.rate = rate
        self.tokens = 0.0
        """Bytes that may be sent now."""
        self.tokens_at = now

    def send_limit(self, limit: int, echoed: int) -> int:
        return min(limit, int(self.tokens + _TOKEN_SLACK))

    def send_wait(self, piece: int, now: float) -> float:
        rate = self.rate
        self.tokens = min(float(rate), self.tokens + (now - self.tokens_at) * rate)
        self.tokens_at = now
        want = min(piece, max(1, rate // RATE_SENDS_PER_SECOND))
        if self.tokens + _TOKEN_SLACK < want:
            # Never less than a microsecond: a wait below the clock's step would
            # make a deadline equal to now, and the loop would run it forever.
            return max((want - self.tokens) / rate, _SHORTEST_WAIT)
        return 0.0

    def sent(self, count: int, echoed: int, now: float) -> CloseReason | None:
        self.tokens -= count
        return None


class Slicer(Stage):
    """`slice`: at most SIZE bytes per send."""

    __slots__ = ("size",)
    shapes_sends = True

    @classmethod
    def build(cls, spec: FaultSpec, now: float) -> Stage | None:
        size = spec.number("slice")
        return None if size is None else cls(int(size))

    def __init__(self, size: int) -> None:
        self.size = size

    def piece_limit(self) -> int | None:
        return self.size


class Gap(Stage):
    """`gap`: DURATION between two sends."""

    __slots__ = ("gap", "send_after")
    shapes_sends = True

    @classmethod
    def build(cls, spec: FaultSpec, now: float) -> Stage | None:
        gap = spec.number("gap")
        return cls(float(gap), now) if gap else None

    def __init__(self, gap: float, now: float) -> None:
        self.gap = gap
        self.send_after = now

    def send_wait(self, piece: int, now: float) -> float:
        return max(0.0, self.send_after - now)

    def sent(self, count: int, echoed: int, now: float) -> CloseReason | None:
        self.send_after = now + self.gap
        return None


class Corrupter(Stage):
    """`corrupt=1/N`: one random bit flipped in about one echoed byte in N.

    Which bytes is planned ahead in the echoed stream (geometric gaps, so each byte
    has a 1/N chance), then applied to the copy of the bytes a send takes
    (`alter`); a flip counts once the send took its byte (`sent`), so a byte that
    did not go out is flipped again, the same way, when it does.
    """

    __slots__ = ("flips", "made", "one_in", "planned", "scale", "unlisted")
    alters_bytes = True

    @classmethod
    def build(cls, spec: FaultSpec, now: float) -> Stage | None:
        one_in = spec.number("corrupt")
        return None if one_in is None else cls(int(one_in))

    def __init__(self, one_in: int) -> None:
        self.one_in = one_in
        # A byte is flipped with chance p = 1/N, so the gap to the next flipped
        # one is geometric: 1 + floor(log(U) / log(1 - p)), U uniform in (0, 1].
        self.scale = 0.0 if one_in == 1 else 1.0 / math.log1p(-1.0 / one_in)
        self.planned: list[tuple[int, int]] = []
        """(position since the fault was set, bit) of the flips to come, in order."""
        self.made = 0
        """Flips made: bytes that went out with a bit flipped."""
        self.flips: list[tuple[int, int]] = []
        """Flips made and not yet taken (`take`), at most `LISTED_FLIPS`."""
        self.unlisted = 0
        """Flips made and not yet taken beyond those."""

    def _plan(self, end: int, rng: random.Random) -> None:
        """Plan flips until one at or past position `end`."""
        planned, scale = self.planned, self.scale
        last = planned[-1][0] if planned else -1
        while last < end:
            last += 1 + int(math.log(1.0 - rng.random()) * scale) if scale else 1
            planned.append((last, rng.randrange(8)))

    def alter(self, data: bytearray, echoed: int, rng: random.Random) -> None:
        end = echoed + len(data)
        if not self.planned or self.planned[-1][0] < end:
            self._plan(end, rng)
        for at, bit in self.planned:
            if at >= end:
                break
            data[at - echoed] ^= 1 << bit

    def sent(self, count: int, echoed: int, now: float) -> CloseReason | None:
        planned = self.planned
        done = 0
        while done < len(planned) and planned[done][0] < echoed:
            done += 1
        if done:
            self.made += done
            room = LISTED_FLIPS - len(self.flips)
            self.flips.extend(planned[: min(done, room)])
            self.unlisted += max(0, done - room)
            del planned[:done]
        return None

    def take(self) -> tuple[list[tuple[int, int]], int]:
        """The flips made since the last `take` (positions since the fault was
        set), and how many more were made beyond them."""
        taken = self.flips, self.unlisted
        self.flips, self.unlisted = [], 0
        return taken


class Stall(Stage):
    """`stall`: the client is not read at all."""

    __slots__ = ()
    stops_reading = True

    @classmethod
    def build(cls, spec: FaultSpec, now: float) -> Stage | None:
        return cls() if spec.number("stall") else None


class Blackhole(Stage):
    """`blackhole`: everything read is thrown away."""

    __slots__ = ()

    @classmethod
    def build(cls, spec: FaultSpec, now: float) -> Stage | None:
        return cls() if spec.number("blackhole") else None

    def admit(
        self, size: int, received: int, echoed: int, pending: int
    ) -> tuple[int, CloseReason | None]:
        return 0, None


class CloseAfter(Stage):
    """`close-after`: FIN once SIZE bytes were echoed; what would go past is dropped."""

    __slots__ = ("size",)
    shapes_sends = True

    @classmethod
    def build(cls, spec: FaultSpec, now: float) -> Stage | None:
        size = spec.number("close-after")
        return None if size is None else cls(int(size))

    def __init__(self, size: int) -> None:
        self.size = size

    def at_start(self) -> CloseReason | None:
        return CloseReason.CLOSE_AFTER if self.size == 0 else None

    def admit(
        self, size: int, received: int, echoed: int, pending: int
    ) -> tuple[int, CloseReason | None]:
        room = self.size - echoed - pending
        return (size if room >= size else max(room, 0)), None

    def send_limit(self, limit: int, echoed: int) -> int:
        return min(limit, self.size - echoed)

    def sent(self, count: int, echoed: int, now: float) -> CloseReason | None:
        return CloseReason.CLOSE_AFTER if echoed >= self.size else None


class ResetAfter(Stage):
    """`reset-after`: RST as soon as SIZE bytes were received (the read that gets
    there is thrown away: the RST comes first)."""

    __slots__ = ("size",)

    @classmethod
    def build(cls, spec: FaultSpec, now: float) -> Stage | None:
        size = spec.number("reset-after")
        return None if size is None else cls(int(size))

    def __init__(self, size: int) -> None:
        self.size = size

    def at_start(self) -> CloseReason | None:
        return CloseReason.RESET_AFTER if self.size == 0 else None

    def admit(
        self, size: int, received: int, echoed: int, pending: int
    ) -> tuple[int, CloseReason | None]:
        if received >= self.size:
            return 0, CloseReason.RESET_AFTER
        return size, None


class CloseAt(Stage):
    """`close-in` / `reset-in`: close (FIN / RST) DURATION after the fault was set."""

    __slots__ = ("at",)
    item: ClassVar[str]
    reason: ClassVar[CloseReason]

    def __init__(self, at: float) -> None:
        self.at = at

    @classmethod
    def build(cls, spec: FaultSpec, now: float) -> Stage | None:
        seconds = spec.number(cls.item)
        return None if seconds is None else cls(now + float(seconds))

    def deadline(self) -> float | None:
        return self.at

    def due(self, now: float) -> CloseReason | None:
        return self.reason if now >= self.at else None


class ResetIn(CloseAt):
    """`reset-in`: RST DURATION after the fault was set."""

    __slots__ = ()
    item = "reset-in"
    reason = CloseReason.RESET_IN


class CloseIn(CloseAt):
    """`close-in`: FIN DURATION after the fault was set."""

    __slots__ = ()
    item = "close-in"
    reason = CloseReason.CLOSE_IN


STAGE_TYPES: tuple[type[Stage], ...] = (
    ResetIn,  # before CloseIn: a reset wins a tie
    CloseIn,
    ResetAfter,
    Blackhole,
    CloseAfter,
    Stall,
    DelayLine,
    Slicer,
    RateLimit,
    Gap,
    Corrupter,
)
"""Every stage, in the order they act on a client: time-based closes first, then
what decides about received bytes, then what holds them, then what shapes sends."""


def build_stages(spec: FaultSpec, now: float) -> list[Stage]:
    """The stages of a fault set at `now`, in `STAGE_TYPES`' order."""
    built = (kind.build(spec, now) for kind in _kinds_of(spec))
    return [stage for stage in built if stage is not None]


@functools.lru_cache(maxsize=256)
def _kinds_of(spec: FaultSpec) -> tuple[type[Stage], ...]:
    """The stage types a SPEC has (whether a stage is built depends on the SPEC
    alone): a step on `all` builds only these for each of a thousand clients."""
    return tuple(kind for kind in STAGE_TYPES if kind.build(spec, 0.0) is not None)
