"""The events stream of an attached monitor (sources/attached.py): its `EVENTS`
connection, read on a thread of its own, every line checked, each event held back
or passed on by its `seq`.

While the monitor takes its snapshot (sources/attach_snapshot.py), the stream goes
on and what it brings is held; once the snapshot's cut (`STATS`' seq) is known,
events after it go to the feed, and those at or before it wait for `prepare`,
which folds the ones the snapshot does not reflect (book/seed.py). Apart from
attached.py because numbering, holding and routing one stream, under its own lock,
is a job of its own beside the commands and the snapshot.

Whatever answers is untrusted: a line has a limit (control/client.py), a `seq` must
follow the last, an event must parse (events_parse.py), and what is held is bounded.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable

from tui_echo.control.client import (
    BadAnswerError,
    CancelledError,
    LineReader,
    NoAnswerError,
    ServerClosedError,
    read_reply,
)
from tui_echo.events import Event, ShutdownComplete
from tui_echo.events_parse import from_json
from tui_echo.words import quoted

CATCH_UP = 0.2
"""Seconds to wait for the stream to show an event, when none came while the
snapshot was taken (then nothing happened meanwhile)."""
MAX_EARLY = 100_000
"""Events the stream may bring while the snapshot is taken..."""
MAX_EARLY_BYTES = 32 << 20
"""... and their bytes (held in memory until the book takes them)."""
_LARGEST_SEQ = (1 << 63) - 1

GONE = "the server went away (its control socket closed)"


class EventStream:
    """An attached monitor's events connection: `open` it, `catch_up` to the
    snapshot's cut, then it passes each later event to `publish` until it ends,
    and says why once through `on_end(message, cut_off)`: `GONE` when the server
    closed it, the bad answer (cut off) when it said what it should not."""

    def __init__(
        self,
        sock: socket.socket,
        publish: Callable[[Event], None],
        on_end: Callable[[str | None, bool], None],
    ) -> None:
        self._sock = sock
        self._lines = LineReader(sock)
        self._publish = publish
        self._on_end = on_end
        self.end_reason: str | None = None
        """Why the stream ended, when the server said what it should not."""
        self.stopped_at: float | None = None
        """The server's own last moment (its `shutdown` event's ts), if it said."""
        # What the stream said while the snapshot was taken, held for `prepare`;
        # the reader thread and the attaching thread share it under the lock.
        self._seen = threading.Condition()
        self._early: list[tuple[int, Event]] = []
        self._cut: int | None = None
        self._first_seq: int | None = None
        self._last_seq = 0
        self._too_many = False
        self._early_bytes = 0
        self._stream_ended = False

    def open(self, deadline: float, cancel: threading.Event | None) -> threading.Thread:
        """Start the stream and the thread that reads it (returned, started).

        Raises:
            ControlClientError, OSError: the server did not start it.
        """
        self._sock.sendall(b"EVENTS\n")
        if read_reply(self._lines, "EVENTS", deadline, cancel, max_lines=0):
            raise BadAnswerError("the server did not start the events stream")
        reader = threading.Thread(
            target=self._read_events, name="tui-echo-attach", daemon=True
        )
        reader.start()
        return reader

    def catch_up(
        self, seq: int, deadline: float, cancel: threading.Event | None
    ) -> None:
        """Wait until the stream has brought every event up to `seq` (it numbers
        them one by one, from where it started), then send later ones to the feed.

        If no event came at all, wait `CATCH_UP` for one: the stream's start is
        not said, and a quiet server may have published none since.

        Raises:
            BadAnswerError: the stream ended, or brought too much, meanwhile.
            NoAnswerError, CancelledError: as `LineReader.readline`.
        """
        quiet_until = time.monotonic() + CATCH_UP
        with self._seen:
            while not self._stream_ended and not self._too_many:
                first = self._first_seq
                if first is None:
                    if time.monotonic() >= quiet_until:
                        break
                elif first > seq or self._last_seq >= seq:
                    break
                if cancel is not None and cancel.is_set():
                    raise CancelledError("cancelled")
                left = deadline - time.monotonic()
                if left <= 0:
                    raise NoAnswerError("the events stream fell behind")
                self._seen.wait(min(left, 0.05))
            self._cut = seq
            held, self._early = self._early, []
            for event_seq, event in held:
                if event_seq <= seq:
                    self._early.append((event_seq, event))
                else:
                    self._publish(event)
        if self._stream_ended:  # while attaching: no monitor to show it to
            raise BadAnswerError(self.end_reason or "the server ended the events")
        if self._too_many:
            raise BadAnswerError(f"more than {MAX_EARLY:,} events came while attaching")

    def take_early(self) -> list[tuple[int, Event]]:
        """The events held at or before the cut, with their seqs (handed over
        once: a second call gets none)."""
        with self._seen:
            early, self._early = self._early, []
        return early

    # ---- the reader thread ----------------------------------------------------------

    def _read_events(self) -> None:
        message: str | None = GONE
        cut_off = False
        try:
            while True:
                try:
                    raw = self._lines.readline()
                except BadAnswerError as exc:
                    raise BadAnswerError(f"the events stream has {exc}") from None
                seq, event = self._event(raw)
                self._route(seq, event, len(raw))
        except ServerClosedError:
            pass
        except BadAnswerError as exc:
            message, cut_off = str(exc), True
        with self._seen:
            if cut_off:  # before the attaching thread can see the end
                self.end_reason = message
            self._stream_ended = True
            self._seen.notify_all()
        self._on_end(message, cut_off)

    def _event(self, raw: bytes) -> tuple[int, Event]:
        """An event line's `seq` and event (BadAnswerError, in words, if it is not)."""
        text = raw.decode("ascii", "backslashreplace")
        if raw.startswith(b"ERR"):
            if raw.startswith(b"ERR too slow"):
                raise BadAnswerError(
                    "the server cut this monitor off: it fell too far behind"
                    " the events (the server goes on; attach again)"
                )
            raise BadAnswerError(
                f"the server ended the events: {quoted(text[3:].strip())}"
            )
        try:
            payload = json.loads(raw)
        except (ValueError, RecursionError):  # RecursionError: [[[[... nested deep
            raise BadAnswerError(
                f"the server sent a line that is not JSON: {quoted(text)}"
            ) from None
        seq = payload.get("seq") if isinstance(payload, dict) else None
        if (
            not isinstance(seq, int)
            or isinstance(seq, bool)
            or not self._last_seq < seq <= _LARGEST_SEQ
        ):
            raise BadAnswerError(
                "the server sent an event without a seq following the last"
                f" ({self._last_seq}): {quoted(text)}"
            )
        try:
            event = from_json(payload)
        except (ValueError, RecursionError) as exc:
            raise BadAnswerError(
                f"the server sent a bad event ({exc}): {quoted(text)}"
            ) from None
        return seq, event

    def _route(self, seq: int, event: Event, size: int) -> None:
        """Hold an event for `prepare` until the snapshot's cut is known and while
        it is at or before it; publish the later ones."""
        with self._seen:
            if self._first_seq is None:
                self._first_seq = seq
            self._last_seq = seq
            cut = self._cut
            if cut is None:
                self._early_bytes += size
                if len(self._early) >= MAX_EARLY or self._early_bytes > MAX_EARLY_BYTES:
                    self._too_many = True
                else:
                    self._early.append((seq, event))
            elif seq > cut:
                self._publish(event)
            # (at or before the cut once it is set: the snapshot reflects it)
            self._seen.notify_all()
        if isinstance(event, ShutdownComplete):
            self.stopped_at = event.ts  # the server's own last moment
