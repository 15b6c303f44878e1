"""The text form of events: one line saying what happened, for the headless log,
the monitor's event log and a client's detail screen.

Apart from events.py because wording is a job of its own (sizes in human units,
addresses, a peer named beside its client's id) that the engine, which makes the
events, never needs.
"""

from __future__ import annotations

from collections.abc import Callable

from tui_echo.events import (
    ClientClosed,
    ClientConnected,
    ClientData,
    Corrupted,
    Event,
    FaultChanged,
    ListenerChanged,
    Listening,
    Rejected,
    ScenarioStep,
    ServerError,
    ShutdownComplete,
    TlsEstablished,
)
from tui_echo.events_tls import tls_summary
from tui_echo.states import FAULT_OFF
from tui_echo.units import human_size
from tui_echo.words import escape, format_address


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
                tls += f"  ca {escape(event.tls_ca)}"  # a path the user gave
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
