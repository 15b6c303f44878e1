"""The classic ``select.select`` echo server that tui-echo descends from.

Deliberately naive: the write list is rebuilt from scratch every turn and
holds every client with pending data, reads are 4 KiB, the outbound buffer is
a ``bytes`` object that is re-sliced on each partial write and never bounded,
and closed peers are purged at the end of the turn.  ``select`` cannot watch
descriptors above FD_SETSIZE (1024), so this server cannot hold thousands of
clients.  Like the classic code it leaves Nagle's algorithm on (no TCP_NODELAY),
which costs it dearly when an echo goes out in several small writes.
"""

from __future__ import annotations

import select
import signal
import socket
import sys
from types import FrameType

from _common import parse_address


def stop(signum: int, frame: FrameType | None) -> None:
    """Leave the loop on SIGTERM/SIGINT."""
    sys.exit(0)


def serve(host: str, port: int) -> None:
    """Serve forever; clients maps each socket to its pending outbound bytes."""
    listener = socket.create_server((host, port), backlog=4096)
    listener.setblocking(False)
    clients: dict[socket.socket, bytes] = {}
    while True:
        writers = [s for s, pending in clients.items() if pending]
        readable, writable, _ = select.select([listener, *clients], writers, [])
        closed: set[socket.socket] = set()
        for sock in readable:
            if sock is listener:
                accept(listener, clients)
            elif not receive(sock, clients):
                closed.add(sock)
        for sock in writable:
            if sock not in closed and not transmit(sock, clients):
                closed.add(sock)
        for sock in closed:
            del clients[sock]
            sock.close()


def accept(listener: socket.socket, clients: dict[socket.socket, bytes]) -> None:
    """Accept one pending connection, if any."""
    try:
        conn, _ = listener.accept()
    except OSError:
        return
    conn.setblocking(False)
    clients[conn] = b""


def receive(sock: socket.socket, clients: dict[socket.socket, bytes]) -> bool:
    """Read up to 4 KiB into the client's buffer; False when the peer is gone."""
    try:
        data = sock.recv(4096)
    except BlockingIOError:
        return True
    except OSError:
        return False
    clients[sock] += data
    return bool(data)


def transmit(sock: socket.socket, clients: dict[socket.socket, bytes]) -> bool:
    """Send what the socket takes of the client's buffer; False on error."""
    try:
        sent = sock.send(clients[sock])
    except BlockingIOError:
        return True
    except OSError:
        return False
    clients[sock] = clients[sock][sent:]
    return True


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    serve(*parse_address(__doc__ or ""))
