"""The loop's TLS half (`--tls`): accepting, the handshake, and the plaintext's reads,
writes and closes, on non-blocking `ssl.SSLSocket`s (loop thread only).

`EchoLoop` inherits this and, with `--tls`, hands every client's readiness here
instead of to its plain handlers, chosen once when the loop starts: a plain server
pays nothing for TLS, not even a check per read.

Why `SSLSocket` and not `SSLObject` with memory BIOs (asyncio's way): OpenSSL then
does the socket I/O in C, and each read or write is one call from Python instead of
three or four (socket, BIO, SSL object, BIO). For a 1 KiB ping-pong on this
machine the server's CPU time per round trip was, in seven runs each, median 28 us
with `SSLSocket` against 43 us with memory BIOs (best 16 against 22).

OpenSSL's rules that this follows:
- A write that wants to be retried (`SSLWantWriteError`) is retried with the same
  bytes first and at least as many (`TlsConnection.retry`): they are still at the
  front of the pending bytes, which only grow at the back until sent.
- A read takes at least one whole record (`TLS_RECORD`), so no decrypted bytes stay
  inside OpenSSL where epoll cannot see them (`pending()` is checked anyway).
- Kick sends close_notify (one non-blocking try), then the FIN as for TCP; reset
  sends an RST without close_notify.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import time
from collections import deque
from typing import TYPE_CHECKING, cast

from tui_echo.engine.closing import close_socket
from tui_echo.engine.connection import BUDGET, ECHO, SEND, Connection
from tui_echo.engine.limits import Limits
from tui_echo.engine.poller import READ, WRITE
from tui_echo.engine.tls import (
    HANDSHAKE_RECORD,
    PLAINTEXT,
    TLS_RECORD,
    TlsConnection,
    established,
    failure_reason,
)
from tui_echo.events import Event
from tui_echo.states import CloseHow, CloseReason

if TYPE_CHECKING:
    from tui_echo.engine.clients import Clients
    from tui_echo.engine.poller import Poller
    from tui_echo.engine.tls_setup import TlsServer
    from tui_echo.faults import FaultSpec

_WOULD_BLOCK = (ssl.SSLWantReadError, ssl.SSLWantWriteError)
STALE_HANDSHAKES = 1024
"""Handshake deadlines beyond two per client that make the queue worth pruning."""


def _handshaking(
    entry: tuple[socket.socket, Connection] | None,
) -> tuple[socket.socket, TlsConnection] | None:
    """The client of `entry` if it is still here and still shaking hands."""
    if entry is None:
        return None
    sock, conn = entry
    if isinstance(conn, TlsConnection) and conn.handshaking:
        return sock, conn
    return None


class TlsLoop:
    """The TLS handlers of `EchoLoop` (a mixin; the attributes and calls declared
    below for the type checker are the loop's own)."""

    if TYPE_CHECKING:  # the loop's, read and called here
        tls: TlsServer | None
        clients: Clients
        _limits: Limits
        _default_fault: FaultSpec | None
        poller: Poller
        _buffer: bytearray
        _view: memoryview
        _active: set[Connection]
        _handshakes: deque[tuple[float, int]]
        """(deadline, client id) of each handshake begun, in the order they began
        (one timeout for all: the order of their deadlines too)."""

        def _carry_out(
            self, sock: socket.socket, conn: Connection, todo: int
        ) -> None: ...
        def publish(self, event: Event) -> None: ...
        def _on_hangup(self, sock: socket.socket, conn: Connection) -> None: ...
        def _send_pending(
            self, sock: socket.socket, conn: Connection, now: float
        ) -> int: ...
        def _welcome(
            self, sock: socket.socket, conn: Connection, now: float
        ) -> None: ...

    # ---- accepting ------------------------------------------------------------

    def _add_tls_client(self, raw: socket.socket, peer: str, tls: TlsServer) -> None:
        """Wrap an accepted socket; its handshake starts when it sends."""
        try:
            raw.setblocking(False)
            raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock = tls.context.wrap_socket(
                raw, server_side=True, do_handshake_on_connect=False
            )
        except (OSError, ValueError):  # the client is already gone
            raw.close()
            return
        now = time.monotonic()
        conn = TlsConnection(self.clients.next_id(), peer, self._limits, now)
        self._handshakes.append((now + tls.handshake_timeout, conn.id))
        self._welcome(sock, conn, now)  # the default fault as for TCP: from connect

    def _expire_handshakes(self, now: float) -> None:
        """Close the clients whose handshake outlived `--handshake-timeout` (each
        tick; the oldest first, so the cost is what expires)."""
        handshakes, by_id = self._handshakes, self.clients.by_id
        if len(handshakes) > 2 * len(by_id) + STALE_HANDSHAKES:
            # Clients that came and went (a connect flood under a long timeout):
            # only the ones still shaking hands need a deadline kept.
            self._handshakes = handshakes = deque(
                (deadline, client_id)
                for deadline, client_id in handshakes
                if _handshaking(by_id.get(client_id)) is not None
            )
        while handshakes and handshakes[0][0] <= now:
            _, client_id = handshakes.popleft()
            shaking = _handshaking(by_id.get(client_id))
            if shaking is not None:
                sock, conn = shaking
                self._carry_out(
                    sock, conn, conn.handshake_failed(CloseReason.HANDSHAKE_TIMEOUT)
                )

    # ---- the handshake --------------------------------------------------------

    def _handshake(self, sock: ssl.SSLSocket, conn: TlsConnection, now: float) -> None:
        """Take the handshake a step further; once done, read what came with it."""
        if not conn.peeked:
            try:  # the raw socket's first byte: a TLS client's is a handshake record
                first = socket.socket.recv(sock, 1, socket.MSG_PEEK)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                self._carry_out(sock, conn, conn.failed(exc))
                return
            if not first:
                self._carry_out(sock, conn, conn.eof(now))
                return
            if first[0] != HANDSHAKE_RECORD:
                self._carry_out(sock, conn, conn.handshake_failed(PLAINTEXT))
                return
            conn.peeked = True
        try:
            sock.do_handshake()
        except ssl.SSLWantReadError:
            self._carry_out(sock, conn, conn.handshake_waits(READ))
            return
        except ssl.SSLWantWriteError:
            self._carry_out(sock, conn, conn.handshake_waits(WRITE))
            return
        except ssl.SSLError as exc:
            self._carry_out(sock, conn, conn.handshake_failed(failure_reason(exc)))
            return
        except OSError as exc:
            self._carry_out(sock, conn, conn.failed(exc))
            return
        event = established(sock, conn.id, time.time())
        self.publish(event)
        self._carry_out(sock, conn, conn.handshake_done(event, now))
        if conn.close_reason is None and conn.interest & READ:
            self._on_tls_readable(sock, conn, READ, now)  # data may have come along

    # ---- the plaintext --------------------------------------------------------

    def _on_tls_readable(
        self, sock: socket.socket, conn: Connection, mask: int, now: float
    ) -> None:
        sock, conn = cast("ssl.SSLSocket", sock), cast("TlsConnection", conn)
        if conn.handshaking:
            self._handshake(sock, conn, now)
            return
        if not conn.interest & READ:  # an error or hang-up while not reading
            self._on_hangup(sock, conn)
            return
        buffer, view = self._buffer, self._view
        while True:
            try:
                count = sock.recv_into(buffer, max(conn.room, TLS_RECORD))
            except _WOULD_BLOCK:
                return
            except ssl.SSLError as exc:
                self._carry_out(sock, conn, conn.handshake_failed(failure_reason(exc)))
                return
            except OSError as exc:
                self._carry_out(sock, conn, conn.failed(exc))
                return
            self._active.add(conn)
            if not count:  # close_notify, or EOF: echo what is pending, then close
                self._carry_out(sock, conn, conn.eof(now))
                return
            data = view[:count]
            todo = conn.received(data, now)
            if todo == ECHO:
                todo = self._send_now(sock, conn, data)
            elif todo & SEND:
                todo = self._send_pending(sock, conn, now)
            if todo:
                self._carry_out(sock, conn, todo)
            if conn.close_reason is not None or not sock.pending():
                return

    def _send_now(
        self, sock: ssl.SSLSocket, conn: TlsConnection, data: memoryview
    ) -> int:
        """The fast path: echo what was just read; what does not go waits."""
        try:
            sent = sock.send(data)
        except _WOULD_BLOCK:
            conn.retry = len(data)  # OpenSSL took them: offer the same again
            return conn.cut_short(data, 0)
        except OSError as exc:
            self._carry_out(sock, conn, conn.cut_short(data, 0) & BUDGET)
            return conn.failed(exc)
        return 0 if sent == len(data) else conn.cut_short(data, sent)

    def _on_tls_writable(
        self, sock: socket.socket, conn: Connection, now: float
    ) -> None:
        sock, conn = cast("ssl.SSLSocket", sock), cast("TlsConnection", conn)
        if conn.handshaking:
            self._handshake(sock, conn, now)
            return
        data = conn.outgoing()
        if conn.retry > len(data):  # a fault's slice shrank since: the same again
            data = conn.outbuf[: conn.retry]  # a copy: outbuf shrinks after
        try:
            sent = sock.send(data)
        except _WOULD_BLOCK:
            conn.retry = len(data)
            return
        except OSError as exc:
            self._carry_out(sock, conn, conn.failed(exc))
            return
        conn.retry = 0
        self._active.add(conn)
        todo = conn.flushed(sent, now)
        if todo:
            self._carry_out(sock, conn, todo)

    # ---- closing --------------------------------------------------------------

    def _close_tls_socket(self, sock: socket.socket, conn: Connection) -> None:
        """Close as the connection says; a FIN (and the end after the client's
        close_notify) is preceded by our close_notify, an RST never is."""
        how = conn.close_how
        if (
            isinstance(sock, ssl.SSLSocket)
            and isinstance(conn, TlsConnection)
            and not conn.handshaking
            and (how is CloseHow.FIN or conn.close_reason == CloseReason.PEER_CLOSED)
        ):
            # One try, non-blocking: close_notify goes out if the socket takes it;
            # the client's answer is not waited for.
            with contextlib.suppress(OSError, ValueError, AttributeError):
                sock.unwrap()
        close_socket(sock, how, self._buffer)
