"""The listening socket: bound in the caller's thread, so a failure is an ordinary
exception before any thread or screen exists."""

from __future__ import annotations

import socket

from tui_echo.words import format_address, os_reason

BACKLOG = socket.SOMAXCONN
"""The listen backlog (the door makes it small for a while under `drop`)."""


class ServerStartError(Exception):
    """The server could not listen: a clear, one-line reason for the operator."""


class Listener(socket.socket):
    """A listening TCP socket whose `accept` costs no more than the system call.

    `socket.accept()` builds the accepted socket from `self.family` and `self.type`,
    and each turns the kernel's number into an enum member again, on every accept:
    under connection churn that is as much Python as the rest of an accept. They
    never change, so here they are read once.
    """

    __slots__ = ("_family", "_type")

    def __init__(self, family: int, kind: int, proto: int) -> None:
        super().__init__(family, kind, proto)
        self._family = super().family
        self._type = super().type

    @property
    def family(self) -> socket.AddressFamily:
        return self._family

    @property
    def type(self) -> socket.SocketKind:
        return self._type


def bind_listener(host: str, port: int) -> Listener:
    """A non-blocking socket bound to host:port, not yet listening (caller's thread).

    Raises:
        ServerStartError: the host does not resolve, or the bind fails.
    """
    try:
        infos = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )
    except (socket.gaierror, UnicodeError) as exc:
        reason = exc.strerror if isinstance(exc, socket.gaierror) else str(exc)
        raise ServerStartError(f"cannot resolve host {host!r}: {reason}") from None
    family, socktype, proto, _, sockaddr = infos[0]
    sock = Listener(family, socktype, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        # Urgent (out-of-band) bytes stay in the stream, so they are echoed where
        # they were sent; accepted sockets inherit this from the listener.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_OOBINLINE, 1)
        sock.bind(sockaddr)
        sock.setblocking(False)
    except OSError as exc:
        sock.close()
        where = format_address(host, port)
        raise ServerStartError(f"cannot listen on {where}: {os_reason(exc)}") from None
    return sock
