"""`ControlSession`: one control connection's protocol state, without I/O.

Its cost is linear in its input and bounded per turn of the loop: a read is
scanned once for newlines (an offset moves along the buffer; nothing is re-sliced
per line), at most `TURN_BUDGET` seconds of commands run per turn, and a long
reply (`LIST` of thousands of clients) is written a slice at a time, so no flood
of lines and no large answer holds the echo loop for long (a single command that
acts on every client, `KICK all` or `FAULT all`, runs whole). Replies wait in a
bounded buffer; while it is full, or while a line's worth of input waits to be
run, nothing more is read. Loop thread only.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator

from tui_echo.control.protocol import (
    MAX_LINE,
    REPLY_BACKLOG,
    STREAM_BACKLOG,
    Operator,
    execute,
)

TURN_BUDGET = 0.00003
"""Seconds of commands one session may run per turn of the loop: a client's echo
waits at most about this long for the control socket."""

CHECK_EVERY = 4
"""Reply lines written between two looks at the clock."""


class ControlSession:
    """One control connection's input, replies and state (loop thread only)."""

    __slots__ = (
        "closing",
        "hung_up",
        "inbuf",
        "last_input",
        "mid_line",
        "outbuf",
        "reply",
        "skipping",
        "start",
        "streaming",
        "streams_next",
    )

    def __init__(self, now: float = 0.0) -> None:
        self.inbuf = bytearray()
        self.start = 0
        """Where the input not yet run begins in `inbuf`."""
        self.outbuf = bytearray()
        """Reply (or event) bytes waiting to be sent."""
        self.mid_line = False
        """The last send stopped inside a line: `outbuf` starts with its rest."""
        self.reply: Iterator[str] | None = None
        """A reply still being written, a slice per turn."""
        self.streams_next = False
        """The reply being written is `EVENTS`': stream once it is out."""
        self.streaming = False
        """`EVENTS` was asked for: from now on only events go out."""
        self.skipping = False
        """Inside a line that is too long: ignore input up to its newline."""
        self.closing = False
        """Say the last line in `outbuf`, then close."""
        self.hung_up = False
        """The client sent EOF: answer what it asked, then close."""
        self.last_input = now
        """Monotonic time of the last bytes received (for the idle limit)."""

    @property
    def reading(self) -> bool:
        """Whether the loop should read from it: not while replies pile up, nor
        while a line's worth of input waits to be run."""
        return (
            not (self.closing or self.hung_up)
            and len(self.outbuf) < REPLY_BACKLOG
            and len(self.inbuf) - self.start < MAX_LINE
        )

    @property
    def has_waiting_lines(self) -> bool:
        """Work waits for the next turn: whole command lines, the rest of a reply,
        or a line already too long to be anything but refused."""
        if self.streaming:
            return False
        if self.reply is not None or len(self.inbuf) - self.start >= MAX_LINE:
            return True
        return self.inbuf.find(b"\n", self.start) >= 0

    @property
    def done(self) -> bool:
        """Nothing more to say, and nothing more will come: close it."""
        if self.closing or self.hung_up:
            return not self.outbuf and not self.has_waiting_lines
        return False

    def received(self, data: bytes, operator: Operator, now: float) -> None:
        """Bytes from the client: run the whole command lines in them, a turn's
        worth (`run_waiting` goes on at the next turns)."""
        self.last_input = now
        if self.streaming or self.closing:
            return  # a streaming session only streams; its input is ignored
        self.inbuf += data
        self.run_waiting(operator)

    def run_waiting(self, operator: Operator) -> None:
        """Run waiting command lines (and write a long reply on) for at most
        `TURN_BUDGET`, and only while the replies waiting stay under
        `REPLY_BACKLOG`; at least one step is taken, so the session always moves."""
        stop_at = time.perf_counter() + TURN_BUDGET
        first = True
        while not self.streaming and len(self.outbuf) < REPLY_BACKLOG:
            if not first and time.perf_counter() >= stop_at:
                break
            first = False
            if self.reply is not None:
                self._write_reply(stop_at)
                continue
            if not self._run_next_line(operator):
                break
        self._compact()

    def _run_next_line(self, operator: Operator) -> bool:
        """Run the next whole line, if there is one (False: none waits)."""
        inbuf, start = self.inbuf, self.start
        end = inbuf.find(b"\n", start)
        if end < 0:
            if self.skipping:  # still inside an over-long line: drop it
                self.start = len(inbuf)
            elif len(inbuf) - start >= MAX_LINE:
                self._refuse("line longer than 4096 bytes")
                self.skipping = True
                self.start = len(inbuf)
            return False
        self.start = end + 1
        if self.skipping:  # the end of an over-long line, refused already
            self.skipping = False
            return True
        if end - start >= MAX_LINE:
            self._refuse("line longer than 4096 bytes")
            return True
        try:
            text = inbuf[start:end].decode("ascii").rstrip("\r")
        except UnicodeDecodeError:
            self._refuse("not ASCII: commands are lines of ASCII text")
            return True
        reply = execute(text, operator)
        self.reply = iter(reply.lines)
        self.streams_next = reply.streams
        return True

    def _write_reply(self, stop_at: float) -> None:
        """Write the reply on, until it ends, the time is up or replies pile up."""
        reply = self.reply
        assert reply is not None
        outbuf = self.outbuf
        written = 0
        try:
            for line in reply:
                outbuf += f"{line}\n".encode()
                written += 1
                if written % CHECK_EVERY == 0 and (
                    len(outbuf) >= REPLY_BACKLOG or time.perf_counter() >= stop_at
                ):
                    return
        except Exception as exc:  # a bug while writing it: say so, the session goes on
            outbuf += f"ERR internal error: {exc!r}\n".encode()
        self.reply = None
        if self.streams_next:
            self.streaming = True
            self.inbuf.clear()
            self.start = 0

    def _compact(self) -> None:
        """Drop the input already run (once per turn: linear overall)."""
        if self.start:
            del self.inbuf[: self.start]
            self.start = 0

    def ended(self) -> None:
        """The client shut down its sending side: answer what it asked, its last
        line too if it had no newline (`printf STATS | socat ...`), then close.
        (A streaming session just closes.)"""
        if self.streaming:
            self.outbuf.clear()
        elif len(self.inbuf) > self.start and not self.inbuf.endswith(b"\n"):
            self.inbuf += b"\n"
        self.hung_up = True

    def stream(self, lines: Iterable[bytes]) -> bool:
        """Queue event lines; True if that cut the reader off (it fell too far
        behind: what waits is dropped for one last line saying so)."""
        if not self.streaming or self.closing:
            return False
        for line in lines:
            self.outbuf += line
        if len(self.outbuf) <= STREAM_BACKLOG:
            return False
        behind = len(self.outbuf)
        # The rest of a line half sent goes first: the reader's last line must
        # be the notice, not a JSON line with the notice glued on.
        rest = self.outbuf[: self.outbuf.find(b"\n") + 1] if self.mid_line else b""
        notice = f"ERR too slow: {behind} bytes of events unread; disconnected\n"
        self.outbuf = bytearray(rest + notice.encode())
        self.closing = True
        return True

    def sent(self, count: int) -> None:
        """`count` bytes of `outbuf` went out."""
        if count:
            self.mid_line = self.outbuf[count - 1] != 0x0A
        del self.outbuf[:count]

    def _refuse(self, why: str) -> None:
        self.outbuf += f"ERR {why}\n".encode()
