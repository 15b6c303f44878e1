"""`LogReplay`: a JSON Lines log (`--no-ui --log-format json`) played into the monitor.

`tui-echo replay FILE` gives the monitor one of these instead of a server: a feed
that a thread fills at the log's recorded pace (times `speed`), and a clock that
runs on the log's time, so ages, rates and lingering rows look as they did. Nothing
can be done to clients that are long gone: a replay has no `commands` and no
`kernel`, only `playback` (pause, faster, slower). A log cut off
mid-line, or holding a line that is not one of our events, plays up to there and
then says where it stopped; at its end the replay stays on the last state.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import IO

from tui_echo.engine.feed import EventFeed
from tui_echo.events import ClientData, Event, ServerError
from tui_echo.events_parse import from_json_line
from tui_echo.sources.contract import Commands, KernelProbe, Mode, Playback, Seed
from tui_echo.words import os_reason, quoted

MAX_LINE = 64 * 1024
"""The longest log line read: an event is a few hundred bytes; a longer line is
refused after this many bytes, never buffered whole."""

SPEEDS = (0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0)
"""The speeds `faster` and `slower` step through."""

PACE = 0.02
"""Seconds between two batches of replayed events: smooth, and few wake-ups."""


FEED_LIMIT = 30_000
"""Events read ahead of the monitor at most. Above the monitor's early refresh
(25,000, which it then takes at once) and below the live feed's 50,000: a refresh
folds less at a time, so `q` waits less behind one."""


class ReplayError(Exception):
    """The log cannot be read at all: one line for the operator.

    `exit_status` is 2 when the file is not a log to replay (empty, or not our
    events), 1 when it cannot be read."""

    def __init__(self, message: str, exit_status: int = 1) -> None:
        super().__init__(message)
        self.exit_status = exit_status


class LogReplay:
    """Plays a recorded log into a feed, on the log's own clock (any thread).

    A `Source` with playback and nothing else: clients of a log cannot be kicked,
    and it has no bytes or kernel to ask."""

    mode: Mode = "replay"
    commands: Commands | None = None
    kernel: KernelProbe | None = None

    def __init__(self, path: str, speed: float = 1.0) -> None:
        self.path = path
        self.shown_path = quoted(path, limit=200)
        """The file's name, escaped, for every message that names it."""
        self.playback: Playback | None = self
        self.seed: Seed | None = None
        self.feed = EventFeed(backlog_limit=FEED_LIMIT)
        self.speed = speed
        self.paused = False
        self.finished = False
        """The whole log (or all of it that could be read) has been played."""
        self.stopped_at: str | None = None
        """Where and why the replay stopped early, if it did."""
        try:
            # Open for the replay's life: the player thread reads it line by line.
            self._file: IO[bytes] = Path(path).open("rb")  # noqa: SIM115
        except OSError as exc:
            raise ReplayError(
                f"cannot read {self.shown_path}: {os_reason(exc)}"
            ) from None
        self._number = 0
        """Lines read so far."""
        try:
            first = self._first_event()
        except BaseException:
            self._file.close()
            raise
        self._lock = threading.Condition()
        self._log_time: float | None = None
        """The log's time at `_wall_time` (None until the first event)."""
        self._wall_time = time.monotonic()
        self._stop = False
        self._thread = threading.Thread(
            target=self._play, args=(first,), name="tui-echo-replay", daemon=True
        )
        self._thread.start()

    # ---- the log's clock ----

    def clock(self) -> float:
        """The log's time now: it runs at `speed`, stops while paused and at the end."""
        with self._lock:
            return self._now()

    def _now(self) -> float:
        if self._log_time is None:
            return time.time()
        if self.paused or self.finished:
            return self._log_time
        return self._log_time + (time.monotonic() - self._wall_time) * self.speed

    def _rebase(self) -> None:
        """Pin the log's time to now before the pace changes."""
        if self._log_time is not None:
            self._log_time = self._now()
        self._wall_time = time.monotonic()

    # ---- keys ----

    def toggle_pause(self) -> None:
        with self._lock:
            self._rebase()
            self.paused = not self.paused
            self._lock.notify_all()

    def faster(self) -> None:
        self._set_speed(next((s for s in SPEEDS if s > self.speed), SPEEDS[-1]))

    def slower(self) -> None:
        self._set_speed(
            next((s for s in reversed(SPEEDS) if s < self.speed), SPEEDS[0])
        )

    def _set_speed(self, speed: float) -> None:
        with self._lock:
            self._rebase()
            self.speed = speed
            self._lock.notify_all()

    def mode_detail(self) -> str:
        """Speed and where the playback is, for the status bar."""
        where = "paused" if self.paused else "playing"
        if self.stopped_at is not None and self.finished:
            where = f"stopped at {self.stopped_at.split(':')[0]}"
        elif self.finished:
            where = "at the end"
        return f"x{self.speed:g}, {where}"

    def stop(self) -> None:
        """Stop playing and close the log."""
        with self._lock:
            self._stop = True
            self._lock.notify_all()
        self._thread.join(1.0)
        self._file.close()

    # ---- the player thread ----

    def _read_event(self) -> Event | None:
        """The next event of the log (None at its end).

        Raises:
            ValueError: the line is not one of our events, is too long, or is cut
                off; the message says why in words.
        """
        while True:
            # Bounded: a line of hundreds of MB is refused after MAX_LINE bytes.
            raw = self._file.readline(MAX_LINE + 1)
            self._number += 1
            if not raw:
                return None
            if not raw.endswith(b"\n"):
                if len(raw) > MAX_LINE:
                    raise ValueError(f"the line is longer than {MAX_LINE:,} bytes")
                raise ValueError("the log is cut off in the middle of a line")
            if raw.strip():
                return from_json_line(raw.decode("utf-8", errors="replace"))

    def _unreadable(self, exc: OSError) -> str:
        return f"cannot read {self.shown_path}: {os_reason(exc)}"

    def _first_event(self) -> Event:
        """The log's first event, read before the monitor opens: a file that is
        empty or not a log of ours is said at once (exit 2), not shown as an
        empty monitor."""
        try:
            first = self._read_event()
        except ValueError as exc:
            raise ReplayError(
                f"{self.shown_path} is not a tui-echo JSON log:"
                f" line {self._number}: {exc}",
                exit_status=2,
            ) from None
        except OSError as exc:
            raise ReplayError(
                f"cannot read {self.shown_path}: {os_reason(exc)}"
            ) from None
        if first is None:
            raise ReplayError(
                f"{self.shown_path} is empty: there is no event to replay",
                exit_status=2,
            )
        return first

    def _play(self, first: Event) -> None:
        waiting: Event | None = first
        last_ts = first.ts
        while not self._stop:  # read unlocked: a flood at one instant never waits
            if waiting is None:
                try:
                    waiting = self._read_event()
                except (ValueError, OSError) as exc:
                    self._give_up(self._number, str(exc))
                    break
                if waiting is None:
                    break  # the end of the log
            if not self._wait_until(waiting.ts):
                return
            if isinstance(waiting, ClientData):
                self.feed.publish_data([waiting])
            else:
                self.feed.publish(waiting)
            last_ts, waiting = waiting.ts, None
            if self.feed.backlogged and not self._wait_for_the_monitor():
                return
        with self._lock:
            # The clock stops at the log's last event, not at however late this
            # thread saw the end (a busy machine would push the end past it).
            self._log_time = last_ts
            self.finished = True

    def _wait_until(self, ts: float) -> bool:
        """Until the log's clock reaches `ts` (False: stop asked)."""
        with self._lock:
            if self._log_time is None:  # the first event starts the clock
                self._log_time = ts
                self._wall_time = time.monotonic()
            while not self._stop:
                if not self.paused:
                    ahead = (ts - self._now()) / self.speed
                    if ahead <= 0:
                        return True
                    self._lock.wait(min(ahead, 0.5) if ahead > PACE else PACE)
                else:
                    self._lock.wait(0.5)
            return False

    def _wait_for_the_monitor(self) -> bool:
        """While the monitor has a full feed to fold (a flood at one instant), read
        no further: memory stays bounded and `q` stays quick (False: stop asked)."""
        with self._lock:
            while not self._stop:
                if not self.feed.backlogged:
                    return True
                self._lock.wait(PACE)
            return False

    def _give_up(self, number: int, why: str) -> None:
        self.stopped_at = f"line {number}: {why}"
        self.feed.publish(
            ServerError(
                message=f"replay stopped at line {number} of {self.shown_path}: {why}",
                ts=self.clock(),
            )
        )
