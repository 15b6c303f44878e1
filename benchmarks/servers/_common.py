"""Command-line parsing shared by the reference echo servers."""

from __future__ import annotations

import argparse


def parse_address(description: str) -> tuple[str, int]:
    """Parse ``--host`` and ``--port`` and return them."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9000)
    args = parser.parse_args()
    return args.host, args.port
