"""UDP echo server: an ``asyncio.DatagramProtocol`` that sends each datagram
back to its sender, as it came."""

from __future__ import annotations

import asyncio
import signal
from typing import cast

from _common import parse_address


class EchoDatagram(asyncio.DatagramProtocol):
    """Each datagram back to where it came from."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.transport.sendto(data, addr)


async def serve(host: str, port: int) -> None:
    """Serve until SIGTERM or SIGINT."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    transport, _ = await loop.create_datagram_endpoint(
        EchoDatagram, local_addr=(host, port)
    )
    try:
        await stop.wait()
    finally:
        transport.close()


if __name__ == "__main__":
    asyncio.run(serve(*parse_address(__doc__ or "")))
