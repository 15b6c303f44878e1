"""`tui-echo --tls` as a command: what it says at start, a client trusting the CA it
wrote, the user's own certificate, and the errors (exit 1 or 2, one line)."""

from __future__ import annotations

import json
import os
import signal
import socket
import ssl
import subprocess
import sys
from pathlib import Path

import pytest
import trustme

from tests.helpers import COMMAND, DEADLINE, Headless


def run(
    *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*COMMAND, "--no-ui", "--port", "0", *args],
        capture_output=True,
        text=True,
        timeout=DEADLINE,
        stdin=subprocess.DEVNULL,
        env=env,
    )


def echo_over_tls(port: int, cafile: str) -> bytes:
    context = ssl.create_default_context(cafile=cafile)
    raw = socket.create_connection(("127.0.0.1", port), timeout=DEADLINE)
    with context.wrap_socket(raw, server_hostname="localhost") as client:
        client.sendall(b"over tls")
        return client.recv(8)


def test_tls_says_where_the_ca_is_and_a_client_trusting_it_connects(
    tmp_path: Path,
) -> None:
    ca_out = tmp_path / "ca.pem"
    with Headless("--log-format", "json", "--tls", "--tls-ca-out", str(ca_out)) as proc:
        listening = json.loads(proc.next_line())
        assert listening["event"] == "listening"
        assert listening["tls_ca"] == str(ca_out)
        assert len(listening["tls_fingerprint"].split(":")) == 32
        assert echo_over_tls(listening["port"], str(ca_out)) == b"over tls"
        tls = json.loads(proc.line_matching('"event":"tls"'))
        assert tls["version"].startswith("TLSv1.")
        assert tls["alpn"] is None
        code, stderr = proc.finish(signal.SIGTERM)
    assert code == 0, stderr
    assert ca_out.exists()  # the CA stays for clients; the key went with the server


def test_the_text_log_shows_the_ca_and_fingerprint_and_the_key_goes_at_exit() -> None:
    with Headless("--tls") as proc:
        line = proc.next_line()
        assert " tls  ca /" in line
        assert " sha256 " in line
        ca = Path(line.split(" ca ", 1)[1].split()[0])
        assert ca.exists()
        directory = ca.parent
        assert directory.stat().st_mode & 0o777 == 0o700
        code, _ = proc.finish(signal.SIGINT)
    assert code == 0
    assert not directory.exists()


def test_the_users_certificate_and_key_are_used(tmp_path: Path) -> None:
    authority = trustme.CA()
    leaf = authority.issue_cert("localhost")
    cert, key, ca = tmp_path / "cert.pem", tmp_path / "key.pem", tmp_path / "ca.pem"
    leaf.cert_chain_pems[0].write_to_path(str(cert))
    leaf.private_key_pem.write_to_path(str(key))
    authority.cert_pem.write_to_path(str(ca))
    with Headless(
        "--log-format", "json", "--tls", "--cert", str(cert), "--key", str(key)
    ) as proc:
        listening = json.loads(proc.next_line())
        assert "tls_ca" not in listening
        assert listening["tls_fingerprint"]
        assert echo_over_tls(listening["port"], str(ca)) == b"over tls"
        code, _ = proc.finish()
    assert code == 0


def test_a_bad_certificate_exits_1_with_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.pem"
    bad.write_text("not a certificate\n")
    result = run("--tls", "--cert", str(bad), "--key", str(bad))
    assert result.returncode == 1
    assert result.stderr.startswith("tui-echo: error: cannot use the certificate")
    assert result.stderr.count("\n") == 1
    assert "Traceback" not in result.stderr


def test_a_missing_certificate_exits_1_naming_it(tmp_path: Path) -> None:
    result = run("--tls", "--cert", str(tmp_path / "no.pem"), "--key", "x\x1b.pem")
    assert result.returncode == 1
    assert "no.pem" in result.stderr
    assert "\x1b" not in result.stderr
    assert result.stderr.count("\n") == 1


@pytest.mark.parametrize(
    ("args", "complaint"),
    [
        (["--tls", "--cert", "c.pem"], "argument --cert: needs --key too"),
        (["--tls", "--key", "k.pem"], "argument --key: needs --cert too"),
        (["--cert", "c.pem", "--key", "k.pem"], "argument --cert: needs --tls"),
        (["--client-ca", "ca.pem"], "argument --client-ca: needs --tls"),
        (["--tls-min", "1.3"], "argument --tls-min: needs --tls"),
        (["--tls", "--tls-min", "1.1"], "argument --tls-min: invalid choice"),
        (["--tls", "--handshake-timeout", "0"], "--handshake-timeout: the handshake"),
        (["--tls", "--handshake-timeout", "soon"], "--handshake-timeout: not a dur"),
    ],
)
def test_tls_options_that_make_no_sense_exit_2(args: list[str], complaint: str) -> None:
    result = run(*args)
    assert result.returncode == 2
    assert result.stderr.startswith("usage: tui-echo")
    assert complaint in result.stderr


def test_without_trustme_it_says_what_to_install(tmp_path: Path) -> None:
    blocker = tmp_path / "trustme"
    blocker.mkdir()
    (blocker / "__init__.py").write_text("raise ImportError('no trustme here')\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), *sys.path])}
    result = run("--tls", env=env)
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1
    assert "pip install 'tui-echo[tls]'" in result.stderr
