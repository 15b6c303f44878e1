"""The pytest plugin's TLS side: the server's settings for `@pytest.mark.echo_server
(tls=True, mtls=True)` and the `ssl.SSLContext` a test's clients connect with.

With `mtls=True` a client CA is made (trustme) and the server requires client
certificates signed by it; `client_context()` then carries one.
"""

from __future__ import annotations

import shutil
import ssl
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from tui_echo.engine.certificates import INSTALL_HINT, CertificateError
from tui_echo.engine.tls_setup import TlsServer, TlsSettings

if TYPE_CHECKING:
    import trustme


class ClientSide:
    """What a test's clients need to speak TLS to the fixture's server."""

    def __init__(self, mtls: bool) -> None:
        self._directory: Path | None = None
        self._client_ca: trustme.CA | None = None
        self.client_ca_path: str | None = None
        """With mTLS: the CA the server trusts for client certificates."""
        if mtls:
            try:
                import trustme
            except ImportError:
                raise CertificateError(
                    f"mtls=True needs trustme: {INSTALL_HINT}"
                ) from None
            self._directory = Path(tempfile.mkdtemp(prefix="tui-echo-mtls-"))
            authority = trustme.CA(organization_name="tui-echo test client CA")
            path = self._directory / "client-ca.pem"
            authority.cert_pem.write_to_path(str(path))
            self._client_ca = authority
            self.client_ca_path = str(path)

    def settings(self) -> TlsSettings:
        """The server's `--tls` settings: a generated CA, mTLS if asked."""
        return TlsSettings(client_ca=self.client_ca_path)

    def client_context(
        self, server: TlsServer | None, name: str = "test-client"
    ) -> ssl.SSLContext:
        """A client context trusting the server's CA; with mTLS, with a client
        certificate for `name`."""
        if server is None or server.ca_path is None:
            raise RuntimeError("the server does not speak TLS with a generated CA")
        context = ssl.create_default_context(cafile=server.ca_path)
        authority = self._client_ca
        if authority is not None:
            authority.issue_cert(name, common_name=name).configure_cert(context)
        return context

    def close(self) -> None:
        if self._directory is not None:
            shutil.rmtree(self._directory, ignore_errors=True)
