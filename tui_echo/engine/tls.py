"""A TLS client's rules (`--tls`): the handshake state on top of `Connection`, why a
handshake failed in words, and what was negotiated. No I/O here (tls_loop.py does
it).

While the handshake runs, the handshake decides what the poller watches; once it
is done every rule of `Connection` holds for the plaintext, faults included (the
fault stack sits above TLS: it sees and shapes plaintext, the same decisions).
"""

from __future__ import annotations

import ssl

from tui_echo.engine.connection import INTEREST, Connection
from tui_echo.engine.limits import Limits
from tui_echo.events import TlsEstablished
from tui_echo.states import ClientState, CloseHow
from tui_echo.words import escape

TLS_RECORD = 16 * 1024
"""The most plaintext one TLS record carries. A read takes at least this much, so
OpenSSL never keeps decrypted bytes that the loop has not counted (epoll would not
report them either): they are pending bytes, under `--max-buffer`/`--max-memory`
give or take one record."""

HANDSHAKE_RECORD = 0x16
"""The first byte of every TLS connection: a handshake record (the ClientHello)."""

PLAINTEXT = "tls: plaintext on a TLS port"


class TlsConnection(Connection):
    """A TLS client's connection: `handshaking` until the handshake is done."""

    __slots__ = ("handshake_wants", "handshaking", "peeked", "retry", "tls")

    def __init__(self, client_id: int, peer: str, limits: Limits, now: float) -> None:
        super().__init__(client_id, peer, limits, now)
        self.handshaking = True
        self.handshake_wants = self.interest
        """What the handshake waits for (READ at first: the ClientHello)."""
        self.peeked = False
        """Its first byte was looked at (a TLS handshake, not plaintext)."""
        self.retry = 0
        """Bytes of a write that OpenSSL asked to retry (want write): the next
        write must offer at least these again, the same bytes first."""
        self.tls: TlsEstablished | None = None
        """What the handshake negotiated, once done."""

    @property
    def state(self) -> ClientState:
        if self.handshaking:
            return ClientState.HANDSHAKE
        return super().state

    def handshake_waits(self, interest: int) -> int:
        """The handshake waits for `interest` (READ or WRITE) to go on."""
        self.handshake_wants = interest
        if interest == self.interest:
            return 0
        self.interest = interest
        return INTEREST

    def handshake_done(self, established: TlsEstablished, now: float) -> int:
        """The handshake completed: from now on the plaintext rules hold."""
        self.handshaking = False
        self.tls = established
        return self._after_change(now)

    def handshake_failed(self, reason: str) -> int:
        """Close for a failed handshake (OpenSSL has sent its alert), with a FIN
        after reading what the client sent, not an RST."""
        todo = self._close(reason)
        self.close_how = CloseHow.FIN
        return todo

    def _after_change(self, now: float) -> int:
        before = self.interest
        todo = super()._after_change(now) & ~INTEREST
        if self.handshaking:  # a fault or the budget: the handshake still decides
            self.interest = before
        elif self.interest != before:
            todo |= INTEREST
        return todo


_REASONS = {
    "TLSV1_ALERT_UNKNOWN_CA": "tls: unknown ca",
    "PEER_DID_NOT_RETURN_A_CERTIFICATE": "tls: no client certificate",
    "UNSUPPORTED_PROTOCOL": "tls: protocol version",
    "TLSV1_ALERT_PROTOCOL_VERSION": "tls: protocol version",
    "WRONG_SSL_VERSION": "tls: protocol version",
    "VERSION_TOO_LOW": "tls: protocol version",
    "NO_PROTOCOLS_AVAILABLE": "tls: protocol version",
    "HTTP_REQUEST": PLAINTEXT,
    "HTTPS_PROXY_REQUEST": PLAINTEXT,
    "SSLV3_ALERT_BAD_CERTIFICATE": "tls: bad certificate",
    "SSLV3_ALERT_CERTIFICATE_EXPIRED": "tls: certificate expired",
}
"""OpenSSL's reasons a person would not read at once, in words."""

_UNKNOWN_ISSUER = frozenset({2, 19, 20, 21})
"""X509 verify codes that mean "signed by a CA we do not know"."""


def failure_reason(error: ssl.SSLError) -> str:
    """Why a handshake failed, starting `tls:` and in words."""
    if isinstance(error, ssl.SSLCertVerificationError):
        if error.verify_code in _UNKNOWN_ISSUER:
            return "tls: unknown ca"
        if error.verify_message:
            return f"tls: {escape(error.verify_message).lower()}"
    reason = error.reason
    if reason:
        return _REASONS.get(reason) or f"tls: {reason.replace('_', ' ').lower()}"
    words = str(error.args[1] if len(error.args) > 1 else error) or "handshake failed"
    return f"tls: {escape(words).lower()[:200]}"


_NAMES = {
    "commonName": "CN",
    "organizationName": "O",
    "organizationalUnitName": "OU",
    "countryName": "C",
    "stateOrProvinceName": "ST",
    "localityName": "L",
    "emailAddress": "E",
}


def _name(rdns: object) -> str | None:
    """A certificate name as `CN=...,O=...` (from `getpeercert()`'s tuples)."""
    if not isinstance(rdns, tuple):
        return None
    parts = [
        f"{_NAMES.get(key, key)}={value}"
        for rdn in rdns
        for key, value in rdn
        if isinstance(key, str) and isinstance(value, str)
    ]
    return escape(",".join(parts))[:512] if parts else None


def established(sock: ssl.SSLSocket, client: int, ts: float) -> TlsEstablished:
    """What a finished handshake negotiated, as the `tls` event says it. Text the
    client chose (SNI, ALPN, its certificate's names) is escaped here."""
    cipher = sock.cipher()
    alpn = sock.selected_alpn_protocol()
    sni = getattr(sock, "sni", None)
    cert = sock.getpeercert() or {}
    expires = None
    not_after = cert.get("notAfter")
    if isinstance(not_after, str):
        try:
            expires = float(ssl.cert_time_to_seconds(not_after))
        except ValueError:
            expires = None
    return TlsEstablished(
        client=client,
        version=sock.version() or "unknown",
        cipher=cipher[0] if cipher else "unknown",
        alpn=None if alpn is None else escape(alpn)[:255],
        sni=None if sni is None else escape(sni)[:255],
        client_cert=_name(cert.get("subject")),
        client_cert_issuer=_name(cert.get("issuer")),
        client_cert_expires=expires,
        resumed=bool(sock.session_reused),
        ts=ts,
    )
