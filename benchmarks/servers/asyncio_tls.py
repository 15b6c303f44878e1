"""TLS echo server: ``asyncio_protocol.py``'s Protocol behind an ``SSLContext``.

The context is what tui-echo's ``--tls --cert --key --tls-min 1.3`` builds: a
server context with the same certificate and key, TLS 1.3 at least, OpenSSL's
default ciphers. The harness gives both servers the files it made once with
trustme (``benchkit/certs.py``), so the two differ only in how they serve.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import ssl

from _common import add_address, raise_nofile
from asyncio_protocol import EchoProtocol


def context(cert: str, key: str) -> ssl.SSLContext:
    """A server context: the certificate chain and key, TLS 1.3 at least."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    ctx.load_cert_chain(cert, key)
    return ctx


async def serve(host: str, port: int, ctx: ssl.SSLContext) -> None:
    """Serve until SIGTERM or SIGINT."""
    raise_nofile()  # for many idle clients
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    server = await loop.create_server(EchoProtocol, host, port, ssl=ctx, backlog=4096)
    async with server:
        await stop.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    add_address(parser)
    parser.add_argument("--cert", required=True, help="certificate chain (PEM)")
    parser.add_argument("--key", required=True, help="its private key (PEM)")
    args = parser.parse_args()
    asyncio.run(serve(args.host, args.port, context(args.cert, args.key)))


if __name__ == "__main__":
    main()
