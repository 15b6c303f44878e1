"""A TLS client's decisions without sockets: the handshake decides what to watch,
then the plaintext rules hold; handshake failures in words."""

from __future__ import annotations

import random
import ssl

import pytest

from tui_echo.engine.connection import CLOSE, ECHO, INTEREST
from tui_echo.engine.limits import Limits
from tui_echo.engine.memory import MemoryBudget
from tui_echo.engine.poller import READ, WRITE
from tui_echo.engine.tls import TlsConnection, failure_reason
from tui_echo.events import ClientState, TlsEstablished
from tui_echo.faults import FaultSpec
from tui_echo.states import CloseHow, CloseReason
from tui_echo.words import short_tls

DONE = TlsEstablished(client=1, version="TLSv1.3", cipher="TLS_AES_128_GCM_SHA256")


def make() -> TlsConnection:
    limits = Limits(
        max_buffer=1 << 20, budget=MemoryBudget(1 << 30), rng=random.Random(1)
    )
    return TlsConnection(1, "127.0.0.1:5", limits, 0.0)


def test_the_handshake_decides_what_to_watch_until_it_is_done() -> None:
    conn = make()
    assert conn.state is ClientState.HANDSHAKE
    assert conn.handshake_waits(WRITE) == INTEREST
    assert conn.interest == WRITE
    assert conn.handshake_waits(WRITE) == 0
    # A fault set meanwhile (stall) does not take the handshake's interest away...
    todo = conn.set_fault(FaultSpec.parse("stall"), 0.1)
    assert not todo & INTEREST
    assert conn.interest == WRITE
    # ...and holds once the handshake is done: nothing is read.
    assert conn.handshake_done(DONE, 0.2) == INTEREST
    assert conn.interest == 0
    assert conn.state is ClientState.OPEN
    assert conn.tls is DONE


def test_after_the_handshake_the_fast_path_echoes() -> None:
    conn = make()
    conn.handshake_done(DONE, 0.0)
    assert conn.interest == READ
    assert conn.received(memoryview(b"abc"), 0.1) == ECHO


def test_a_failed_handshake_closes_with_a_fin_and_its_reason() -> None:
    conn = make()
    assert conn.handshake_failed("tls: unknown ca") == CLOSE
    assert conn.close_how is CloseHow.FIN
    assert conn.close_reason == "tls: unknown ca"
    conn = make()
    conn.handshake_failed(CloseReason.HANDSHAKE_TIMEOUT)
    assert conn.close_reason == "handshake timeout"


def ssl_error(reason: str) -> ssl.SSLError:
    error = ssl.SSLError(1, f"[SSL: {reason}] something")
    error.reason = reason
    return error


@pytest.mark.parametrize(
    ("reason", "words"),
    [
        ("TLSV1_ALERT_UNKNOWN_CA", "tls: unknown ca"),
        ("PEER_DID_NOT_RETURN_A_CERTIFICATE", "tls: no client certificate"),
        ("UNSUPPORTED_PROTOCOL", "tls: protocol version"),
        ("TLSV1_ALERT_PROTOCOL_VERSION", "tls: protocol version"),
        ("HTTP_REQUEST", "tls: plaintext on a TLS port"),
        ("NO_SHARED_CIPHER", "tls: no shared cipher"),
    ],
)
def test_handshake_failures_are_said_in_words(reason: str, words: str) -> None:
    assert failure_reason(ssl_error(reason)) == words


def test_a_client_certificate_of_an_unknown_ca_is_an_unknown_ca() -> None:
    error = ssl.SSLCertVerificationError(1, "certificate verify failed")
    error.reason = "CERTIFICATE_VERIFY_FAILED"
    error.verify_code = 20
    error.verify_message = "unable to get local issuer certificate"
    assert failure_reason(error) == "tls: unknown ca"


@pytest.mark.parametrize(
    ("version", "cipher", "short"),
    [
        ("TLSv1.3", "TLS_AES_256_GCM_SHA384", "1.3 AES256-GCM"),
        ("TLSv1.3", "TLS_CHACHA20_POLY1305_SHA256", "1.3 CHACHA20"),
        ("TLSv1.2", "ECDHE-RSA-AES128-GCM-SHA256", "1.2 AES128-GCM"),
        ("TLSv1.2", "SOMETHING", "1.2 SOMETHING"),
    ],
)
def test_the_tls_column_says_version_and_cipher_in_short(
    version: str, cipher: str, short: str
) -> None:
    assert short_tls(version, cipher) == short
