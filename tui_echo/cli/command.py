"""The `tui-echo` command: wiring and exit codes (its arguments: `arguments.py`).

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
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from tui_echo.cli.arguments import (
    PROG,
    build_attach_parser,
    build_parser,
    build_replay_parser,
)
from tui_echo.cli.headless import LineWriter, run_headless
from tui_echo.cli.process import allow_all_descriptors
from tui_echo.cli.scenario import (
    ScenarioFileError,
    read_scenario,
    run_scenario_command,
)
from tui_echo.cli.stop_signals import StopSignals, leave_if_stuck
from tui_echo.cli.tls_options import tls_settings
from tui_echo.engine.config import ConfigError, ServerConfig
from tui_echo.engine.memory import calm_garbage_collector
from tui_echo.server import EchoServer, ServerStartError
from tui_echo.sources.attached import (
    AttachCancelledError,
    AttachError,
    RemoteServer,
)
from tui_echo.sources.contract import Source
from tui_echo.sources.live import LiveSource
from tui_echo.sources.replay import LogReplay, ReplayError
from tui_echo.words import escape, format_address, is_loopback

EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2
SWITCH_INTERVAL = 0.001
"""Seconds a busy thread may hold the GIL (CPython's default is 0.005)."""


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


def _fail(message: str) -> None:
    _say(f"{PROG}: error: {message}")


def _warn(message: str) -> None:
    _say(f"{PROG}: warning: {message}")


def _say(line: str) -> None:
    """One line on stderr; a closed stderr is not worth a traceback."""
    with contextlib.suppress(OSError, ValueError, AttributeError):
        sys.stderr.write(line + "\n")
        sys.stderr.flush()
