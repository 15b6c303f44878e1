"""`FaultStack`: a fault in force on one client, as its stages in order.

`Connection` (engine/connection.py) holds one while the client has a fault and asks
it, and only it, what the fault does to the bytes; it knows none of the stages. The
stack also keeps what outlives any one stage: the bytes held back (with their
release times, in order, so a replaced fault's bytes keep their turn), and what the
fault has done (`FaultActivity`). No I/O; loop thread only.
"""

from __future__ import annotations

import functools
import random
import sys
from collections import deque
from collections.abc import Callable
from typing import NamedTuple, cast

from tui_echo.events import Corrupted
from tui_echo.faults.spec import FaultActivity, FaultSpec
from tui_echo.faults.stages import Corrupter, Stage, build_stages
from tui_echo.states import CloseReason

ALTERED_PIECE = 64 * 1024
"""The most one send takes while a stage changes the bytes: what is planned for
them (a flip per byte, at worst) stays small."""


class FaultStack:
    """The stages of one client's fault, and the bytes it holds back."""

    __slots__ = (
        "_admitting",
        "_hearing",
        "_holding",
        "_limiting",
        "_pacing",
        "_timed",
        "_timing",
        "admits",
        "alters_bytes",
        "corrupter",
        "delayed",
        "discarded",
        "hears_sends",
        "held",
        "held_bytes",
        "holds",
        "in_base",
        "last_release",
        "out_base",
        "passing",
        "piece",
        "pieces",
        "rng",
        "shapes_sends",
        "spec",
        "stages",
        "stops_reading",
        "timed",
    )

    def __init__(
        self,
        spec: FaultSpec,
        now: float,
        bytes_in: int,
        bytes_out: int,
        rng: random.Random,
    ) -> None:
        self.spec = spec
        self.stages: list[Stage] = build_stages(spec, now)
        stages = self.stages
        plan = _plan_of(tuple(type(stage) for stage in stages))
        # The stages that do something at each step of every message, in order: a
        # stage that keeps the base class's no-op is not called for each one.
        self._admitting = [stages[i] for i in plan.admitting]
        self._holding = [stages[i] for i in plan.holding]
        self._hearing = [stages[i] for i in plan.hearing]
        self._timing = [stages[i] for i in plan.timing]
        self._timed = [stages[i] for i in plan.timed]
        self._limiting = [stages[i] for i in plan.limiting]
        self._pacing = [stages[i] for i in plan.pacing]
        self.piece = min(
            (piece for s in stages if (piece := s.piece_limit()) is not None),
            default=sys.maxsize,
        )
        """The most one send may take, whatever the time (`slice`)."""
        self.admits = bool(self._admitting)
        """A stage may throw received bytes away or close on them: ask `admit`."""
        self.holds = bool(self._holding)
        """A stage may hold received bytes back: ask `hold`."""
        self.passing = plan.passing
        """No stage acts on bytes or times sends: small reads may `pass`."""
        self.timed = bool(self._timed)
        """A stage closes on time: ask `due` when the deadline comes."""
        self.hears_sends = plan.shapes_sends or bool(self._hearing)
        """A stage counts what is sent: tell `sent`."""
        self.rng = rng
        """The faults' one seeded generator (`--seed`)."""
        self.shapes_sends = plan.shapes_sends
        """Sends are cut or paced: `outgoing` must ask `send_limit`."""
        self.stops_reading = plan.stops_reading
        self.alters_bytes = plan.alters_bytes
        """A stage changes the bytes sends take: `outgoing` must copy them."""
        self.corrupter = (
            None if plan.corrupter is None else cast(Corrupter, stages[plan.corrupter])
        )
        self.held: deque[tuple[float, bytearray]] = deque()
        """Bytes held back with their release times, oldest first (each chunk, once
        released, may become the pending bytes themselves: no second copy)."""
        self.held_bytes = 0
        self.last_release = now
        """The latest release time given: later bytes never go before it."""
        self.in_base, self.out_base = bytes_in, bytes_out
        """The client's counters when the fault was set: stages count from there."""
        self.delayed = self.pieces = self.discarded = 0

    def start(self, now: float, replaced: FaultStack | None) -> CloseReason | None:
        """The fault takes over from `replaced` (or from none): bytes the old one
        held keep their turn but wait no longer than this one would hold them.
        Returns a reason to close at once (`close-in=0`, `close-after=0`)."""
        if replaced is not None and replaced.held:
            latest = now + max((s.longest_hold() for s in self.stages), default=0.0)
            for release, chunk in replaced.held:
                self.held.append((min(release, latest), chunk))
                self.held_bytes += len(chunk)
                self.last_release = min(release, latest)
        reason = self.due(now)
        for stage in self.stages:
            reason = reason or stage.at_start()
        return reason

    def admit(
        self, size: int, bytes_in: int, bytes_out: int, pending: int
    ) -> tuple[int, CloseReason | None]:
        """How many of `size` bytes just received to keep, and whether to close; what
        is not kept is counted as discarded (all of it when closing)."""
        received, echoed = bytes_in - self.in_base, bytes_out - self.out_base
        keep = size
        for stage in self._admitting:
            keep, reason = stage.admit(keep, received, echoed, pending)
            if reason is not None:
                self.discarded += size
                return 0, reason
        self.discarded += size - keep
        return keep, None

    def passes(self, size: int) -> bool:
        """True when `size` bytes just received, with nothing pending before them,
        may go back as they are, in one send, as if no fault were set (ask only a
        `passing` fault): no stage acts on bytes but a `slice` they fit in (counted
        as a piece)."""
        if size > self.piece:
            return False
        if self.shapes_sends:
            self.pieces += 1
        return True

    def unsent(self) -> None:
        """The send that `passes` allowed took nothing: it was no piece."""
        if self.shapes_sends:
            self.pieces -= 1

    def hold(self, data: memoryview, now: float) -> bool:
        """Hold `data` back if a stage says so, behind what waits already (order is
        kept); False: it may go as soon as sends allow."""
        release = None
        for stage in self._holding:
            until = stage.hold_until(now, self.rng)
            if until is not None and (release is None or until > release):
                release = until
        if release is None:  # nothing holds bytes back now; what a replaced
            return False  # fault held was released by `start` up to now
        release = max(release, self.last_release)
        self.last_release = release
        self.held.append((release, bytearray(data)))
        self.held_bytes += len(data)
        self.delayed += len(data)
        return True

    def release(
        self, outbuf: bytes | bytearray, until: float | None
    ) -> bytes | bytearray:
        """`outbuf` with the held bytes whose time has come (all, if `until` is
        None) added after what is there."""
        held = self.held
        if not held or (until is not None and held[0][0] > until):
            return outbuf
        ready = outbuf
        while held and (until is None or held[0][0] <= until):
            _, chunk = held.popleft()
            self.held_bytes -= len(chunk)
            if ready:
                ready += chunk
            else:  # the chunk is the pending bytes now, as it is
                ready = chunk
        return ready

    def send_limit(self, pending: int, bytes_out: int) -> int:
        """How many of the `pending` bytes one send may take now (0: none)."""
        limit = pending if pending < self.piece else self.piece
        echoed = bytes_out - self.out_base
        for stage in self._limiting:
            limit = stage.send_limit(limit, echoed)
        return max(limit, 0)

    def outgoing(self, outbuf: bytes | bytearray, bytes_out: int) -> bytes | bytearray:
        """What the next send may take of `outbuf` (as `send_limit` says), with
        what the stages change in it: a copy (`outbuf` stays as it came), or
        `outbuf` itself when the send may take all of it as it is (send it before
        `outbuf` changes)."""
        limit = len(outbuf)
        if self.shapes_sends:
            limit = self.send_limit(limit, bytes_out)
        if not self.alters_bytes:
            if limit >= len(outbuf):  # all of it: as it is, no copy
                return outbuf
            return bytes(memoryview(outbuf)[:limit])
        data = bytearray(memoryview(outbuf)[: min(limit, ALTERED_PIECE)])
        echoed = bytes_out - self.out_base
        for stage in self.stages:
            if stage.alters_bytes:
                stage.alter(data, echoed, self.rng)
        return data

    def take_corrupted(self, client: int, ts: float) -> list[Corrupted]:
        """A `corrupt` event for each bit flipped since the last call (offsets in
        the client's echoed stream), at most `LISTED_FLIPS`: the last one listed
        says how many more were flipped beyond them."""
        if self.corrupter is None:
            return []
        flips, unlisted = self.corrupter.take()
        base, last = self.out_base, len(flips) - 1
        return [
            Corrupted(
                client=client,
                offset=base + at,
                bit=bit,
                more=unlisted if index == last else 0,
                ts=ts,
            )
            for index, (at, bit) in enumerate(flips)
        ]

    def send_wait(self, pending: int, now: float) -> float:
        """Seconds until the next piece of the `pending` bytes may go (0: now)."""
        piece = pending if pending < self.piece else self.piece
        wait = 0.0
        for stage in self._pacing:  # each is asked: a token bucket fills as it is
            stage_wait = stage.send_wait(piece, now)
            if stage_wait > wait:
                wait = stage_wait
        return wait

    def sent(self, count: int, bytes_out: int, now: float) -> CloseReason | None:
        """`count` bytes (more than none) went out; a reason if that closes it."""
        if self.shapes_sends:
            self.pieces += 1
        echoed = bytes_out - self.out_base
        reason = None
        for stage in self._hearing:  # every stage hears of it, whoever closes
            reason = stage.sent(count, echoed, now) or reason
        return reason

    def deadline(self) -> float | None:
        """When `due` (or a held byte's release) needs the loop's attention next."""
        deadline = self.held[0][0] if self.held else None
        for stage in self._timing:
            at = stage.deadline()
            if at is not None and (deadline is None or at < deadline):
                deadline = at
        return deadline

    def due(self, now: float) -> CloseReason | None:
        """A reason to close now that the time has come, if one has."""
        for stage in self._timed:
            reason = stage.due(now)
            if reason is not None:
                return reason
        return None

    def clear(self) -> None:
        """The client is gone: drop what is held."""
        self.held.clear()
        self.held_bytes = 0

    def activity(self) -> FaultActivity:
        """What the fault has done since it was set."""
        corrupted = 0 if self.corrupter is None else self.corrupter.made
        return FaultActivity(self.delayed, self.pieces, self.discarded, corrupted)


class _Plan(NamedTuple):
    """What a fault of some stage types does, worked out once for those types: a
    step on `all` sets a fault on a thousand clients in one turn of the loop."""

    admitting: tuple[int, ...]
    holding: tuple[int, ...]
    hearing: tuple[int, ...]
    timing: tuple[int, ...]
    timed: tuple[int, ...]
    limiting: tuple[int, ...]
    pacing: tuple[int, ...]
    passing: bool
    shapes_sends: bool
    stops_reading: bool
    alters_bytes: bool
    corrupter: int | None


@functools.lru_cache(maxsize=64)
def _plan_of(kinds: tuple[type[Stage], ...]) -> _Plan:
    def doing(hook: Callable[..., object]) -> tuple[int, ...]:
        """Where the types that override `hook`, a method of `Stage`, are."""
        name = hook.__name__
        found = (i for i, kind in enumerate(kinds) if getattr(kind, name) is not hook)
        return tuple(found)

    admitting, holding, hearing = (
        doing(Stage.admit),
        doing(Stage.hold_until),
        doing(Stage.sent),
    )
    limiting, pacing = doing(Stage.send_limit), doing(Stage.send_wait)
    alters_bytes = any(kind.alters_bytes for kind in kinds)
    stops_reading = any(kind.stops_reading for kind in kinds)
    return _Plan(
        admitting=admitting,
        holding=holding,
        hearing=hearing,
        timing=doing(Stage.deadline),
        timed=doing(Stage.due),
        limiting=limiting,
        pacing=pacing,
        passing=not (admitting or holding or hearing or limiting or pacing)
        and not (alters_bytes or stops_reading),
        shapes_sends=any(kind.shapes_sends for kind in kinds),
        stops_reading=stops_reading,
        alters_bytes=alters_bytes,
        corrupter=next(
            (i for i, kind in enumerate(kinds) if issubclass(kind, Corrupter)), None
        ),
    )
