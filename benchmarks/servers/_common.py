"""Command-line parsing shared by the reference echo servers."""

from __future__ import annotations

import argparse
import contextlib
import resource


def add_address(parser: argparse.ArgumentParser) -> None:
    """The ``--host`` and ``--port`` every reference server takes."""
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9000)


def parse_address(description: str) -> tuple[str, int]:
    """Parse ``--host`` and ``--port`` and return them."""
    parser = argparse.ArgumentParser(description=description)
    add_address(parser)
    args = parser.parse_args()
    return args.host, args.port


def raise_nofile() -> None:
    """Raise the soft descriptor limit to the hard one, as tui-echo does at start.

    The harness raises both for itself, and its servers inherit them; this is
    for a server started some other way, with the shell's soft limit (often
    1,024), which 10,000 idle clients would exceed.
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        # an unlimited hard limit is above nr_open: then leave it as it is
        with contextlib.suppress(OSError, ValueError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
