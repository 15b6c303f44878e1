"""`EchoServer`: the selectors loop on its own thread. The only module doing socket I/O.

One readiness loop serves every client. A read is echoed at once (eager write); only
what a partial write leaves is buffered, and writability is watched only while
something is pending. Above `max_buffer` pending bytes the loop stops reading that
client and resumes at half. Every `OSError` on a connection closes that connection
with a reason; nothing a client does can stop the loop.

Other threads talk to the loop through a command queue plus one byte on a wake-up
socket pair (`kick`, `reset`, `inspect`, `stop`); the loop talks back through the
`EventFeed`. `start()` binds in the caller's thread, so a bind failure raises
`ServerStartError` before any thread or UI exists.
"""

from __future__ import annotations

import contextlib
import errno
import itertools
import selectors
import socket
import struct
import threading
import time
from collections import deque
from collections.abc import Callable
from types import TracebackType

from tui_echo.config import ServerConfig
from tui_echo.connection import (
    NOTHING_PENDING,
    RECV_SIZE,
    Connection,
    close_reason,
    format_peer,
)
from tui_echo.events import (
    ClientClosed,
    ClientConnected,
    ClientData,
    Listening,
    Rejected,
    ServerError,
    ShutdownComplete,
)
from tui_echo.feed import EventFeed

TICK = 0.1
"""Seconds between coalesced data events (and idle-timeout checks)."""

ACCEPT_BATCH = 64
"""Connections taken per readiness of the listener, so a flood can't starve clients."""

ACCEPT_RETRY = 0.1
"""Pause in accepting after EMFILE and friends, instead of spinning on the error."""

KICK_DRAIN_READS = 16
"""Reads of unread input before a kick closes: enough for any socket buffer, bounded."""

STOP_TIMEOUT = 5.0

_OUT_OF_RESOURCES = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM})
_LINGER_ABORT = struct.pack("ii", 1, 0)
_READ = selectors.EVENT_READ
_WRITE = selectors.EVENT_WRITE

Command = Callable[[], None]


class ServerStartError(Exception):
    """The server could not listen: a clear, one-line reason for the operator."""


class EchoServer:
    """A TCP echo server whose loop runs on a background thread.

    Use it as a context manager, or call `start()` and `stop()`::

        with EchoServer(ServerConfig(port=0)) as server:
            host, port = server.address
            events = server.feed.drain()
    """

    def __init__(self, config: ServerConfig, feed: EventFeed | None = None) -> None:
        self.config = config
        self.feed = feed if feed is not None else EventFeed()
        self._selector = selectors.DefaultSelector()
        self._listener: socket.socket | None = None
        self._wake_r: socket.socket | None = None
        self._wake_w: socket.socket | None = None
        self._commands: deque[Command] = deque()
        self._connections: dict[int, Connection] = {}
        self._ids = itertools.count(1)
        self._dirty: set[Connection] = set()
        self._thread: threading.Thread | None = None
        self._running = False
        self._stopped = threading.Event()
        self._accepting = False
        self._accept_paused_until = 0.0
        self._accept_error_reported = False
        self._address: tuple[str, int] | None = None
        self._listen_family = socket.AF_INET
        self._recv_buffer = memoryview(bytearray(RECV_SIZE))
        """Where every read lands; only what a partial write leaves is copied."""
        self._track_idle = config.idle_timeout is not None
        """Only `--idle-timeout` needs the time of each read: skip the clock else."""

    # ---- any thread -------------------------------------------------------------

    @property
    def address(self) -> tuple[str, int]:
        """The bound host and the real port (any thread, after `start`)."""
        if self._address is None:
            raise RuntimeError("the server is not started")
        return self._address

    def start(self) -> EchoServer:
        """Bind and listen in the caller's thread, then start the loop thread.

        Raises:
            ServerStartError: the host does not resolve or the bind fails.
        """
        if self._thread is not None:
            raise RuntimeError("the server was started already")
        try:
            self._listener = _listen(self.config.host, self.config.port)
        except ServerStartError:
            self._selector.close()
            raise
        self._listen_family = self._listener.family
        host, port = self._listener.getsockname()[:2]
        self._address = (host, port)
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._selector.register(self._wake_r, _READ, None)
        self._selector.register(self._listener, _READ, None)
        self._accepting = True
        self._running = True
        self.feed.publish(Listening(host=host, port=port))
        self._thread = threading.Thread(
            target=self._run, name="tui-echo-loop", daemon=True
        )
        self._thread.start()
        return self

    def stop(self, timeout: float = STOP_TIMEOUT) -> None:
        """Close the listener and every client, publish `shutdown`, join the thread.

        Idempotent, and safe from any thread but the loop thread.
        """
        thread = self._thread
        if thread is None or not thread.is_alive():
            return
        self._call(self._request_stop)
        thread.join(timeout)

    def kick(self, client_id: int) -> None:
        """Close a client now with a FIN, discarding its pending bytes (any thread)."""
        self._call(lambda: self._kick(client_id))

    def reset(self, client_id: int) -> None:
        """Close a client abortively with an RST (SO_LINGER 0) (any thread)."""
        self._call(lambda: self._reset(client_id))

    def kick_all(self) -> None:
        """Kick every connected client (any thread)."""
        self._call(self._kick_all)

    def inspect(self, client_id: int, enabled: bool = True) -> None:
        """Start or stop keeping a client's recent bytes (any thread)."""
        self._call(lambda: self._inspect(client_id, enabled))

    def recent_bytes(self, client_id: int) -> bytes | None:
        """The last few KiB an inspected client sent, or None (any thread)."""
        conn = self._connections.get(client_id)
        return None if conn is None else conn.recent

    @property
    def client_count(self) -> int:
        """Clients connected now (any thread; a snapshot)."""
        return len(self._connections)

    @property
    def running(self) -> bool:
        """True while the loop thread runs."""
        return self._thread is not None and self._thread.is_alive()

    def __enter__(self) -> EchoServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _call(self, command: Command) -> None:
        """Hand `command` to the loop thread and wake it."""
        wake = self._wake_w
        if wake is None or self._stopped.is_set():
            return
        self._commands.append(command)
        with contextlib.suppress(OSError):  # full (already awake) or closed (stopped)
            wake.send(b"\0")

    # ---- loop thread ------------------------------------------------------------

    def _run(self) -> None:
        try:
            self._loop()
        except Exception as exc:  # a bug, not a client: say so, then shut down cleanly
            self.feed.publish(ServerError(message=f"internal error: {exc!r}"))
        finally:
            self._shutdown()

    def _loop(self) -> None:
        select = self._selector.select
        monotonic = time.monotonic
        on_readable = self._on_readable
        on_writable = self._on_writable
        next_tick = monotonic() + TICK
        while self._running:
            timeout = next_tick - monotonic()
            for key, mask in select(timeout if timeout > 0 else 0):
                conn = key.data
                if conn is None:
                    self._on_special(key.fileobj)
                    continue
                # A command or an earlier event of this batch may have closed it:
                # then its socket errors, and _close() does nothing twice.
                try:
                    if mask & _READ:
                        on_readable(conn)
                    if mask & _WRITE and conn.sock.fileno() != -1:
                        on_writable(conn)
                except Exception as exc:  # a bug must cost one client, not the loop
                    self._close(conn, f"internal error: {exc!r}")
            now = monotonic()
            if now >= next_tick:
                self._tick(now)
                next_tick = now + TICK

    def _on_special(self, fileobj: object) -> None:
        try:
            if fileobj is self._wake_r:
                self._run_commands()
            else:
                self._accept()
        except Exception as exc:  # a bug: report it and keep serving
            self.feed.publish(ServerError(message=f"internal error: {exc!r}"))

    def _run_commands(self) -> None:
        assert self._wake_r is not None
        with contextlib.suppress(OSError):
            while self._wake_r.recv(4096):
                pass
        commands = self._commands
        while commands:
            commands.popleft()()

    def _accept(self) -> None:
        listener = self._listener
        assert listener is not None
        family, kind = self._listen_family, socket.SOCK_STREAM
        for _ in range(ACCEPT_BATCH):
            try:
                # socket.accept() minus its enum conversions, which cost as much
                # as the rest of an accept under connection churn.
                fd, address = listener._accept()  # type: ignore[attr-defined]
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                if exc.errno in _OUT_OF_RESOURCES:
                    self._pause_accepting(exc)
                # ECONNABORTED and the like: that client gave up; go on serving
                return
            sock = socket.socket(family, kind, 0, fileno=fd)
            self._accept_error_reported = False
            peer = format_peer(address)
            limit = self.config.max_clients
            if limit is not None and len(self._connections) >= limit:
                sock.close()
                self.feed.publish(
                    Rejected(peer=peer, reason=f"max clients ({limit}) reached")
                )
            else:
                self._add_connection(sock, peer)
            if self.feed.backlogged:
                self._set_accepting(False)
                return

    def _add_connection(self, sock: socket.socket, peer: str) -> None:
        try:
            sock.setblocking(False)
            # Small echoes must not wait for Nagle's algorithm (asyncio does the same).
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:  # the peer is already gone; nothing to report yet
            sock.close()
            return
        now = time.monotonic() if self._track_idle else 0.0
        conn = Connection(sock, next(self._ids), now)
        self._connections[conn.id] = conn
        self._selector.register(sock, _READ, conn)
        self.feed.publish(ClientConnected(client=conn.id, peer=peer, ts=time.time()))

    def _pause_accepting(self, exc: OSError) -> None:
        """Out of descriptors or memory: stop accepting a moment rather than spin."""
        self._set_accepting(False)
        self._accept_paused_until = time.monotonic() + ACCEPT_RETRY
        if not self._accept_error_reported:
            self._accept_error_reported = True
            reason = exc.strerror or str(exc)
            self.feed.publish(
                ServerError(
                    message=f"accept failed: {reason.lower()};"
                    " accepting paused until descriptors are free"
                )
            )

    def _set_accepting(self, accepting: bool) -> None:
        if accepting != self._accepting and self._listener is not None:
            self._selector.modify(self._listener, _READ if accepting else 0, None)
            self._accepting = accepting

    def _on_readable(self, conn: Connection) -> None:
        max_buffer = self.config.max_buffer
        size = max_buffer - len(conn.outbuf)  # Connection.read_size(), inlined
        if size <= 0:  # full: an error or hang-up event can still report readable
            return
        try:
            # Into the one preallocated buffer: recv(256 KiB) would allocate
            # and shrink 256 KiB per call, which costs more than the syscall.
            received = conn.sock.recv_into(self._recv_buffer, min(size, RECV_SIZE))
        except (BlockingIOError, InterruptedError):
            return
        except OSError as exc:
            self._close(conn, close_reason(exc))
            return
        if not received:
            self._on_eof(conn)
            return
        data = self._recv_buffer[:received]
        conn.bytes_in += received
        if self._track_idle:
            conn.last_received = time.monotonic()
        self._dirty.add(conn)
        if conn.recent is not None:
            conn.remember(data)
        outbuf = conn.outbuf
        became_pending = False
        if outbuf:  # already waiting for writability: keep the order
            outbuf += data
        else:
            try:
                sent = conn.sock.send(data)
            except (BlockingIOError, InterruptedError):
                sent = 0
            except OSError as exc:
                self._close(conn, close_reason(exc))
                return
            conn.bytes_out += sent
            if sent == received:
                return  # the fast path: no buffering, no selector change
            conn.outbuf = bytearray(data[sent:])
            became_pending = True
        if conn.should_pause(max_buffer):
            conn.paused = True
            self._update_interest(conn)
        elif became_pending:
            self._update_interest(conn)

    def _on_writable(self, conn: Connection) -> None:
        outbuf = conn.outbuf
        try:
            sent = conn.sock.send(outbuf)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as exc:
            self._close(conn, close_reason(exc))
            return
        del outbuf[:sent]  # type: ignore[union-attr] # pending data is a bytearray
        conn.bytes_out += sent
        self._dirty.add(conn)
        if conn.finished:
            self._close(conn, "peer closed")
            return
        if not outbuf:
            conn.outbuf = NOTHING_PENDING  # let a big buffer's memory go
        if not outbuf or conn.should_resume(self.config.max_buffer):
            conn.paused = False
            self._update_interest(conn)

    def _on_eof(self, conn: Connection) -> None:
        """The peer shut down its sending side: echo what is pending, then close."""
        conn.eof = True
        self._dirty.add(conn)
        if conn.finished:
            self._close(conn, "peer closed")
        else:
            self._update_interest(conn)

    def _update_interest(self, conn: Connection) -> None:
        """Make the selector registration match what the connection wants now."""
        events = conn.interest()  # never 0: see the rules in connection.py
        if self._selector.get_key(conn.sock).events != events:
            self._selector.modify(conn.sock, events, conn)

    def _tick(self, now: float) -> None:
        """Publish coalesced data events and run the periodic checks."""
        if self._dirty:
            self._publish_data(self._dirty)
            self._dirty = set()
        idle_timeout = self.config.idle_timeout
        if idle_timeout is not None:
            deadline = now - idle_timeout
            idle = [c for c in self._connections.values() if c.last_received < deadline]
            for conn in idle:
                self._close(conn, "idle timeout")
        if not self._accepting and self._may_accept_again(now):
            self._set_accepting(True)

    def _may_accept_again(self, now: float) -> bool:
        """True once an accept pause (EMFILE, event backlog) has served its purpose."""
        return (
            self._running
            and now >= self._accept_paused_until
            and not self.feed.backlogged
        )

    def _publish_data(self, conns: set[Connection]) -> None:
        now = time.time()
        self.feed.publish_data([self._data_event(conn, now) for conn in conns])

    @staticmethod
    def _data_event(conn: Connection, now: float) -> ClientData:
        """A data event with what arrived since the last one; marks it reported."""
        event = ClientData(
            client=conn.id,
            bytes=conn.bytes_in - conn.reported_in,
            bytes_in=conn.bytes_in,
            bytes_out=conn.bytes_out,
            pending=len(conn.outbuf),
            state=conn.state,
            ts=now,
        )
        conn.reported_in = conn.bytes_in
        return event

    def _close(self, conn: Connection, reason: str, *, abort: bool = False) -> None:
        """Forget a connection and close its socket, publishing its last events.

        Closing a connection that is already closed does nothing.
        """
        if self._connections.pop(conn.id, None) is None:
            return
        self._dirty.discard(conn)
        now = time.time()
        last_data = None
        if conn.bytes_in != conn.reported_in:  # so the data bytes add up
            last_data = self._data_event(conn, now)
        with contextlib.suppress(KeyError, ValueError):
            self._selector.unregister(conn.sock)
        if abort:
            _abort(conn.sock)
        else:
            conn.sock.close()
        closed = ClientClosed(
            client=conn.id,
            reason=reason,
            bytes_in=conn.bytes_in,
            bytes_out=conn.bytes_out,
            discarded=len(conn.outbuf),
            ts=now,
        )
        self.feed.publish_close(closed, last_data)

    def _kick(self, client_id: int) -> None:
        conn = self._connections.get(client_id)
        if conn is not None:
            self._send_fin(conn)
            self._close(conn, "kicked")

    def _send_fin(self, conn: Connection) -> None:
        """FIN first, then throw away what the client sent meanwhile: closing a
        socket with unread bytes would make the kernel answer with an RST, which
        also drops what the kernel still had to deliver."""
        with contextlib.suppress(OSError):
            conn.sock.shutdown(socket.SHUT_WR)
            for _ in range(KICK_DRAIN_READS):
                if not conn.sock.recv_into(self._recv_buffer):
                    break

    def _kick_all(self) -> None:
        for client_id in list(self._connections):
            self._kick(client_id)

    def _reset(self, client_id: int) -> None:
        conn = self._connections.get(client_id)
        if conn is not None:
            self._close(conn, "reset", abort=True)

    def _inspect(self, client_id: int, enabled: bool) -> None:
        conn = self._connections.get(client_id)
        if conn is not None:
            conn.recent = (conn.recent or b"") if enabled else None

    def _request_stop(self) -> None:
        self._running = False

    def _shutdown(self) -> None:
        """Close the listener and every client; the loop thread's last act."""
        self._stopped.set()
        if self._listener is not None:
            with contextlib.suppress(KeyError, ValueError):
                self._selector.unregister(self._listener)
            self._listener.close()
        for conn in list(self._connections.values()):
            self._send_fin(conn)
            self._close(conn, "shutdown")
        self._selector.close()
        self._close_wake_pair()
        self.feed.publish(ShutdownComplete())

    def _close_wake_pair(self) -> None:
        for sock in (self._wake_r, self._wake_w):
            if sock is not None:
                sock.close()


def _listen(host: str, port: int) -> socket.socket:
    """A non-blocking listening socket on host:port (caller's thread)."""
    try:
        infos = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )
    except (socket.gaierror, UnicodeError) as exc:
        reason = exc.strerror if isinstance(exc, socket.gaierror) else str(exc)
        raise ServerStartError(f"cannot resolve host {host!r}: {reason}") from None
    family, socktype, proto, _, sockaddr = infos[0]
    sock = socket.socket(family, socktype, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(sockaddr)
        sock.listen(socket.SOMAXCONN)
        sock.setblocking(False)
    except OSError as exc:
        sock.close()
        where = format_peer((host, port))
        reason = (exc.strerror or str(exc)).lower()
        raise ServerStartError(f"cannot listen on {where}: {reason}") from None
    return sock


def _abort(sock: socket.socket) -> None:
    """Close with an RST rather than a FIN (SO_LINGER on, timeout 0)."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _LINGER_ABORT)
    sock.close()
