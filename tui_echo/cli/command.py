"""The `tui-echo` command: arguments, wiring, exit codes.

Exit status: 0 after a graceful stop (`q`, ctrl+c, SIGINT, SIGTERM, SIGHUP, however
many arrive); 1 for runtime failures (the address is in use, the host does not
resolve, stdout is closed), said in one line on stderr; 2 for usage errors, as
argparse reports them.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import termios
import textwrap
import threading
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from tui_echo import __version__
from tui_echo.cli.headless import LineWriter, run_headless
from tui_echo.cli.process import allow_all_descriptors, collect_garbage_less_often
from tui_echo.cli.scenario import (
    SCENARIO_HELP,
    ScenarioFileError,
    read_scenario,
    run_scenario_command,
)
from tui_echo.cli.stop_signals import StopSignals, leave_if_stuck
from tui_echo.cli.tls_options import add_tls_arguments, tls_settings
from tui_echo.engine.config import (
    DEFAULT_HOST,
    DEFAULT_MAX_BUFFER,
    DEFAULT_MAX_MEMORY,
    DEFAULT_PORT,
    ConfigError,
    ServerConfig,
)
from tui_echo.engine.memory import calm_garbage_collector
from tui_echo.faults import FaultSpec
from tui_echo.faults.items import usage
from tui_echo.faults.listener import USAGE as LISTENER_USAGE
from tui_echo.faults.listener import ListenerFault
from tui_echo.faults.profiles import PROFILE_NAMES
from tui_echo.server import EchoServer, ServerStartError
from tui_echo.sources.attached import (
    AttachCancelledError,
    AttachError,
    RemoteServer,
)
from tui_echo.sources.contract import Source
from tui_echo.sources.live import LiveSource
from tui_echo.sources.replay import LogReplay, ReplayError
from tui_echo.units import parse_duration, parse_size
from tui_echo.words import escape, format_address, is_loopback, quoted

if TYPE_CHECKING:
    pass

T = TypeVar("T")
PROG = "tui-echo"
EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2
SWITCH_INTERVAL = 0.001
"""Seconds a busy thread may hold the GIL (CPython's default is 0.005)."""


def _parsed_by(parse: Callable[[str], T]) -> Callable[[str], T]:
    """An argparse type from a parser: its ValueError becomes a usage error.

    Whether a value makes sense is `ServerConfig`'s to say (see `config_from`).
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
            f" {', '.join(PROFILE_NAMES)} (default: none)"
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
            " STATS, KICK, RESET, FAULT, EVENTS, HELP; `tui-echo attach PATH` watches"
            " through it (default: off)"
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


def config_from(
    args: argparse.Namespace, parser: argparse.ArgumentParser
) -> ServerConfig:
    """The server settings the parsed arguments ask for; a usage error if they make
    no sense (exits 2, as argparse does; a bad scenario file in one line)."""
    scenario = None
    if args.scenario is not None:
        try:
            scenario = read_scenario(args.scenario)
        except ScenarioFileError as exc:
            _fail(str(exc))
            raise SystemExit(EXIT_USAGE) from None
    try:
        return ServerConfig(
            host=args.host,
            port=args.port,
            max_clients=args.max_clients,
            max_buffer=args.max_buffer,
            max_memory=args.max_memory,
            idle_timeout=args.idle_timeout,
            fault=args.fault,
            seed=args.seed,
            control=args.control,
            scenario=scenario,
            listener_fault=args.listener_fault,
            udp=args.udp,
            tls=tls_settings(args, parser),
        )
    except ConfigError as exc:
        option = "--" + exc.setting.replace("_", "-")
        parser.error(f"argument {option}: {exc}")


def run(argv: Sequence[str] | None, signals: StopSignals, stdout_open: bool) -> int:
    """Run the command with the stop signals taken over already (`tui_echo.cli.main`
    does that before importing this module); return its exit status."""
    words = list(sys.argv[1:] if argv is None else argv)
    if words and words[0] == "attach":
        attach = build_attach_parser().parse_args(words[1:])
        return _attach(attach.path, signals)
    if words and words[0] == "replay":
        replay = build_replay_parser().parse_args(words[1:])
        return _replay(replay.file, replay.speed, signals)
    if words and words[0] == "scenario":
        return run_scenario_command(words[1:])
    parser = build_parser()
    args = parser.parse_args(words)
    config = config_from(args, parser)
    # The echo loop shares the GIL with the UI or the logger. A shorter switch
    # interval hands it back sooner when they are busy: in benchmarks p99 latency
    # and churn improved at 1 ms, with no loss of throughput.
    sys.setswitchinterval(SWITCH_INTERVAL)
    allow_all_descriptors()
    if args.no_ui:
        if not stdout_open:
            _fail("stdout is closed: there is nowhere to write the log")
            return EXIT_FAILURE
    elif not _have_terminal(
        "the live monitor needs a terminal; use --no-ui to run headless"
    ):
        return EXIT_FAILURE
    server = EchoServer(config)
    try:
        if args.no_ui:
            server.start()
        else:  # the port is taken now, and opened once the monitor is on screen
            server.bind()
    except ServerStartError as exc:
        _fail(str(exc))
        return EXIT_FAILURE
    if not is_loopback(server.address[0]):
        _warn(
            f"listening on {format_address(*server.address)}, not only loopback:"
            " anyone who can reach this port can use the server"
        )
    try:
        if args.no_ui:
            calm_garbage_collector()
            return _run_headless(server, args.log_format, signals)
        return _run_monitor(
            LiveSource(server),
            signals,
            server.stop,
            when_shown=lambda: serve_now(server),
        )
    finally:
        server.stop()


def serve_now(server: EchoServer) -> str | None:
    """Open the port of a bound server; why it could not, or None.

    The monitor calls it once its first screen is up: its start-up (imports,
    styles, the first paint) holds the GIL for about a second, and a client
    served meanwhile would see the echo stall (p99 several times headless).
    """
    try:
        server.start()
    except ServerStartError as exc:
        return str(exc)
    return None


def _run_headless(server: EchoServer, log_format: str, signals: StopSignals) -> int:
    signals.on_request(server.feed.wake)
    writer = LineWriter(sys.stdout.fileno(), _warn)
    status = run_headless(server, writer, log_format, signals.requested)
    if writer.reader_gone:
        # The reader went away (`| head`): keep Python from complaining again
        # when it flushes stdout at exit.
        with contextlib.suppress(OSError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return status


def _attach(path: str, signals: StopSignals) -> int:
    """`tui-echo attach PATH`: the monitor on a server running elsewhere."""
    try:
        # A stop signal ends the first look at once, whatever the server does.
        remote = RemoteServer(path, cancel=signals.requested)
    except AttachCancelledError:
        return EXIT_OK
    except AttachError as exc:
        _fail(escape(str(exc)))  # its quotes are escaped already; this is for sure
        return EXIT_FAILURE
    if not _have_terminal("attach shows the live monitor, which needs a terminal"):
        remote.close()
        return EXIT_FAILURE
    try:
        return _run_monitor(remote, signals, remote.close, clock=remote.clock)
    finally:
        remote.close()


def _replay(path: str, speed: float, signals: StopSignals) -> int:
    """`tui-echo replay FILE`: the monitor over a recorded JSON Lines log."""
    try:
        replay = LogReplay(path, speed)
    except ReplayError as exc:
        _fail(str(exc))
        return exc.exit_status
    if not _have_terminal("replay shows the live monitor, which needs a terminal"):
        replay.stop()
        return EXIT_FAILURE
    try:
        return _run_monitor(replay, signals, replay.stop, clock=replay.clock)
    finally:
        replay.stop()


def _have_terminal(why_not: str) -> bool:
    """Whether the monitor can run here; says `why_not` if not."""
    if sys.stdin.isatty() and sys.stdout.isatty():
        return True
    _fail(why_not)
    return False


def _run_monitor(
    source: Source,
    signals: StopSignals,
    cleanup: Callable[[], None],
    clock: Callable[[], float] = time.time,
    when_shown: Callable[[], str | None] | None = None,
) -> int:
    """The monitor over a source of events; exit status. `cleanup` releases the
    source should the monitor hang after a stop signal; `when_shown`: see
    `EchoApp`."""
    # Signals are routed before the (slow) import of the UI: a port may be open
    # already, and a SIGTERM must stop gracefully however early.
    try:
        from tui_echo.ui.app import EchoApp
    except ImportError as exc:  # a broken install; say what is missing
        _fail(f"the live monitor cannot start: {exc}")
        return EXIT_FAILURE
    if signals.requested.is_set():
        return EXIT_OK
    calm_garbage_collector()
    app = EchoApp(source, clock=clock, when_shown=when_shown)
    signals.on_request(app.request_quit)
    finished = threading.Event()
    watching: list[threading.Thread] = []

    terminal_mode = _terminal_mode()

    def release_all() -> None:
        _restore_terminal_mode(terminal_mode)  # a terminal still there stays usable
        cleanup()

    def watch_the_quit() -> None:  # on the signal watcher's thread: one at a time
        if not watching:
            watching.append(leave_if_stuck(finished, release_all))

    signals.on_request(watch_the_quit)
    collect_garbage_less_often()
    try:
        app.run()
    finally:
        finished.set()
    if app.start_failure is not None:
        _fail(app.start_failure)
        return EXIT_FAILURE
    if app.return_code:  # the app failed (Textual printed why)
        return EXIT_FAILURE
    return EXIT_OK


def _terminal_mode() -> list[Any] | None:
    """The terminal's settings before the monitor changes them (None if none)."""
    try:
        return termios.tcgetattr(sys.stdin.fileno())
    except (termios.error, OSError, ValueError):
        return None


def _restore_terminal_mode(mode: list[Any] | None) -> None:
    if mode is not None:
        with contextlib.suppress(termios.error, OSError, ValueError):
            termios.tcsetattr(sys.stdin.fileno(), termios.TCSANOW, mode)


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


def _fail(message: str) -> None:
    _say(f"{PROG}: error: {message}")


def _warn(message: str) -> None:
    _say(f"{PROG}: warning: {message}")


def _say(line: str) -> None:
    """One line on stderr; a closed stderr is not worth a traceback."""
    with contextlib.suppress(OSError, ValueError, AttributeError):
        sys.stderr.write(line + "\n")
        sys.stderr.flush()
