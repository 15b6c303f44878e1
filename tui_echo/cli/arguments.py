"""The `tui-echo` command's argument parsers: the options, their help, and the
converters that turn a bad value into a usage error (exit 2, as argparse reports).

Apart from `command.py`, which runs what the parsers ask for: the parsers are the
command's reference text (its `--help`), long and stable, and say nothing of how
the server, the monitor or the log are wired.
"""

from __future__ import annotations

import argparse
import textwrap
from collections.abc import Callable
from typing import TypeVar

from tui_echo import __version__
from tui_echo.cli.scenario import SCENARIO_HELP
from tui_echo.cli.tls_options import add_tls_arguments
from tui_echo.engine.config import (
    DEFAULT_HOST,
    DEFAULT_MAX_BUFFER,
    DEFAULT_MAX_MEMORY,
    DEFAULT_PORT,
)
from tui_echo.faults import FaultSpec
from tui_echo.faults.items import usage
from tui_echo.faults.listener import USAGE as LISTENER_USAGE
from tui_echo.faults.listener import ListenerFault
from tui_echo.faults.profiles import PROFILE_NAMES
from tui_echo.units import parse_duration, parse_size
from tui_echo.words import quoted

T = TypeVar("T")
PROG = "tui-echo"


def _parsed_by(parse: Callable[[str], T]) -> Callable[[str], T]:
    """An argparse type from a parser: its ValueError becomes a usage error.

    Whether a value makes sense is `ServerConfig`'s to say (see
    `command.config_from`).
    """

    def convert(text: str) -> T:
        try:
            return parse(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    convert.__name__ = parse.__name__  # argparse names the type in some messages
    return convert


def _whole_number(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise ValueError(f"not a whole number: {quoted(text)}") from None


def _port_number(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise ValueError(f"not a port number: {quoted(text)}") from None


HELP_WIDTH = 54
"""Columns of an option's help at 80 columns (argparse puts it after 24)."""


def _lines(text: str, width: int = HELP_WIDTH) -> str:
    """`text` wrapped for `--help` where argparse would not break it well: never
    inside a hyphenated word (`close-after=SIZE`)."""
    return "\n".join(textwrap.wrap(text, width, break_on_hyphens=False))


def build_parser() -> argparse.ArgumentParser:
    """The argument parser; `--help` is the reference for every option."""
    parser = argparse.ArgumentParser(
        prog=PROG,
        usage=(
            "%(prog)s [options]\n"
            "       %(prog)s attach PATH         the monitor on a server run with"
            " --control PATH\n"
            "       %(prog)s replay FILE [--speed N]  the monitor over a JSON log\n"
            "       %(prog)s scenario check FILE  validate and print a --scenario file"
        ),
        description=_lines(
            "A TCP echo server you can watch live. By default a terminal monitor shows"
            " every client, its bytes and buffers, and lets you kick, reset or fault"
            " it; --no-ui logs events as text or JSON Lines instead.",
            width=78,
        ),
        epilog=(
            "examples:\n"
            "  tui-echo --port 9000                watch the server live\n"
            "  tui-echo --no-ui --log-format json  headless, JSON Lines on stdout\n"
            "  tui-echo --host :: --port 0         every address, a free port\n"
            "  tui-echo --fault delay=50ms,jitter=20ms --seed 1   a slow network\n"
            "  tui-echo --no-ui --control /tmp/e.sock   then: tui-echo attach"
            " /tmp/e.sock\n"
            "\n"
            "Exit status: 0 after q, ctrl+c, SIGINT, SIGTERM or SIGHUP; 1 when the\n"
            "server cannot run (address in use, unknown host); 2 for bad arguments."
        ),
        formatter_class=argparse.RawTextHelpFormatter,
    )
    parser.add_argument(
        "--host",
        default=DEFAULT_HOST,
        help=_lines(
            f"address to bind; 0.0.0.0 or :: to expose (default: {DEFAULT_HOST})"
        ),
    )
    parser.add_argument(
        "--port",
        type=_parsed_by(_port_number),
        default=DEFAULT_PORT,
        help=_lines(f"TCP port; 0 picks a free one (default: {DEFAULT_PORT})"),
    )
    parser.add_argument(
        "--no-ui",
        action="store_true",
        help=_lines("run headless: one line per event on stdout"),
    )
    parser.add_argument(
        "--log-format",
        choices=("text", "json"),
        default="text",
        help=_lines(
            "headless line format: text for people, json for JSON Lines (default: text)"
        ),
    )
    parser.add_argument(
        "--max-clients",
        type=_parsed_by(_whole_number),
        metavar="N",
        help=_lines(
            "accept and close at once connections beyond N (default: no limit)"
        ),
    )
    parser.add_argument(
        "--max-buffer",
        type=_parsed_by(parse_size),
        default=DEFAULT_MAX_BUFFER,
        metavar="SIZE",
        help=_lines(
            "cap on one client's pending outbound bytes; reading from it pauses"
            " above this and resumes at half; 64K, 1M style sizes (default: 1M)"
        ),
    )
    parser.add_argument(
        "--max-memory",
        type=_parsed_by(parse_size),
        default=DEFAULT_MAX_MEMORY,
        metavar="SIZE",
        help=_lines(
            "cap on all clients' pending bytes together; past it the server stops"
            " reading from clients with bytes pending until the total is back under"
            " half; nothing is dropped (default: 256M)"
        ),
    )
    parser.add_argument(
        "--idle-timeout",
        type=_parsed_by(parse_duration),
        metavar="DURATION",
        help=_lines(
            "close a client that sent nothing for this long: 30, 2.5s, 500ms"
            " (default: off)"
        ),
    )
    parser.add_argument(
        "--fault",
        type=_parsed_by(FaultSpec.parse),
        metavar="SPEC",
        help=_lines(
            f"a fault for every new client: comma-separated items of {usage()};"
            " e.g. delay=50ms,jitter=20ms,slice=1; or a profile:"
            f" {', '.join(PROFILE_NAMES)}, alone or among items (3g,p=30%%)"
            " (default: none)"
        ),
    )
    parser.add_argument(
        "--listener-fault",
        type=_parsed_by(ListenerFault.parse),
        metavar="SPEC",
        help=_lines(
            f"a fault of the server's door from the start: {LISTENER_USAGE};"
            " e.g. refuse,for=5s (default: off)"
        ),
    )
    parser.add_argument(
        "--seed",
        type=_parsed_by(_whole_number),
        metavar="N",
        help=_lines(
            "seed of the faults' randomness (jitter, corrupt, p=): the same seed"
            " and traffic give the same delays and flips (default: random)"
        ),
    )
    parser.add_argument(
        "--control",
        metavar="PATH",
        help=_lines(
            "serve the control socket (a Unix socket, mode 0600) at PATH: LIST,"
            " STATS, HISTORY, KICK, RESET, FAULT, LISTENER, SCENARIO, INSPECT,"
            " RECENT, ACTIVITY, KERNEL, EVENTS, PING, HELP (HELP says each);"
            " `tui-echo attach PATH` watches through it (default: off)"
        ),
    )
    parser.add_argument("--scenario", metavar="FILE", help=_lines(SCENARIO_HELP))
    parser.add_argument(
        "--udp",
        action="store_true",
        help=_lines(
            "also echo UDP datagrams, on the same host and port number as TCP"
            " (with --port 0, the one TCP got); each peer is a row like a client,"
            " forgotten after --idle-timeout (default for UDP: 60s) of silence"
        ),
    )
    add_tls_arguments(parser, _parsed_by(parse_duration))
    parser.add_argument(
        "--version", action="version", version=f"%(prog)s {__version__}"
    )
    return parser


def build_attach_parser() -> argparse.ArgumentParser:
    """`tui-echo attach PATH`."""
    parser = argparse.ArgumentParser(
        prog=f"{PROG} attach",
        description=_lines(
            "The live monitor on a tui-echo server already running with"
            " --control PATH (another terminal, another process). q leaves the"
            " server running.",
            width=78,
        ),
        formatter_class=argparse.RawTextHelpFormatter,
    )
    parser.add_argument("path", metavar="PATH", help="the server's control socket")
    return parser


def build_replay_parser() -> argparse.ArgumentParser:
    """`tui-echo replay FILE`."""
    parser = argparse.ArgumentParser(
        prog=f"{PROG} replay",
        description=_lines(
            "The live monitor over a JSON Lines log recorded with --no-ui"
            " --log-format json, at its recorded pace: space pauses, + and -"
            " change the speed, q leaves.",
            width=78,
        ),
        formatter_class=argparse.RawTextHelpFormatter,
    )
    parser.add_argument("file", metavar="FILE", help="the JSON Lines log")
    parser.add_argument(
        "--speed",
        type=_parsed_by(_speed),
        default=1.0,
        metavar="N",
        help=_lines("start N times faster than recorded (default: 1)"),
    )
    return parser


def _speed(text: str) -> float:
    try:
        speed = float(text)
    except ValueError:
        raise ValueError(f"not a speed: {quoted(text)}") from None
    if not 0 < speed <= 1000:
        raise ValueError(f"must be more than 0 and at most 1000, not {text}")
    return speed
