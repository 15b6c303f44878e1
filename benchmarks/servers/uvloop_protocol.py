"""The ``asyncio_protocol`` echo server running on uvloop (exit 3 if it is missing)."""

from __future__ import annotations

import sys

from _common import parse_address
from asyncio_protocol import serve

try:
    import uvloop
except ImportError:
    print("uvloop is not installed (pip install 'tui-echo[bench]')", file=sys.stderr)
    sys.exit(3)


if __name__ == "__main__":
    uvloop.run(serve(*parse_address(__doc__ or "")))
