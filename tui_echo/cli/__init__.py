"""The command line: `tui-echo`, `tui-echo attach`, `tui-echo replay`.

`main` takes the stop signals over before anything heavy is imported, so a signal
at any moment ends the program cleanly: with 0 once it runs, or with the usual
128 + the signal's number, said in one line, if it came before anything started.
"""

from __future__ import annotations

import errno
import os
import signal
import sys
from collections.abc import Sequence

__all__ = ["main"]

_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command; return its exit status."""
    early: list[int] = []
    for sig in _STOP_SIGNALS:  # plain handlers first, before any heavier import
        signal.signal(sig, lambda signum, _frame: early.append(signum))
    stdout_open = stdout_is_open()  # before any descriptor could take its number
    from tui_echo.cli.stop_signals import StopSignals

    signals = StopSignals().install()
    try:
        if early:
            return _stopped_before_start(early[0])
        from tui_echo.cli.command import run  # the heavy imports

        if signals.requested.is_set() and signals.first is not None:
            return _stopped_before_start(signals.first)
        return run(argv, signals, stdout_open)
    finally:
        signals.ignore_from_now()


def stdout_is_open() -> bool:
    """False when the process was started with stdout closed (`>&-`)."""
    try:
        os.fstat(1)
    except OSError as exc:
        return exc.errno != errno.EBADF
    return True


def _stopped_before_start(signum: int) -> int:
    """A stop signal came before anything was bound: say so once, exit 128 + N."""
    name = signal.Signals(signum).name
    sys.stderr.write(f"tui-echo: stopped by {name} before it started\n")
    return 128 + signum
