"""tui-echo: a TCP echo server you can watch live.

The package root stays free of UI imports: the core (`tui_echo.server`) and the
headless mode run without importing Textual.
"""

from __future__ import annotations

__version__ = "0.1.0"
__all__ = ["__version__"]
