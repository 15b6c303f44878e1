"""Events read from outside: `from_json` and `from_json_line`, with every field
checked (its type, its range, its length) and every text escaped.

Attach reads the events of a server it does not trust and replay reads a log that
anyone may have written, so each event from outside passes these checks before the
book or the screen sees it. Apart from events.py because this is a job of its own,
guarding the monitor against hostile input, where events.py only says what each
event is and writes it out.
"""

from __future__ import annotations

import json
import math
from typing import Any, get_args

from tui_echo.events import (
    PROTOCOLS,
    ClientData,
    ClientState,
    Event,
    FaultChanged,
    ServerError,
)
from tui_echo.words import escape, quoted

_DATAGRAM_COUNTS = ("datagrams_in", "datagrams_out", "dropped")

_KINDS: dict[str, type[Event]] = {cls.kind: cls for cls in get_args(Event)}
"""Every event type by its `event` name (the `Event` union's, so a new type is
parsed as soon as it is one of them)."""
_TYPES: dict[str, tuple[type, ...]] = {
    "host": (str,),
    "peer": (str,),
    "reason": (str,),
    "message": (str,),
    "fault": (str,),
    "state": (str,),
    "client": (int,),
    "port": (int,),
    "bytes": (int,),
    "bytes_in": (int,),
    "bytes_out": (int,),
    "pending": (int,),
    "discarded": (int,),
    "offset": (int,),
    "bit": (int,),
    "more": (int,),
    "ts": (int, float),
    "step": (int,),
    "clock": (int, float),
    "does": (str,),
    "next_at": (int, float),
    "next_does": (str,),
    "proto": (str,),
    "udp_port": (int,),
    "datagrams_in": (int,),
    "datagrams_out": (int,),
    "dropped": (int,),
    "tls_ca": (str,),
    "tls_fingerprint": (str,),
    "version": (str,),
    "cipher": (str,),
    "alpn": (str,),
    "sni": (str,),
    "client_cert": (str,),
    "client_cert_issuer": (str,),
    "client_cert_expires": (int, float),
    "resumed": (bool,),
}
_OPTIONAL = frozenset(
    {
        "discarded",
        "more",
        "proto",
        "udp_port",
        *_DATAGRAM_COUNTS,
        "tls_ca",
        "tls_fingerprint",
        "alpn",
        "sni",
        "client_cert",
        "client_cert_issuer",
        "client_cert_expires",
    }
)
"""Fields an event from outside may leave out or give as null (older logs have
none of these; a TLS event's ALPN, SNI and certificate may be null)."""

MAX_TEXT = 1024
"""Longest text field an event from outside may carry (a peer, a reason)."""

_LARGEST_COUNT = (1 << 63) - 1
_LARGEST: dict[str, float] = {
    "client": _LARGEST_COUNT,
    "port": 65535,
    "udp_port": 65535,
    "bytes": _LARGEST_COUNT,
    "bytes_in": _LARGEST_COUNT,
    "bytes_out": _LARGEST_COUNT,
    "pending": _LARGEST_COUNT,
    "discarded": _LARGEST_COUNT,
    "offset": _LARGEST_COUNT,
    "bit": 7,
    "more": _LARGEST_COUNT,
    "ts": 32503680000.0,  # the year 3000: no later clock makes sense here
    "step": _LARGEST_COUNT,
    "clock": 32503680000.0,
    "next_at": 32503680000.0,
    "datagrams_in": _LARGEST_COUNT,
    "datagrams_out": _LARGEST_COUNT,
    "dropped": _LARGEST_COUNT,
    "client_cert_expires": 32503680000.0,
}
"""The largest value a number field may have in an event from outside."""


def from_json(payload: object) -> Event:
    """The event a JSON object (as `to_json` made it) stands for; extra keys such as
    the control socket's `seq` are ignored.

    Raises:
        ValueError: it is not one of our events (unknown kind, a field missing, of
            the wrong type, out of range or too long).
    """
    if not isinstance(payload, dict):
        raise ValueError("not a JSON object")
    kind = payload.get("event")
    cls = _KINDS.get(kind) if isinstance(kind, str) else None
    if cls is None:
        if kind is None:
            raise ValueError('not a tui-echo event: it has no "event" field')
        raise ValueError(f"not a tui-echo event: unknown kind {quoted(str(kind), 40)}")
    values: dict[str, Any] = {}
    optional_client = cls in (ServerError, FaultChanged)
    for name in cls.__slots__:
        value = payload.get(name)
        if value is None and (
            (name == "client" and optional_client) or name in _OPTIONAL
        ):
            continue  # absent: no client concerned, nothing discarded, no TLS
        if name not in payload:
            raise ValueError(f"{kind} event without {name!r}")
        if (isinstance(value, bool) and name != "resumed") or not isinstance(
            value, _TYPES[name]
        ):
            raise ValueError(
                f"{kind} event with a bad {name!r}: {quoted(repr(value), 40)}"
            )
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError(f"{kind} event with a bad {name!r}: {value!r}")
        if (
            isinstance(value, (int, float))
            and not isinstance(value, bool)
            and not 0 <= value <= _LARGEST[name]
        ):
            shown = quoted(str(value), 24)
            raise ValueError(f"{kind} event with {name!r} out of range: {shown}")
        if isinstance(value, str):
            if len(value) > MAX_TEXT:
                raise ValueError(f"{kind} event with a {name!r} too long to show")
            value = escape(value)
        values[name] = value
    if values.get("proto", "tcp") not in PROTOCOLS:
        shown = quoted(values["proto"], 40)
        raise ValueError(f"connect event with an unknown proto: {shown}")
    if cls is ClientData:
        try:
            values["state"] = ClientState(values["state"])
        except ValueError:
            raise ValueError(
                f"data event with an unknown state: {quoted(values['state'], 40)}"
            ) from None
    return cls(**values)


def from_json_line(raw: bytes | str) -> Event:
    """An event from one JSON line (ValueError if it is not one of ours)."""
    try:
        payload = json.loads(raw)
    except json.JSONDecodeError:
        raise ValueError("not JSON") from None
    except RecursionError:  # `[[[[...` deeper than the parser's stack
        raise ValueError("JSON nested too deeply to be an event") from None
    return from_json(payload)
