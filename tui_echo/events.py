"""The events the echo core publishes: small slotted dataclasses and their JSON form,
and the readings (client states, kernel numbers) that come with them. Events from
outside are read back, checked, by events_parse.py; their text form (the headless
log's lines) is events_text.py's.

Every event has a wall-clock timestamp `ts` (seconds since the epoch) and a class
constant `kind`, its name in the JSON form. `Event` is the closed union of them all,
so consumers can `match` on it and mypy checks that every kind is handled.

Events are values: nobody changes one once it is published (the loop thread makes
them, other threads read them). They are not `frozen` dataclasses only because a
frozen dataclass sets each field through `object.__setattr__`, which makes one cost
several times as much to build, and the loop builds several per connection.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from json.encoder import encode_basestring_ascii
from typing import Any, ClassVar

from tui_echo.events_tls import TlsEstablished as TlsEstablished
from tui_echo.events_tls import tls_line
from tui_echo.states import FAULT_OFF as FAULT_OFF
from tui_echo.states import ClientState as ClientState

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


PROTOCOLS = ("tcp", "udp")
"""The protocols a client may speak (`proto`)."""


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
