"""Closing a client's socket the way its connection says (loop thread)."""

from __future__ import annotations

import contextlib
import socket
import struct

from tui_echo.states import CloseHow

FIN_DRAIN_READS = 16
"""Reads of unread input before a FIN close: enough for any socket buffer, bounded."""

_LINGER_ABORT = struct.pack("ii", 1, 0)


def close_socket(sock: socket.socket, how: CloseHow, scratch: bytearray) -> None:
    """Close `sock`: with a FIN (after draining unread input into `scratch`), an RST,
    or as it is."""
    if how is CloseHow.RST:
        abort(sock)
        return
    if how is CloseHow.FIN:
        _send_fin(sock, scratch)
    sock.close()


def _send_fin(sock: socket.socket, scratch: bytearray) -> None:
    """FIN first, then throw away what the client sent meanwhile: closing a socket
    with unread bytes would make the kernel answer with an RST, which also drops
    what the kernel still had to deliver."""
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_WR)
        for _ in range(FIN_DRAIN_READS):
            if not sock.recv_into(scratch):
                break


def abort(sock: socket.socket) -> None:
    """Close with an RST rather than a FIN (SO_LINGER on, timeout 0)."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _LINGER_ABORT)
    sock.close()
