"""The certificate every TLS server of the harness serves: made once with trustme.

A throwaway CA and a leaf for ``localhost``, ``127.0.0.1`` and ``::1`` go into
``build/tls/`` the first time a TLS server is selected, and stay there: tui-echo
(``--cert``/``--key``) and the asyncio reference load the same files, and the
loadgen verifies both against the same CA (``--tls-ca``).
"""

from __future__ import annotations

import os
from pathlib import Path

from .specs import TLS_DIR

CA = TLS_DIR / "ca.pem"
CERT = TLS_DIR / "server.pem"  # the leaf, then its chain (none: the CA signs it)
KEY = TLS_DIR / "server.key"
IDENTITIES = ("localhost", "127.0.0.1", "::1")


class CertificateError(Exception):
    """The certificate cannot be made (trustme missing)."""


def ensure_certificates() -> Path:
    """Make the CA, certificate and key unless all three exist; the CA's path."""
    if all(path.exists() for path in (CA, CERT, KEY)):
        return CA
    try:
        import trustme  # only a TLS run needs it
    except ImportError:
        raise CertificateError(
            "the TLS servers need trustme to make their certificate: "
            "pip install trustme (the project's tls extra)"
        ) from None
    TLS_DIR.mkdir(mode=0o700, parents=True, exist_ok=True)
    ca = trustme.CA()
    leaf = ca.issue_cert(*IDENTITIES)
    _write(KEY, leaf.private_key_pem.bytes())
    _write(CERT, b"".join(blob.bytes() for blob in leaf.cert_chain_pems))
    _write(CA, ca.cert_pem.bytes())
    return CA


def _write(path: Path, data: bytes) -> None:
    """Written owner-only (a key), replacing any file left half-written."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as file:
        file.write(data)
