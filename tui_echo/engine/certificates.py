"""A throwaway certificate authority and a server certificate for `--tls` without
`--cert`: made at start with `trustme` (which builds on `cryptography`), imported
only here, only then.

The private key is written only inside a private directory (mode 0700, files 0600)
that `Certificates.remove` deletes at shutdown; the CA certificate (public) goes
where the operator asked (`--tls-ca-out`), or into that directory.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from tui_echo.words import quoted

INSTALL_HINT = "pip install 'tui-echo[tls]' (trustme and cryptography)"
"""What to install when the generator's libraries are missing."""

NAMES = ("localhost", "127.0.0.1", "::1")
"""What the server certificate is good for."""


class CertificateError(Exception):
    """The certificates could not be made or written: one line saying why."""


@dataclass(frozen=True, slots=True)
class Certificates:
    """Files of a generated CA and server certificate."""

    directory: Path
    """The private directory (0700) holding the key; removed by `remove`."""
    chain: Path
    """The server's key and certificate, PEM (0600)."""
    ca: Path
    """The CA certificate clients should trust, PEM."""

    def remove(self) -> None:
        """Delete the private directory (and the key in it); the CA file the
        operator asked for elsewhere stays, for clients to keep using."""
        shutil.rmtree(self.directory, ignore_errors=True)


def generate(ca_out: str | None) -> Certificates:
    """Make a CA and a certificate for `NAMES`; write the CA to `ca_out` (or into
    the private directory).

    Raises:
        CertificateError: trustme is not installed, or a file cannot be written.
    """
    try:
        import trustme
    except ImportError:
        raise CertificateError(
            f"--tls without --cert needs trustme to make a certificate: {INSTALL_HINT}"
        ) from None
    authority = trustme.CA(organization_name="tui-echo throwaway CA")
    leaf = authority.issue_cert(*NAMES, organization_name="tui-echo")
    try:
        directory = Path(tempfile.mkdtemp(prefix="tui-echo-tls-"))  # 0700
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise CertificateError(
            f"cannot make a private directory for the key: {reason.lower()}"
        ) from None
    try:
        chain = directory / "server.pem"
        _write_private(chain, leaf.private_key_and_cert_chain_pem.bytes())
        ca = Path(ca_out) if ca_out is not None else directory / "ca.pem"
        try:
            _write_public(ca, authority.cert_pem.bytes())
        except OSError as exc:
            reason = exc.strerror or str(exc)
            raise CertificateError(
                f"cannot write the CA to {quoted(str(ca))}: {reason.lower()}"
            ) from None
    except OSError as exc:  # the key's directory or file (disk full, ...)
        shutil.rmtree(directory, ignore_errors=True)
        reason = exc.strerror or str(exc)
        raise CertificateError(
            f"cannot make the certificate: {reason.lower()}"
        ) from None
    except BaseException:
        shutil.rmtree(directory, ignore_errors=True)
        raise
    return Certificates(directory=directory, chain=chain, ca=ca.absolute())


def _write_private(path: Path, data: bytes) -> None:
    """Write a file only its owner can read, from its first byte on."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as file:
        file.write(data)


def _write_public(path: Path, data: bytes) -> None:
    """Write the CA certificate (public: readable as the umask allows), replacing a
    file there atomically."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        temporary.write_bytes(data)
        temporary.replace(path)
    finally:
        with contextlib.suppress(OSError):
            temporary.unlink()
