"""`python -m tui_echo` is the same program as the `tui-echo` command."""

from __future__ import annotations

from tui_echo.cli import main

raise SystemExit(main())
