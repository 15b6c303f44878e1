"""Echo server as an ``asyncio.Protocol`` with flow control.

The transport calls ``pause_writing`` when its write buffer goes above the
high-water mark; we then stop reading from that client until ``resume_writing``.
``uvloop_protocol.py`` runs the same protocol on uvloop.
"""

from __future__ import annotations

import asyncio
import signal
from typing import cast

from _common import parse_address, raise_nofile


class EchoProtocol(asyncio.Protocol):
    """Write back whatever arrives; pause reading while the peer is not reading."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        self.transport.write(data)

    def eof_received(self) -> bool:
        return False  # close once the buffered echo has been written

    def pause_writing(self) -> None:
        self.transport.pause_reading()

    def resume_writing(self) -> None:
        self.transport.resume_reading()


async def serve(host: str, port: int) -> None:
    """Serve until SIGTERM or SIGINT."""
    raise_nofile()  # for many idle clients
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    server = await loop.create_server(EchoProtocol, host, port, backlog=4096)
    async with server:
        await stop.wait()


if __name__ == "__main__":
    asyncio.run(serve(*parse_address(__doc__ or "")))
