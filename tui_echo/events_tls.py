"""The `tls` event (`--tls`): what a client's handshake negotiated, with its fast
JSON line and its words. Apart from events.py only for room; `events` re-exports
it, and it belongs to the `Event` union like any other."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from json.encoder import encode_basestring_ascii as _quote
from typing import ClassVar


def _now() -> float:
    return time.time()


@dataclass(slots=True, kw_only=True)
class TlsEstablished:
    """A TLS client finished its handshake: what it negotiated (`--tls`)."""

    kind: ClassVar[str] = "tls"
    client: int
    version: str
    """`TLSv1.2` or `TLSv1.3`."""
    cipher: str
    alpn: str | None = None
    """The ALPN protocol agreed on, if any."""
    sni: str | None = None
    """The server name the client asked for, if it sent one."""
    client_cert: str | None = None
    """The client certificate's subject (`CN=...,O=...`), under mTLS."""
    client_cert_issuer: str | None = None
    client_cert_expires: float | None = None
    """When the client certificate expires, seconds since the epoch."""
    resumed: bool = False
    """The client resumed an earlier session."""
    ts: float = field(default_factory=_now)


def _text_or_null(text: str | None) -> str:
    return "null" if text is None else _quote(text)


def tls_line(e: TlsEstablished) -> str:
    """`json_line` of a `tls` event."""
    expires = "null" if e.client_cert_expires is None else repr(e.client_cert_expires)
    return (
        f'{{"event":"tls","ts":{e.ts:.6f},"client":{e.client},'
        f'"version":{_quote(e.version)},"cipher":{_quote(e.cipher)},'
        f'"alpn":{_text_or_null(e.alpn)},"sni":{_text_or_null(e.sni)},'
        f'"client_cert":{_text_or_null(e.client_cert)},'
        f'"client_cert_issuer":{_text_or_null(e.client_cert_issuer)},'
        f'"client_cert_expires":{expires},'
        f'"resumed":{"true" if e.resumed else "false"}}}'
    )


def tls_summary(event: TlsEstablished) -> str:
    """What a TLS client negotiated, in a few words."""
    words = [event.version, event.cipher]
    if event.alpn is not None:
        words.append(f"alpn {event.alpn}")
    if event.sni is not None:
        words.append(f"sni {event.sni}")
    if event.client_cert is not None:
        words.append(f"cert {event.client_cert}")
    if event.resumed:
        words.append("resumed")
    return "  ".join(words)
