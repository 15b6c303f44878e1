"""The answers of `LIST`, `STATS`, `HISTORY`, `KERNEL`, `RECENT` and `ACTIVITY`,
read from their lines and checked field by field.

A server at the path `attach` is given is untrusted, so every field is checked
(ASCII digits only, in range, finite; a fault that parses; a known state) and what
is wrong is a `BadAnswerError` quoting the line escaped, never a Python message such
as `invalid literal for int()`. Apart from control/client.py, which reads the
lines: reading a socket with limits and deadlines is one job, knowing what each
answer holds is another.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from tui_echo.control.client import BadAnswerError
from tui_echo.control.tls_fields import parse_server_tls, parse_tls_words
from tui_echo.events import (
    PROTOCOLS,
    ClientState,
    KernelStats,
    TlsEstablished,
)
from tui_echo.events_parse import MAX_TEXT
from tui_echo.faults import FaultActivity, FaultSpec
from tui_echo.faults.listener import ListenerFault
from tui_echo.words import quoted

_LARGEST_COUNT = (1 << 63) - 1
_LATEST = 32503680000.0
"""The year 3000: no later time (seconds since the epoch) makes sense here."""
_LONGEST_SPAN = 1e10
"""Seconds (three centuries): no age or uptime is longer."""

_DIGITS = re.compile(r"[0-9]{1,19}")
_DECIMAL = re.compile(r"[0-9]{1,12}(?:\.[0-9]{1,9})?")
_KEY = re.compile(r"[a-z_]{1,20}")


@dataclass(frozen=True, slots=True)
class StatsLine:
    """`STATS`: the server's totals when it answered."""

    clients: int
    total: int
    rejected: int
    bytes_in: int
    bytes_out: int
    pending: int
    uptime: float
    started: float
    seq: int
    listener: str
    """The listener fault (`off`, `refuse,for=4.2s`: `for=` is the time left)."""
    host: str
    port: int
    fault: str | None
    untracked: int | None = None
    """Datagrams of UDP peers beyond `--max-clients` (None: no `--udp`)."""
    tls: tuple[str | None, str] | None = None
    """With `--tls`: the CA path (None with `--cert`) and the fingerprint."""


@dataclass(frozen=True, slots=True)
class ListLine:
    """One line of `LIST`: a client as it stood when its line was made (`seq`)."""

    id: int
    peer: str
    state: ClientState
    age: float
    idle: float
    bytes_in: int
    bytes_out: int
    pending: int
    seq: int
    fault: str | None
    proto: str = "tcp"
    """`tcp`, or `udp` for a UDP peer (a server older than UDP says nothing)."""
    datagrams_in: int | None = None
    """A UDP peer's datagram counts (None for a TCP client)."""
    datagrams_out: int | None = None
    dropped: int | None = None
    tls: TlsEstablished | None = None
    """What a TLS client negotiated (`ts` 0: the line does not say when)."""


@dataclass(frozen=True, slots=True)
class HistoryLine:
    """One line of `HISTORY`: a client that left."""

    id: int
    peer: str
    connected: float
    closed: float
    bytes_in: int
    bytes_out: int
    discarded: int
    fault: str | None
    reason: str


class _Fields:
    """The `key=value` words of one answer line, read with checks; `last` takes the
    rest of the line (a SPEC or a reason may hold spaces, `=` and `,`)."""

    def __init__(self, line: str, command: str, last: str | None = None) -> None:
        self.line = line
        self.command = command
        self.values: dict[str, str] = {}
        head = line
        if last is not None:
            head, found, tail = line.partition(f" {last}=")
            if not found:
                raise self._bad(f"no {last}=")
            self.values[last] = tail
        for word in head.split():
            key, found, value = word.partition("=")
            if not found or not _KEY.fullmatch(key):
                raise self._bad(f"a word that is not key=value ({quoted(word, 40)})")
            self.values.setdefault(key, value)

    def _bad(self, what: str) -> BadAnswerError:
        return BadAnswerError(
            f"the {self.command} answer has {what} in {quoted(self.line, 160)}"
        )

    def text(self, key: str) -> str:
        value = self.values.get(key)
        if value is None:
            raise self._bad(f"no {key}=")
        if not value or len(value) > MAX_TEXT or not value.isprintable():
            raise self._bad(f"{key}={quoted(value, 40)}, which is not a {key}")
        return value

    def count(self, key: str) -> int:
        """A whole number 0..2**63-1, in ASCII digits."""
        value = self.text(key)
        if not _DIGITS.fullmatch(value) or int(value) > _LARGEST_COUNT:
            raise self._bad(f"{key}={quoted(value, 40)}, not a count")
        return int(value)

    def seconds(self, key: str, largest: float = _LONGEST_SPAN) -> float:
        """A finite number of seconds, 0..`largest`, in ASCII digits."""
        value = self.text(key)
        if not _DECIMAL.fullmatch(value) or float(value) > largest:
            raise self._bad(f"{key}={quoted(value, 40)}, not a number of seconds")
        return float(value)

    def epoch(self, key: str) -> float:
        """A time, seconds since the epoch, before the year 3000."""
        return self.seconds(key, _LATEST)

    def fault(self, key: str = "fault") -> str | None:
        """A fault SPEC the server holds (`-` for none): it must parse."""
        value = self.text(key)
        if value == "-":
            return None
        try:
            spec = FaultSpec.parse(value)
        except ValueError:
            spec = None
        if spec is None:
            raise self._bad(f"{key}={quoted(value, 40)}, not a fault")
        return value

    def listener(self, key: str = "listener") -> str:
        """A listener fault the server holds (`off` for none): it must parse, and
        comes back in its own text form."""
        value = self.text(key)
        try:
            fault = ListenerFault.parse(value)
        except ValueError:
            raise self._bad(
                f"{key}={quoted(value, 40)}, not a listener fault"
            ) from None
        return "off" if fault is None else str(fault)

    def proto(self) -> str:
        """`tcp` or `udp` (`tcp` when the server says nothing: older than UDP)."""
        if "proto" not in self.values:
            return "tcp"
        value = self.text("proto")
        if value not in PROTOCOLS:
            raise self._bad(f"proto={quoted(value, 40)}, not tcp or udp")
        return value

    def state(self) -> ClientState:
        value = self.text("state")
        try:
            return ClientState(value)
        except ValueError:
            raise self._bad(f"state={quoted(value, 40)}, not a state") from None

    def tls(self, client: int) -> TlsEstablished | None:
        """A TLS client's fields (None when the line has none)."""
        if "tls" not in self.values:
            return None
        try:
            return parse_tls_words(self.values, client, 0.0)
        except ValueError as exc:
            raise self._bad(str(exc)) from None

    def server_tls(self) -> tuple[str | None, str] | None:
        """`STATS`' TLS fields (None without TLS)."""
        try:
            return parse_server_tls(self.values)
        except ValueError as exc:
            raise self._bad(str(exc)) from None

    def address(self, key: str) -> tuple[str, int]:
        """`host:port` or `[v6]:port`."""
        value = self.text(key)
        host, found, port = value.rpartition(":")
        if host.startswith("[") and host.endswith("]"):
            host = host[1:-1]
        if not found or not host or not _DIGITS.fullmatch(port) or int(port) > 65535:
            raise self._bad(f"{key}={quoted(value, 40)}, not host:port")
        return host, int(port)


def parse_stats(line: str) -> StatsLine:
    """A `STATS` line, every field checked (BadAnswerError says which is wrong)."""
    f = _Fields(line, "STATS", last="fault")
    host, port = f.address("listening")
    return StatsLine(
        clients=f.count("clients"),
        total=f.count("total"),
        rejected=f.count("rejected"),
        bytes_in=f.count("bytes_in"),
        bytes_out=f.count("bytes_out"),
        pending=f.count("pending"),
        uptime=f.seconds("uptime"),
        started=f.epoch("started"),
        seq=f.count("seq"),
        listener=f.listener(),
        host=host,
        port=port,
        fault=f.fault(),
        untracked=f.count("untracked") if "untracked" in f.values else None,
        tls=f.server_tls(),
    )


def parse_list(line: str) -> ListLine:
    """A `LIST` line, every field checked."""
    f = _Fields(line, "LIST", last="fault")
    proto = f.proto()
    udp = proto == "udp"
    return ListLine(
        id=f.count("id"),
        peer=f.text("peer"),
        state=f.state(),
        age=f.seconds("age"),
        idle=f.seconds("idle"),
        bytes_in=f.count("in"),
        bytes_out=f.count("out"),
        pending=f.count("pending"),
        seq=f.count("seq"),
        fault=f.fault(),
        proto=proto,
        datagrams_in=f.count("datagrams_in") if udp else None,
        datagrams_out=f.count("datagrams_out") if udp else None,
        dropped=f.count("dropped") if udp else None,
        tls=f.tls(f.count("id")),
    )


def parse_history(line: str) -> HistoryLine:
    """A `HISTORY` line, every field checked (`reason` takes the rest)."""
    f = _Fields(line, "HISTORY", last="reason")
    return HistoryLine(
        id=f.count("id"),
        peer=f.text("peer"),
        connected=f.epoch("connected"),
        closed=f.epoch("closed"),
        bytes_in=f.count("in"),
        bytes_out=f.count("out"),
        discarded=f.count("discarded"),
        fault=f.fault(),
        reason=f.text("reason"),
    )


def parse_kernel(line: str) -> tuple[int, KernelStats]:
    """A `KERNEL` line: a client's id and its socket as the kernel sees it."""
    f = _Fields(line, "KERNEL")
    return f.count("id"), KernelStats(
        recv_q=f.count("recvq"),
        send_q=f.count("sendq"),
        rtt_us=f.count("rtt_us"),
        rttvar_us=f.count("rttvar_us"),
        retransmits=f.count("retrans"),
        cwnd=f.count("cwnd"),
        lost=f.count("lost"),
    )


def parse_activity(line: str) -> FaultActivity | None:
    """An `ACTIVITY` line: what a client's fault did (None: it has none)."""
    if line == "fault=-":
        return None
    f = _Fields(line, "ACTIVITY")
    # `corrupted` is newer than the rest: a server without it flipped nothing.
    newer = [  # newer than the rest: a server without them did none of it
        f.count(key) if key in f.values else 0
        for key in ("corrupted", "dropped", "duplicated", "reordered", "truncated")
    ]
    return FaultActivity(
        f.count("delayed"), f.count("pieces"), f.count("discarded"), *newer
    )


def parse_recent(line: str) -> bytes:
    """A `RECENT` line: `hex=...`, the bytes kept for an inspected client."""
    hex_text = line.removeprefix("hex=")
    try:
        if hex_text == line or not hex_text.isascii():
            raise ValueError
        return bytes.fromhex(hex_text)
    except ValueError:
        raise BadAnswerError(
            f"the RECENT answer is not hex=...: {quoted(line, 160)}"
        ) from None
