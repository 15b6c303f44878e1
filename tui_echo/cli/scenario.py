"""`--scenario FILE` and `tui-echo scenario check FILE`: a timeline of faults from a
TOML file, read and checked before anything starts.

A bad file is a usage error (exit 2) said in one line naming the file, the step and
the item; a file that cannot be read is one too.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from tui_echo.faults.scenario import Scenario
from tui_echo.faults.scenario_file import load_scenario
from tui_echo.words import escape, os_reason

EXIT_OK, EXIT_USAGE = 0, 2
SCENARIO_HELP = (
    'a timeline of faults from a TOML file of [[step]] tables (at = "10s" or'
    ' after_connect = "2s", target, fault, every) and [profile.NAME] tables;'
    " check one with `tui-echo scenario check FILE` (default: none)"
)


class ScenarioFileError(Exception):
    """A scenario file that cannot be used; the message is one line, escaped."""


def read_scenario(path: str) -> Scenario:
    """The scenario in the file at `path`.

    Raises:
        ScenarioFileError: it cannot be read, or it is not a good scenario (the
            message names the file, the step and the item).
    """
    shown = escape(path)
    try:
        return load_scenario(path)
    except OSError as exc:
        raise ScenarioFileError(f"cannot read {shown}: {os_reason(exc)}") from None
    except ValueError as exc:
        raise ScenarioFileError(f"{shown}: {exc}") from None


def build_scenario_parser() -> argparse.ArgumentParser:
    """`tui-echo scenario check FILE`."""
    parser = argparse.ArgumentParser(
        prog="tui-echo scenario",
        description=(
            "Check a scenario file (--scenario FILE) without starting a server:\n"
            "print its profiles and its steps in time order, or say what is wrong."
        ),
        formatter_class=argparse.RawTextHelpFormatter,
    )
    parser.add_argument("action", choices=("check",), help="check: validate and print")
    parser.add_argument("file", metavar="FILE", help="the scenario's TOML file")
    return parser


def run_scenario_command(words: Sequence[str]) -> int:
    """`tui-echo scenario check FILE`: 0 and the timeline on stdout, or 2 and one
    line on stderr."""
    args = build_scenario_parser().parse_args(words)
    try:
        scenario = read_scenario(args.file)
    except ScenarioFileError as exc:
        sys.stderr.write(f"tui-echo: error: {exc}\n")
        return EXIT_USAGE
    steps, profiles = len(scenario.steps), len(scenario.profiles)
    lines = [
        f"{escape(args.file)}: {steps} step{'s' * (steps != 1)},"
        f" {profiles} profile{'s' * (profiles != 1)}",
        *scenario.timeline(),
    ]
    sys.stdout.write("\n".join(lines) + "\n")
    return EXIT_OK
