"""`--tls`: the settings, and the server's `SSLContext` made from them at start.

`TlsSettings` is what the command line (or Python) asks for; `open_tls` turns it
into a `TlsServer`: the context every accepted socket is wrapped with, the CA path
and the certificate's fingerprint to show, and what to remove at shutdown.
"""

from __future__ import annotations

import hashlib
import ssl
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from tui_echo.engine.certificates import CertificateError, Certificates, generate
from tui_echo.words import quoted

if TYPE_CHECKING:
    from collections.abc import Callable

DEFAULT_HANDSHAKE_TIMEOUT = 10.0
TLS_VERSIONS = {"1.2": ssl.TLSVersion.TLSv1_2, "1.3": ssl.TLSVersion.TLSv1_3}
"""`--tls-min`'s words and the versions they stand for."""

ALPN_PROTOCOLS = (
    "h2",
    "http/1.1",
    "http/1.0",
    "http/0.9",
    "h3",
    "h2c",
    "spdy/3",
    "spdy/2",
    "spdy/1",
    "webrtc",
    "c-webrtc",
    "ftp",
    "imap",
    "pop3",
    "managesieve",
    "coap",
    "xmpp-client",
    "xmpp-server",
    "acme-tls/1",
    "mqtt",
    "dot",
    "doq",
    "ntske/1",
    "sunrpc",
    "smb",
    "irc",
    "nntp",
    "nnsp",
    "sip/2",
    "tds/8.0",
    "dicom",
    "postgresql",
    "radius/1.0",
    "radius/1.1",
    "stun.turn",
    "stun.nat-discovery",
    "echo",
)
"""The ALPN protocols the server agrees to: IANA's registry (and `echo`). Python's
`ssl` has no selection callback, so "any protocol the client offers" is any of
these: the first of this list that the client offers is chosen."""


class TlsSetupError(Exception):
    """`--tls` cannot start: a certificate is unreadable or bad, or cannot be made."""


@dataclass(frozen=True, slots=True)
class TlsSettings:
    """What `--tls` and its options ask for."""

    cert: str | None = None
    """The server's certificate (PEM, may hold the chain); None: one is made."""
    key: str | None = None
    """Its private key (PEM); given with `cert`, or both absent."""
    client_ca: str | None = None
    """Require client certificates signed by this CA (mTLS)."""
    ca_out: str | None = None
    """Where to write the generated CA (None: a private temporary directory)."""
    min_version: str = "1.2"
    """The lowest TLS version accepted: `1.2` or `1.3`."""
    handshake_timeout: float = DEFAULT_HANDSHAKE_TIMEOUT
    """Seconds a client may take to finish its handshake."""

    def __post_init__(self) -> None:
        if (self.cert is None) != (self.key is None):
            raise ValueError("--cert and --key go together: give both or neither")
        if self.min_version not in TLS_VERSIONS:
            raise ValueError(
                f"the TLS version must be 1.2 or 1.3, not {quoted(self.min_version)}"
            )
        if not 0 < self.handshake_timeout <= 3600:
            raise ValueError(
                "the handshake timeout must be more than 0 and at most an hour"
            )


@dataclass(slots=True)
class TlsServer:
    """A server's TLS, ready: the context and what the operator is shown."""

    context: ssl.SSLContext
    fingerprint: str
    """SHA-256 of the server certificate (DER), hex pairs joined by colons."""
    ca_path: str | None
    """The generated CA clients should trust (None with `--cert`)."""
    handshake_timeout: float
    _cleanup: list[Callable[[], None]] = field(default_factory=list)

    def close(self) -> None:
        """Remove the generated key (idempotent)."""
        while self._cleanup:
            self._cleanup.pop()()


def open_tls(settings: TlsSettings) -> TlsServer:
    """The server's TLS from its settings (the caller's thread, at start).

    Raises:
        TlsSetupError: a file is missing, unreadable or not what it should be, or
            the certificate cannot be made (trustme missing: what to install).
    """
    generated: Certificates | None = None
    if settings.cert is None:
        try:
            generated = generate(settings.ca_out)
        except CertificateError as exc:
            raise TlsSetupError(str(exc)) from None
        cert, key = str(generated.chain), None
    else:
        cert, key = settings.cert, settings.key
    try:
        context = _context(settings, cert, key)
        fingerprint = _fingerprint(cert)
    except BaseException:
        if generated is not None:
            generated.remove()
        raise
    server = TlsServer(
        context=context,
        fingerprint=fingerprint,
        ca_path=None if generated is None else str(generated.ca),
        handshake_timeout=settings.handshake_timeout,
    )
    if generated is not None:
        server._cleanup.append(generated.remove)
    return server


def _context(settings: TlsSettings, cert: str, key: str | None) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = TLS_VERSIONS[settings.min_version]
    try:
        context.load_cert_chain(cert, key)
    except FileNotFoundError:
        missing = quoted(cert) if key is None else f"{quoted(cert)} or {quoted(key)}"
        raise TlsSetupError(
            f"cannot read the certificate: no such file {missing}"
        ) from None
    except (ssl.SSLError, OSError, ValueError) as exc:
        raise TlsSetupError(
            f"cannot use the certificate {quoted(cert)}"
            + ("" if key is None else f" with the key {quoted(key)}")
            + f": {_why(exc)}"
        ) from None
    if settings.client_ca is not None:
        context.verify_mode = ssl.CERT_REQUIRED
        try:
            context.load_verify_locations(cafile=settings.client_ca)
        except (ssl.SSLError, OSError, ValueError) as exc:
            raise TlsSetupError(
                f"cannot use the client CA {quoted(settings.client_ca)}: {_why(exc)}"
            ) from None
    context.set_alpn_protocols(list(ALPN_PROTOCOLS))
    context.sslsocket_class = TlsSocket
    context.sni_callback = _remember_sni
    return context


def _why(exc: BaseException) -> str:
    if isinstance(exc, ssl.SSLError) and exc.reason:
        return exc.reason.replace("_", " ").lower()
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror.lower()
    return str(exc) or type(exc).__name__


def _fingerprint(cert_path: str) -> str:
    """SHA-256 of the first certificate in a PEM file, as `AB:CD:...`."""
    try:
        with open(cert_path, encoding="ascii", errors="replace") as file:
            pem = file.read()
        start = pem.index("-----BEGIN CERTIFICATE-----")
        end = pem.index("-----END CERTIFICATE-----", start) + 25
        der = ssl.PEM_cert_to_DER_cert(pem[start:end])
    except (OSError, ValueError) as exc:
        raise TlsSetupError(
            f"cannot read the certificate {quoted(cert_path)}: {_why(exc)}"
        ) from None
    return ":".join(f"{byte:02X}" for byte in hashlib.sha256(der).digest())


class TlsSocket(ssl.SSLSocket):
    """An accepted TLS socket that keeps the name the client asked for (SNI)."""

    sni: str | None = None


def _remember_sni(
    sock: ssl.SSLSocket | ssl.SSLObject, name: str | None, context: ssl.SSLContext
) -> None:
    """The context's SNI callback: any name is accepted, and kept for the monitor."""
    if isinstance(sock, TlsSocket):
        sock.sni = name
