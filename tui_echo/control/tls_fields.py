"""The TLS fields of `LIST` and `STATS` lines: written by the operator, read back,
strictly, by the client that `attach` uses.

A value that may hold spaces (a certificate's subject, a path) is percent-encoded;
`-` stands for none. `LIST` (a client, once its handshake is done):
`tls=TLSv1.3 cipher=... alpn=h2|- sni=...|- cert=...|- cert_issuer=...|-
cert_expires=SECONDS|- resumed=0|1`; `STATS`: `tls_ca=PATH|- tls_fingerprint=AB:..`.
"""

from __future__ import annotations

import math
import re
from urllib.parse import quote, unquote

from tui_echo.events import TlsEstablished
from tui_echo.events_parse import MAX_TEXT
from tui_echo.words import escape

NONE = "-"
_SAFE = "._/:@,=+*~"
"""Characters written as they are (besides letters and digits): `-` is encoded, so
that `-` alone always means none."""

_FINGERPRINT = re.compile(r"(?:[0-9A-F]{2}:){31}[0-9A-F]{2}")
_SECONDS = re.compile(r"[0-9]{1,12}(?:\.[0-9]{1,6})?")


def encode(text: str | None) -> str:
    """A value as one word: percent-encoded, `-` for none."""
    if not text:
        return NONE
    return quote(text, safe=_SAFE) if text != NONE else "%2D"


def decode(word: str, key: str) -> str | None:
    """A word back to its value (None for `-`); ValueError if it is not one."""
    if word == NONE:
        return None
    if not word.isascii() or not word.isprintable() or len(word) > 3 * MAX_TEXT:
        raise ValueError(f"{key}= is not a value")
    text = unquote(word, errors="strict")
    if len(text) > MAX_TEXT:
        raise ValueError(f"{key}= is too long")
    return escape(text)


def tls_words(tls: TlsEstablished) -> str:
    """A TLS client's fields in a `LIST` line (with a leading space)."""
    expires = tls.client_cert_expires
    return (
        f" tls={encode(tls.version)} cipher={encode(tls.cipher)}"
        f" alpn={encode(tls.alpn)} sni={encode(tls.sni)}"
        f" cert={encode(tls.client_cert)} cert_issuer={encode(tls.client_cert_issuer)}"
        f" cert_expires={NONE if expires is None else f'{expires:.0f}'}"
        f" resumed={int(tls.resumed)}"
    )


def parse_tls_words(values: dict[str, str], client: int, ts: float) -> TlsEstablished:
    """The `tls` event a `LIST` line's fields stand for (ValueError: which is bad)."""

    def required(key: str) -> str:
        text = decode(values.get(key, ""), key) if key in values else None
        if text is None:
            raise ValueError(f"no {key}=")
        return text

    expires_word = values.get("cert_expires", NONE)
    expires = None
    if expires_word != NONE:
        if not _SECONDS.fullmatch(expires_word):
            raise ValueError("cert_expires= is not a time")
        expires = float(expires_word)
        if not math.isfinite(expires) or expires > 32503680000.0:
            raise ValueError("cert_expires= is out of range")
    resumed = values.get("resumed")
    if resumed not in ("0", "1"):
        raise ValueError("resumed= is not 0 or 1")
    return TlsEstablished(
        client=client,
        version=required("tls"),
        cipher=required("cipher"),
        alpn=decode(values.get("alpn", NONE), "alpn"),
        sni=decode(values.get("sni", NONE), "sni"),
        client_cert=decode(values.get("cert", NONE), "cert"),
        client_cert_issuer=decode(values.get("cert_issuer", NONE), "cert_issuer"),
        client_cert_expires=expires,
        resumed=resumed == "1",
        ts=ts,
    )


def server_tls_words(ca_path: str | None, fingerprint: str) -> str:
    """The server's TLS in a `STATS` line (with a leading space)."""
    return f" tls_ca={encode(ca_path)} tls_fingerprint={fingerprint}"


def parse_server_tls(values: dict[str, str]) -> tuple[str | None, str] | None:
    """`STATS`' CA path and fingerprint (None: no TLS); ValueError if bad."""
    fingerprint = values.get("tls_fingerprint")
    if fingerprint is None:
        return None
    if not _FINGERPRINT.fullmatch(fingerprint):
        raise ValueError("tls_fingerprint= is not a SHA-256 fingerprint")
    return decode(values.get("tls_ca", NONE), "tls_ca"), fingerprint
