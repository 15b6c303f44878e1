"""The command line's TLS options (`--tls` and the options that go with it)."""

from __future__ import annotations

import argparse
import textwrap
from collections.abc import Callable

from tui_echo.engine.tls_setup import (
    DEFAULT_HANDSHAKE_TIMEOUT,
    TLS_VERSIONS,
    TlsSettings,
)

_WITH_TLS = ("cert", "key", "client_ca", "tls_ca_out", "handshake_timeout")
"""Options that mean something only with `--tls` (`--tls-min` has a default)."""


def _lines(text: str) -> str:
    return "\n".join(textwrap.wrap(text, 54, break_on_hyphens=False))


def add_tls_arguments(
    parser: argparse.ArgumentParser, duration: Callable[[str], float]
) -> None:
    """Add `--tls` and its options; `duration` is the argparse type of durations."""
    group = parser.add_argument_group("TLS")
    group.add_argument(
        "--tls",
        action="store_true",
        help=_lines(
            "the TCP listener speaks TLS; without --cert, a throwaway CA and a"
            " certificate for localhost, 127.0.0.1 and ::1 are made at start"
        ),
    )
    group.add_argument(
        "--cert", metavar="FILE", help=_lines("the server certificate (PEM)")
    )
    group.add_argument(
        "--key", metavar="FILE", help=_lines("its private key (PEM), with --cert")
    )
    group.add_argument(
        "--client-ca",
        metavar="FILE",
        help=_lines("require client certificates signed by this CA (mTLS)"),
    )
    group.add_argument(
        "--tls-ca-out",
        metavar="PATH",
        help=_lines(
            "write the generated CA here, for clients to trust (default: a file"
            " in a private temporary directory, shown at start)"
        ),
    )
    group.add_argument(
        "--tls-min",
        choices=tuple(TLS_VERSIONS),
        default="1.2",
        help=_lines("the lowest TLS version accepted (default: 1.2)"),
    )
    group.add_argument(
        "--handshake-timeout",
        type=duration,
        metavar="DURATION",
        help=_lines(
            "close a client that has not finished its handshake within this"
            f" (default: {DEFAULT_HANDSHAKE_TIMEOUT:g}s)"
        ),
    )


def tls_settings(
    args: argparse.Namespace, parser: argparse.ArgumentParser
) -> TlsSettings | None:
    """The TLS settings asked for, or None without `--tls` (a usage error, exit 2,
    for options that make no sense)."""
    if not args.tls:
        given = [name for name in _WITH_TLS if getattr(args, name) is not None]
        if args.tls_min != "1.2":
            given.append("tls_min")
        if given:
            option = "--" + given[0].replace("_", "-")
            parser.error(f"argument {option}: needs --tls")
        return None
    if (args.cert is None) != (args.key is None):
        alone, other = ("--cert", "--key") if args.key is None else ("--key", "--cert")
        parser.error(f"argument {alone}: needs {other} too (both or neither)")
    if args.cert is not None and args.tls_ca_out is not None:
        parser.error("argument --tls-ca-out: only for a generated CA, not with --cert")
    timeout = args.handshake_timeout
    try:
        return TlsSettings(
            cert=args.cert,
            key=args.key,
            client_ca=args.client_ca,
            ca_out=args.tls_ca_out,
            min_version=args.tls_min,
            handshake_timeout=(
                DEFAULT_HANDSHAKE_TIMEOUT if timeout is None else timeout
            ),
        )
    except ValueError as exc:
        parser.error(f"argument --handshake-timeout: {exc}")
