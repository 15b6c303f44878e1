"""The default fault as the book knows it: whether a new client has it from its
connect, unsaid, or only once a `fault` event of its own says so.

Apart from the book because it is the server's rule, not the folding: the book
applies it both to a client that gets a row and to a flood's client that does not.
"""

from __future__ import annotations

CHANCE_PREFIX = "p="
"""How the SPEC of a default that is a draw (`p=30%,delay=1s`) starts: `p` is the
first item of the fault table. A new client gets such a default only if a `fault`
event of its own says so; any other default, every new client gets, unsaid."""


def given_at_connect(default: str | None) -> str | None:
    """The fault a new client has when it connects, the default being `default`."""
    if default is None or default.startswith(CHANCE_PREFIX):
        return None
    return default
