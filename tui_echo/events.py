"""The events the echo core publishes: small slotted dataclasses with a JSON form and
a text form, and the readings (client states, kernel numbers) that come with them.

Every event has a wall-clock timestamp `ts` (seconds since the epoch) and a class
constant `kind`, its name in the JSON form. `Event` is the closed union of them all,
so consumers can `match` on it and mypy checks that every kind is handled.

Events are values: nobody changes one once it is published (the loop thread makes
them, other threads read them). They are not `frozen` dataclasses only because a
frozen dataclass sets each field through `object.__setattr__`, which makes one cost
several times as much to build, and the loop builds several per connection.
"""

from __future__ import annotations

import json
import math
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from json.encoder import encode_basestring_ascii
from typing import Any, ClassVar

from tui_echo.events_tls import TlsEstablished as TlsEstablished
from tui_echo.events_tls import tls_line, tls_summary
from tui_echo.states import FAULT_OFF as FAULT_OFF
from tui_echo.states import ClientState as ClientState
from tui_echo.units import human_size
from tui_echo.words import escape, format_address, quoted

JsonObject = dict[str, Any]


KERNEL_SUPPORTED = sys.platform.startswith("linux")
"""Whether the kernel's view of a socket (`KernelStats`) can be read here."""


@dataclass(frozen=True, slots=True)
class KernelStats:
    """One client's socket as the kernel sees it, at one moment (engine/kernel.py
    reads it on the loop thread; the monitor shows it)."""

    recv_q: int
    """Bytes the client sent that the kernel holds and tui-echo has not read."""
    send_q: int
    """Bytes tui-echo sent that the client has not acknowledged yet."""
    rtt_us: int
    """Smoothed round-trip time, microseconds."""
    rttvar_us: int
    """Its variation, microseconds."""
    retransmits: int
    """Segments retransmitted over the connection's life."""
    cwnd: int
    """Congestion window, in segments."""
    lost: int
    """Segments the kernel thinks are lost now."""


def _now() -> float:
    return time.time()


@dataclass(slots=True, kw_only=True)
class Listening:
    """The server is bound and accepting on `host`:`port` (the real port, never 0)."""

    kind: ClassVar[str] = "listening"
    host: str
    port: int
    tls_ca: str | None = None
    """With `--tls`: the generated CA clients should trust (None with `--cert`)."""
    tls_fingerprint: str | None = None
    """With `--tls`: the server certificate's SHA-256, `AB:CD:...`."""
    ts: float = field(default_factory=_now)
    udp_port: int | None = None
    """With `--udp`: the UDP port, the same number as `port` (absent without)."""


@dataclass(slots=True, kw_only=True)
class ClientConnected:
    """A client connected; `client` is unique for the life of the process."""

    kind: ClassVar[str] = "connect"
    client: int
    peer: str
    ts: float = field(default_factory=_now)
    proto: str = "tcp"
    """`tcp`, or `udp` for a UDP peer (its first datagram); logs older than UDP
    have no such field, and mean `tcp`."""


@dataclass(slots=True, kw_only=True)
class ClientData:
    """Traffic of one client since its previous `ClientData`, with live counters.

    Data events are coalesced: `bytes` is what arrived since the previous one, so the
    `bytes` of a client's data events add up to its `bytes_in` at close. One may carry
    `bytes == 0` when only the outbound side or the state changed.
    """

    kind: ClassVar[str] = "data"
    client: int
    bytes: int
    bytes_in: int
    bytes_out: int
    pending: int
    state: ClientState
    """`open`, `paused` (reading stopped by backpressure) or `half-closed`."""
    ts: float = field(default_factory=_now)
    datagrams_in: int | None = None
    """A UDP peer's running totals of datagrams received, echoed and dropped
    (None, and absent from the JSON form, for a TCP client)."""
    datagrams_out: int | None = None
    dropped: int | None = None

    def merged_after(self, earlier: ClientData) -> ClientData:
        """This event folded with an `earlier` one of the same client."""
        return ClientData(
            client=self.client,
            bytes=earlier.bytes + self.bytes,
            bytes_in=self.bytes_in,
            bytes_out=self.bytes_out,
            pending=self.pending,
            state=self.state,
            ts=self.ts,
            datagrams_in=self.datagrams_in,
            datagrams_out=self.datagrams_out,
            dropped=self.dropped,
        )


@dataclass(slots=True, kw_only=True)
class ClientClosed:
    """A client's connection is gone, and why (`peer closed`, `kicked`, ...)."""

    kind: ClassVar[str] = "close"
    client: int
    reason: str
    bytes_in: int
    bytes_out: int
    discarded: int = 0
    """Pending outbound bytes thrown away by the close (kick, reset, errors)."""
    ts: float = field(default_factory=_now)


@dataclass(slots=True, kw_only=True)
class FaultChanged:
    """A fault was set or cleared: for one client, or (no `client`) the default of
    clients still to come."""

    kind: ClassVar[str] = "fault"
    client: int | None = None
    fault: str
    """The SPEC now in force, or `off`."""
    ts: float = field(default_factory=_now)


@dataclass(slots=True, kw_only=True)
class Rejected:
    """A connection was accepted and closed at once (for example `--max-clients`)."""

    kind: ClassVar[str] = "rejected"
    peer: str
    reason: str
    ts: float = field(default_factory=_now)


@dataclass(slots=True, kw_only=True)
class ServerError:
    """Something went wrong that the operator should know of; the server goes on."""

    kind: ClassVar[str] = "error"
    message: str
    client: int | None = None
    ts: float = field(default_factory=_now)


@dataclass(slots=True, kw_only=True)
class ShutdownComplete:
    """The listener and every client are closed; this is the last event."""

    kind: ClassVar[str] = "shutdown"
    ts: float = field(default_factory=_now)


@dataclass(slots=True, kw_only=True)
class ListenerChanged:
    """The listener fault (the server's door: `refuse`, `drop`, `accept-delay=D`)
    was set, cleared, or ran out (`for=`)."""

    kind: ClassVar[str] = "listener"
    fault: str
    """The listener fault now in force, as set (`refuse,for=5s`), or `off`."""
    ts: float = field(default_factory=_now)


@dataclass(slots=True, kw_only=True)
class ScenarioStep:
    """A scenario (`--scenario`) started (`step` 0, just after `listening`) or one
    of its `at` steps fired; with the next `at` step, so that a monitor can show
    the scenario's clock and what comes next from this event alone."""

    kind: ClassVar[str] = "scenario"
    step: int
    """The step that fired (its number in the file, from 1); 0: the start."""
    clock: float
    """When it was due, in seconds since the scenario started (the `listening`
    event); it fires then, or a moment after on a busy loop."""
    does: str
    """What the step does (`set new to delay=200ms`); empty at the start."""
    next_at: float
    """When the next `at` step fires, seconds since start (0 with no next)."""
    next_does: str
    """The next `at` step (`step 3: set all to off`); empty when none is left."""
    ts: float = field(default_factory=_now)


@dataclass(slots=True, kw_only=True)
class Corrupted:
    """A `corrupt` fault flipped bit `bit` (0-7, from the lowest) of the byte at
    `offset` (0-based) of the client's echoed stream, and the client got it.

    A client's flips are listed at most `LISTED_FLIPS` (faults/stages.py) a tick;
    the last one listed says how many `more` were made beyond them."""

    kind: ClassVar[str] = "corrupt"
    client: int
    offset: int
    bit: int
    more: int = 0
    """Flips made since the previous listed one beyond those listed (under load)."""
    ts: float = field(default_factory=_now)


Event = (
    Listening
    | ClientConnected
    | ClientData
    | ClientClosed
    | FaultChanged
    | Rejected
    | ServerError
    | TlsEstablished
    | ShutdownComplete
    | ListenerChanged
    | ScenarioStep
    | Corrupted
)


def to_json(event: Event) -> JsonObject:
    """The JSON object for `event`: `event` and `ts` first, then its fields."""
    payload: JsonObject = {"event": event.kind, "ts": round(event.ts, 6)}
    for name in event.__slots__:
        if name != "ts":
            value = getattr(event, name)
            if not (value is None and name in _LEFT_OUT_WHEN_NONE):
                payload[name] = value
    return payload


_LEFT_OUT_WHEN_NONE = frozenset(
    {
        "client",
        "tls_ca",
        "tls_fingerprint",
        "udp_port",
        "datagrams_in",
        "datagrams_out",
        "dropped",
    }
)
"""Fields absent from the JSON form when they are None (a log without TLS or UDP
reads as it did before they existed); other None fields are written as null."""


def json_line(event: Event) -> str:
    """`to_json(event)` encoded as one compact JSON line (no newline), made fast.

    Headless logs and the control socket's stream encode every event, on a thread
    that shares the GIL with the echo loop: a formatter per kind costs a third of
    building a dict and encoding it (`to_json` stays the reference; a test holds
    the two equal).
    """
    return _LINE_FORMATS[type(event)](event)


_quote = encode_basestring_ascii
"""A JSON string literal for a str, quotes included (C)."""


def _client(client: int | None) -> str:
    return "" if client is None else f',"client":{client}'


def _udp_port(port: int | None) -> str:
    return "" if port is None else f',"udp_port":{port}'


def _datagrams(e: ClientData) -> str:
    if e.datagrams_in is None:  # a TCP client's: the common case, one check
        return ""
    return (
        f',"datagrams_in":{e.datagrams_in},"datagrams_out":{e.datagrams_out},'
        f'"dropped":{e.dropped}'
    )


def _optional(key: str, text: str | None) -> str:
    return "" if text is None else f',"{key}":{_quote(text)}'


_LINE_FORMATS: dict[type, Callable[[Any], str]] = {
    Listening: lambda e: (
        f'{{"event":"listening","ts":{e.ts:.6f},"host":{_quote(e.host)},'
        f'"port":{e.port}{_udp_port(e.udp_port)}{_optional("tls_ca", e.tls_ca)}'
        f"{_optional('tls_fingerprint', e.tls_fingerprint)}}}"
    ),
    ClientConnected: lambda e: (
        f'{{"event":"connect","ts":{e.ts:.6f},"client":{e.client},'
        f'"peer":{_quote(e.peer)},"proto":"{e.proto}"}}'
    ),
    ClientData: lambda e: (
        f'{{"event":"data","ts":{e.ts:.6f},"client":{e.client},"bytes":{e.bytes},'
        f'"bytes_in":{e.bytes_in},"bytes_out":{e.bytes_out},"pending":{e.pending},'
        f'"state":"{e.state.value}"{_datagrams(e)}}}'
    ),
    ClientClosed: lambda e: (
        f'{{"event":"close","ts":{e.ts:.6f},"client":{e.client},'
        f'"reason":{_quote(e.reason)},"bytes_in":{e.bytes_in},'
        f'"bytes_out":{e.bytes_out},"discarded":{e.discarded}}}'
    ),
    FaultChanged: lambda e: (
        f'{{"event":"fault","ts":{e.ts:.6f}{_client(e.client)},'
        f'"fault":{_quote(e.fault)}}}'
    ),
    Rejected: lambda e: (
        f'{{"event":"rejected","ts":{e.ts:.6f},"peer":{_quote(e.peer)},'
        f'"reason":{_quote(e.reason)}}}'
    ),
    ServerError: lambda e: (
        f'{{"event":"error","ts":{e.ts:.6f},"message":{_quote(e.message)}'
        f"{_client(e.client)}}}"
    ),
    TlsEstablished: tls_line,
    ShutdownComplete: lambda e: f'{{"event":"shutdown","ts":{e.ts:.6f}}}',
    ListenerChanged: lambda e: (
        f'{{"event":"listener","ts":{e.ts:.6f},"fault":{_quote(e.fault)}}}'
    ),
    ScenarioStep: lambda e: (
        f'{{"event":"scenario","ts":{e.ts:.6f},"step":{e.step},'
        f'"clock":{e.clock!r},"does":{_quote(e.does)},"next_at":{e.next_at!r},'
        f'"next_does":{_quote(e.next_does)}}}'
    ),
    Corrupted: lambda e: (
        f'{{"event":"corrupt","ts":{e.ts:.6f},"client":{e.client},'
        f'"offset":{e.offset},"bit":{e.bit},"more":{e.more}}}'
    ),
}


_DATAGRAM_COUNTS = ("datagrams_in", "datagrams_out", "dropped")
PROTOCOLS = ("tcp", "udp")
"""The protocols a client may speak (`proto`)."""

_KINDS: dict[str, type[Event]] = {
    cls.kind: cls
    for cls in (
        Listening,
        ClientConnected,
        ClientData,
        ClientClosed,
        FaultChanged,
        Rejected,
        ServerError,
        TlsEstablished,
        ShutdownComplete,
        ListenerChanged,
        ScenarioStep,
        Corrupted,
    )
}
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


def event_text(event: Event, peer_of: Callable[[int], str | None] | None = None) -> str:
    """One line saying what happened, without timestamp; `peer_of` names clients."""

    def who(client: int) -> str:
        peer = peer_of(client) if peer_of is not None else None
        return f"#{client} {peer}" if peer else f"#{client}"

    match event:
        case Listening():
            where = format_address(event.host, event.port)
            tls = "" if event.tls_fingerprint is None else "  tls"
            if event.tls_ca is not None:
                tls += f"  ca {event.tls_ca}"
            if event.tls_fingerprint is not None:
                tls += f"  sha256 {event.tls_fingerprint}"
            if event.udp_port is not None:
                return f"listening   on {where} (TCP, and UDP on the same port){tls}"
            return f"listening   on {where}{tls}"
        case ClientConnected():
            udp = " udp" if event.proto == "udp" else ""
            return f"connect     #{event.client} {event.peer}{udp}"
        case ClientData():
            datagrams = (
                ""
                if event.datagrams_in is None
                else f"  datagrams in {event.datagrams_in:,}"
                f" out {event.datagrams_out or 0:,} dropped {event.dropped or 0:,}"
            )
            return (
                f"data        {who(event.client)} +{human_size(event.bytes)}"
                f"  in {human_size(event.bytes_in)}  out {human_size(event.bytes_out)}"
                f"  pending {human_size(event.pending)}  {event.state}{datagrams}"
            )
        case ClientClosed():
            discarded = (
                f"  discarded {human_size(event.discarded)}" if event.discarded else ""
            )
            return (
                f"close       {who(event.client)} {event.reason}"
                f"  in {human_size(event.bytes_in)}  out {human_size(event.bytes_out)}"
                f"{discarded}"
            )
        case Rejected():
            return f"rejected    {event.peer} {event.reason}"
        case ServerError():
            where = f"{who(event.client)} " if event.client is not None else ""
            return f"error       {where}{event.message}"
        case FaultChanged():
            where = who(event.client) if event.client is not None else "new clients"
            if event.fault == FAULT_OFF:
                return f"fault       {where}: cleared"
            return f"fault       {where}: {event.fault}"
        case TlsEstablished():
            return f"tls         {who(event.client)} {tls_summary(event)}"
        case ShutdownComplete():
            return "shutdown"
        case ListenerChanged():
            if event.fault == FAULT_OFF:
                return "listener    off: accepting as usual"
            return f"listener    {event.fault}"
        case ScenarioStep():
            now = (
                "started"
                if event.step == 0
                else f"step {event.step} at {_seconds(event.clock)}: {event.does}"
            )
            if not event.next_does:
                return f"scenario    {now}; no more timed steps"
            return (
                f"scenario    {now}; next at {_seconds(event.next_at)}:"
                f" {event.next_does}"
            )

        case Corrupted():
            more = f"  and {event.more:,} more not listed" if event.more else ""
            return (
                f"corrupt     {who(event.client)} offset {event.offset:,}"
                f" bit {event.bit}{more}"
            )


def _seconds(seconds: float) -> str:
    """A time on a scenario's clock, for its log line: `12.5s`."""
    return f"{seconds:.6g}s" if seconds < 1e6 else f"{seconds:.0f}s"
