"""The command line: `tui-echo`, `tui-echo attach`, `tui-echo replay`."""

from __future__ import annotations

from tui_echo.cli.command import main

__all__ = ["main"]
