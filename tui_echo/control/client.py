"""The client side of the control protocol: bounded line reading, a reply up to its
`OK`, and the errors that say in words what went wrong.

Whatever listens at the path `attach` is given is untrusted: a line has a length
limit and is never buffered whole beyond it, every wait has a deadline and can be
cancelled, and a reply has a limit of lines and bytes. What is wrong is said in
words, quoting the server's line escaped (`words.quoted`), never as a Python
message. The answers' fields are read and checked in control/answers.py.

`attach` (sources/attached.py) uses it; the engine never imports it.
"""

from __future__ import annotations

import select
import socket
import threading
import time

from tui_echo.words import quoted

MAX_REPLY_LINE = 64 * 1024
"""Longest reply or event line read from a server, newline excluded (the longest a
tui-echo server writes is a few KiB: an event with two long texts, escaped)."""

MAX_REPLY = 16 << 20
"""Bytes a reply may have in all (a LIST of 100,000 clients is about 13 MiB): lines
within their limit must not add up to unbounded memory either."""

POLL_SLICE = 0.1
"""Seconds between two looks at a cancel flag while waiting for a server."""


class ControlClientError(Exception):
    """Talking to the server failed; the text says why, in words, escaped."""


class BadAnswerError(ControlClientError):
    """The server said what the protocol does not allow."""


class ServerClosedError(ControlClientError):
    """The server closed the connection."""


class NoAnswerError(ControlClientError):
    """The server did not answer in time."""


class CancelledError(ControlClientError):
    """The wait was cancelled (a stop signal, `q`)."""


class RefusedError(ControlClientError):
    """The server answered `ERR ...`."""


class LineReader:
    """Lines from a stream socket, each at most `limit` bytes: a longer line is an
    error once `limit` bytes of it came, never buffered whole (one thread at a time).

    Without a deadline or a cancel flag it blocks on `recv`: another thread ends
    that wait by shutting the socket down.
    """

    def __init__(self, sock: socket.socket, limit: int = MAX_REPLY_LINE) -> None:
        self.sock = sock
        self.limit = limit
        self._buffer = bytearray()
        self._start = 0
        """Where the bytes not yet returned begin in `_buffer`."""
        self._scanned = 0
        """How far `_buffer` is known to hold no newline (each byte looked at once)."""

    def readline(
        self,
        deadline: float | None = None,
        cancel: threading.Event | None = None,
    ) -> bytes:
        """The next line, without its newline.

        Raises:
            ServerClosedError: the connection ended (or broke) before a newline.
            BadAnswerError: the line is longer than `limit`.
            NoAnswerError: `deadline` (a `time.monotonic()` value) passed.
            CancelledError: `cancel` was set.
        """
        buffer = self._buffer
        while True:
            end = buffer.find(b"\n", self._scanned)
            if end >= 0:
                line = bytes(buffer[self._start : end])
                self._start = self._scanned = end + 1
                if len(line) > self.limit:
                    raise BadAnswerError(f"a line longer than {self.limit:,} bytes")
                return line
            if len(buffer) - self._start > self.limit:
                raise BadAnswerError(f"a line longer than {self.limit:,} bytes")
            if self._start:  # once per read, not per line: linear overall
                del buffer[: self._start]
                self._start = 0
            self._scanned = len(buffer)
            if deadline is not None or cancel is not None:
                self._wait(deadline, cancel)
            try:
                chunk = self.sock.recv(65536)
            except OSError:
                chunk = b""  # reset, or shut down by our own side: the end either way
            if not chunk:
                raise ServerClosedError("the server closed the connection")
            buffer += chunk

    def _wait(self, deadline: float | None, cancel: threading.Event | None) -> None:
        """Until the socket is readable, in slices so that `cancel` is seen soon."""
        while True:
            if cancel is not None and cancel.is_set():
                raise CancelledError("cancelled")
            wait = POLL_SLICE
            if deadline is not None:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise NoAnswerError("the server did not answer in time")
                wait = min(wait, left)
            # poll, not select: select fails on descriptors past 1023, and the
            # monitor may hold thousands of them.
            poller = select.poll()
            try:
                poller.register(self.sock, select.POLLIN)
                ready = poller.poll(wait * 1000)
            except (OSError, ValueError):  # closed under us: the read says so
                return
            if ready:  # readable, or hung up: the read says which
                return


def read_reply(
    reader: LineReader,
    command: str,
    deadline: float | None = None,
    cancel: threading.Event | None = None,
    max_lines: int = 1000,
    max_bytes: int = MAX_REPLY,
) -> list[str]:
    """The lines of one reply, up to its `OK`.

    Raises:
        RefusedError: it ended with `ERR ...` (the text quoted, escaped).
        BadAnswerError: a line is not ASCII or too long, or more than `max_lines`
            or `max_bytes` came.
        ServerClosedError, NoAnswerError, CancelledError: as `LineReader.readline`.
    """
    lines: list[str] = []
    size = 0
    while True:
        try:
            raw = reader.readline(deadline, cancel)
        except BadAnswerError as exc:
            raise BadAnswerError(f"the {command} answer has {exc}") from None
        line = raw.decode("ascii", "backslashreplace").rstrip("\r")
        if line == "OK":
            return lines
        if line.startswith("ERR"):
            raise RefusedError(
                f"the server refused {command}: {quoted(line[3:].strip(), 200)}"
            )
        if not raw.isascii():
            raise BadAnswerError(f"the {command} answer is not ASCII: {quoted(line)}")
        if len(lines) >= max_lines:
            raise BadAnswerError(
                f"the {command} answer has more than {max_lines:,} lines"
            )
        size += len(raw)
        if size > max_bytes:
            raise BadAnswerError(
                f"the {command} answer is longer than {max_bytes >> 20} MiB"
            )
        lines.append(line)
