"""`ControlServer`: the control socket's I/O, on the loop thread (protocol.py).

A Unix stream socket, mode 0600, served by the same poller as the clients and never
blocking it: replies and events wait in each session's bounded buffer and go out as
the socket takes them. `open_control_socket` makes the socket in the caller's thread
(like the TCP listener), with the checks SPEC asks for: a stale socket is replaced,
any other file is never touched, and a directory others could tamper with is refused.
"""

from __future__ import annotations

import contextlib
import errno
import os
import socket
import stat
import struct
import time
from collections.abc import Sequence
from dataclasses import dataclass

from tui_echo.control.protocol import MAX_SESSIONS, Operator, event_line
from tui_echo.control.session import ControlSession
from tui_echo.engine.poller import READ, READABLE, WRITE, Poller
from tui_echo.events import Event
from tui_echo.words import escape, os_reason

RECV_SIZE = 65536
PROBE_TIMEOUT = 1.0
"""Seconds to wait for an answer at an existing socket before calling it taken."""
FAREWELL = 1.0
"""Seconds, over all sessions, to send what waits when the server stops."""
CLOSING_GRACE = 60.0
"""Seconds a cut-off reader gets to read its last line before it is closed anyway
(it no longer takes one of the `MAX_SESSIONS` places meanwhile)."""
IDLE_LIMIT = 300.0
"""Seconds a session that is not streaming may stay silent before it is closed."""
ACCEPT_RETRY = 0.1
"""Pause in accepting after EMFILE and friends, instead of spinning on the error."""
EVICT_AFTER = 5.0
"""Silence after which a session gives its place to a newcomer when all are taken."""


_OUT_OF_RESOURCES = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM})


class ControlSocketError(Exception):
    """The control socket cannot be made at that path: one line for the operator."""


@dataclass(frozen=True, slots=True)
class ControlListener:
    """The listening control socket, its path, and the inode of the file it made
    there (so only that file is ever removed)."""

    sock: socket.socket
    path: str
    inode: int

    def close(self) -> None:
        """Close the socket; remove its file if the file is still the one it made."""
        self.sock.close()
        with contextlib.suppress(OSError):
            if os.stat(self.path).st_ino == self.inode:
                os.unlink(self.path)


def open_control_socket(path: str) -> ControlListener:
    """A listening Unix socket at `path`, mode 0600 (caller's thread).

    Raises:
        ControlSocketError: the directory is not safe, another file or a live
            server is there, or the socket cannot be made.
    """
    directory = os.path.dirname(os.path.abspath(path))
    try:
        info = os.stat(directory)
    except OSError as exc:
        raise ControlSocketError(
            f"cannot use {escape(directory)}: {os_reason(exc)}"
        ) from None
    others_write = info.st_mode & (stat.S_IWGRP | stat.S_IWOTH)
    if others_write and not info.st_mode & stat.S_ISVTX:
        raise ControlSocketError(
            f"{escape(directory)} is writable by others (and not sticky): they"
            " could swap the socket; choose a directory only you can write to"
        )
    _clear_stale(path)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old_umask = os.umask(0o177)  # born 0600: nobody else can connect, even briefly
    try:
        sock.bind(path)
        os.chmod(path, 0o600)
        sock.listen(MAX_SESSIONS)
        sock.setblocking(False)
        inode = os.stat(path).st_ino
    except OSError as exc:
        sock.close()
        raise ControlSocketError(
            f"cannot listen on {escape(path)}: {os_reason(exc)}"
        ) from None
    finally:
        os.umask(old_umask)
    return ControlListener(sock, path, inode)


def _clear_stale(path: str) -> None:
    """Remove a socket nobody serves any more; refuse anything else at `path`."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return
    except OSError as exc:
        raise ControlSocketError(
            f"cannot use {escape(path)}: {os_reason(exc)}"
        ) from None
    if not stat.S_ISSOCK(info.st_mode):
        raise ControlSocketError(
            f"{escape(path)} exists and is not a socket; not touching it"
        )
    if info.st_uid != os.getuid():
        raise ControlSocketError(
            f"{escape(path)} is someone else's socket; not touching it"
        )
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    probe.settimeout(PROBE_TIMEOUT)  # a stopped server's full backlog must not hang us
    try:
        probe.connect(path)
    except (ConnectionRefusedError, FileNotFoundError):
        pass  # stale: its server is gone
    except TimeoutError:
        taken = f"{escape(path)} is in use by a server that does not answer"
        raise ControlSocketError(taken) from None
    except OSError as exc:
        raise ControlSocketError(
            f"cannot use {escape(path)}: {os_reason(exc)}"
        ) from None
    else:
        raise ControlSocketError(f"{escape(path)} is in use by a running server")
    finally:
        probe.close()
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


class ControlServer:
    """The control listener and its sessions: a side channel of the loop
    (`EchoLoop.attach`), loop thread only."""

    def __init__(
        self, listener: ControlListener, poller: Poller, operator: Operator
    ) -> None:
        self._listener = listener
        self.listener = listener.sock
        self.poller = poller
        self.operator = operator
        self._sessions: dict[int, tuple[socket.socket, ControlSession]] = {}
        self._interest: dict[int, int] = {}
        self._cut_off_at: dict[int, float] = {}
        self.streaming = 0
        """Sessions that stream events: `on_events` is not needed without them."""
        self._accept_paused_until: float | None = None
        """Accepting stopped (out of descriptors) until then."""
        poller.register(listener.sock.fileno(), READ)

    def owns(self, fd: int) -> bool:
        """True for the listener's and the sessions' descriptors."""
        return fd == self.listener.fileno() or fd in self._sessions

    def on_ready(self, fd: int, mask: int) -> None:
        """The poller says `fd` (one of ours) is ready."""
        if fd == self.listener.fileno():
            self._accept()
            return
        sock, session = self._sessions[fd]
        ran = False
        was_streaming = session.streaming
        if mask & READABLE:
            try:
                data = sock.recv(RECV_SIZE)
            except (BlockingIOError, InterruptedError):
                data = None
            except OSError:
                data = b""
            if data == b"":
                session.ended()
            elif data:
                session.received(data, self.operator, time.monotonic())
                ran = True
        self._flush(fd, sock, session, ran)
        if session.streaming != was_streaming:  # EVENTS ran, this turn or before
            self._count_streaming()

    @property
    def wants_events(self) -> bool:
        """Whether some session streams events."""
        return self.streaming > 0

    def on_events(self, events: Sequence[Event], first_seq: int) -> None:
        """Queue events for every `EVENTS` session (each encoded once)."""
        lines = [event_line(event, first_seq + i) for i, event in enumerate(events)]
        for fd, (_sock, session) in list(self._sessions.items()):
            if session.streaming and not session.closing:
                if session.stream(lines):  # too far behind: cut off
                    self._cut_off_at[fd] = time.monotonic()
                    self._count_streaming()
                self._update(fd, session)

    def tick(self, now: float) -> None:
        """Close cut-off readers that did not take their last line in time, and
        sessions silent for longer than `IDLE_LIMIT`."""
        for fd, since in list(self._cut_off_at.items()):
            if now - since >= CLOSING_GRACE:
                self._close(fd)
        paused_until = self._accept_paused_until
        if paused_until is not None and now >= paused_until:
            self._accept_paused_until = None
            self.poller.modify(self.listener.fileno(), READ)
        for fd, (_sock, session) in list(self._sessions.items()):
            if self._silent_for(session, now) >= IDLE_LIMIT:
                said = f"ERR closed: silent for {IDLE_LIMIT:g} s\n"
                self._dismiss(fd, said.encode())

    @staticmethod
    def _silent_for(session: ControlSession, now: float) -> float:
        """Seconds a session that could be talking has said nothing (0 for one
        that streams or was cut off: those are waited on, not idle)."""
        if session.streaming or session.closing:
            return 0.0
        return now - session.last_input

    def close(self) -> None:
        """Close every session and the listener, and remove the socket file (only
        if it is still ours). What waits for readers (the `shutdown` event, say)
        gets `FAREWELL` seconds in all to go out."""
        deadline = time.monotonic() + FAREWELL
        for fd, (sock, session) in list(self._sessions.items()):
            left = deadline - time.monotonic()
            if session.outbuf and left > 0:
                with contextlib.suppress(OSError):
                    sock.settimeout(left)
                    sock.sendall(session.outbuf)
            self._close(fd)
        with contextlib.suppress(OSError, ValueError, KeyError):
            self.poller.unregister(self.listener.fileno())
        self._listener.close()

    # ---- sessions ---------------------------------------------------------------

    def _accept(self) -> None:
        for _ in range(MAX_SESSIONS + 1):
            try:
                sock, _ = self.listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                if exc.errno in _OUT_OF_RESOURCES:  # don't spin on a full table
                    self._pause_accepting()
                return
            sock.setblocking(False)
            now = time.monotonic()
            if not _same_user(sock):
                _tell_and_close(sock, b"ERR only the server's owner may connect\n")
            elif not self._place_for_one(now):
                full = f"ERR too many control connections ({MAX_SESSIONS})\n"
                _tell_and_close(sock, full.encode())
            else:
                fd = sock.fileno()
                self._sessions[fd] = (sock, ControlSession(now))
                self._interest[fd] = READ
                self.poller.register(fd, READ)

    def _pause_accepting(self) -> None:
        """Out of descriptors: stop watching the listener for `ACCEPT_RETRY`
        (level-triggered, a waiting connect would wake the loop on every turn)."""
        if self._accept_paused_until is None:
            self.poller.modify(self.listener.fileno(), 0)
        self._accept_paused_until = time.monotonic() + ACCEPT_RETRY

    def _place_for_one(self, now: float) -> bool:
        """Whether a new session may come in: a place is free, or the session
        silent longest (`EVICT_AFTER` at least) gives its place up; cut-off readers
        take no place (the oldest goes if too many linger)."""
        if len(self._cut_off_at) >= MAX_SESSIONS:
            self._close(min(self._cut_off_at, key=self._cut_off_at.__getitem__))
        if len(self._sessions) - len(self._cut_off_at) < MAX_SESSIONS:
            return True
        silent = max(
            self._sessions,
            key=lambda fd: self._silent_for(self._sessions[fd][1], now),
        )
        if self._silent_for(self._sessions[silent][1], now) < EVICT_AFTER:
            return False
        self._dismiss(silent, b"ERR closed: silent while another session waited\n")
        return True

    def _dismiss(self, fd: int, line: bytes) -> None:
        """Say one last line to a session (if its socket takes it now), close it."""
        with contextlib.suppress(OSError):
            self._sessions[fd][0].send(line)
        self._close(fd)

    def _flush(
        self, fd: int, sock: socket.socket, session: ControlSession, ran: bool
    ) -> None:
        """Send what waits, as the socket takes it; run the next slice of waiting
        lines unless this turn ran one already; close a finished session."""
        if session.outbuf:
            try:
                session.sent(sock.send(session.outbuf))
            except (BlockingIOError, InterruptedError):
                pass
            except OSError:
                self._close(fd)
                return
        if not ran and session.has_waiting_lines:
            session.run_waiting(self.operator)
        if session.done:
            self._close(fd)
            return
        self._update(fd, session)

    def _update(self, fd: int, session: ControlSession) -> None:
        """Watch for input while the session reads, and for room to write while it
        has something to send or lines to run (they run at the next turn)."""
        writes = session.outbuf or session.has_waiting_lines
        interest = (READ if session.reading else 0) | (WRITE if writes else 0)
        if self._interest.get(fd) != interest:
            self._interest[fd] = interest
            self.poller.modify(fd, interest)

    def _close(self, fd: int) -> None:
        entry = self._sessions.pop(fd, None)
        if entry is None:
            return
        self._interest.pop(fd, None)
        self._cut_off_at.pop(fd, None)
        with contextlib.suppress(OSError, ValueError, KeyError):
            self.poller.unregister(fd)
        entry[0].close()
        self._count_streaming()

    def _count_streaming(self) -> None:
        self.streaming = sum(
            1 for _, s in self._sessions.values() if s.streaming and not s.closing
        )


def _same_user(sock: socket.socket) -> bool:
    """Whether the peer runs as the server's user (or root), as the kernel says."""
    if not hasattr(socket, "SO_PEERCRED"):  # the file's mode 0600 must do
        return True
    try:
        creds = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12)
    except OSError:
        return False
    _pid, uid, _gid = struct.unpack("3i", creds)
    return uid in (os.getuid(), 0)


def _tell_and_close(sock: socket.socket, line: bytes) -> None:
    with contextlib.suppress(OSError):
        sock.send(line)
    sock.close()
