"""Echo server on asyncio streams: ``start_server`` and a read/write/drain loop."""

from __future__ import annotations

import asyncio
import signal

from _common import parse_address, raise_nofile


async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Echo one client until it closes; drain() bounds what we buffer for it."""
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except OSError:
        pass
    finally:
        writer.close()


async def serve(host: str, port: int) -> None:
    """Serve until SIGTERM or SIGINT."""
    raise_nofile()  # for many idle clients
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    server = await asyncio.start_server(echo, host, port, backlog=4096)
    async with server:
        await stop.wait()


if __name__ == "__main__":
    asyncio.run(serve(*parse_address(__doc__ or "")))
