"""tui-echo: a TCP echo server you can watch live.

The public surface for Python: `EchoServer`, `ServerConfig`, `FaultSpec`,
`ListenerFault` and `ServerStartError`, loaded on first use (PEP 562), so
`import tui_echo` stays cheap and never imports the UI: the core and the headless
mode run without Textual.
"""

from __future__ import annotations

import importlib

TYPE_CHECKING = False  # not `typing`'s: importing typing costs the CLI's start ~15 ms

__version__ = "0.1.0"
__all__ = [
    "EchoServer",
    "FaultSpec",
    "ListenerFault",
    "ServerConfig",
    "ServerStartError",
    "__version__",
]

_WHERE = {
    "EchoServer": "tui_echo.server",
    "ServerStartError": "tui_echo.server",
    "ServerConfig": "tui_echo.engine.config",
    "FaultSpec": "tui_echo.faults",
    "ListenerFault": "tui_echo.faults.listener",
}

if TYPE_CHECKING:
    from tui_echo.engine.config import ServerConfig
    from tui_echo.faults import FaultSpec
    from tui_echo.faults.listener import ListenerFault
    from tui_echo.server import EchoServer, ServerStartError


def __getattr__(name: str) -> object:
    if name in _WHERE:
        return getattr(importlib.import_module(_WHERE[name]), name)
    raise AttributeError(f"module 'tui_echo' has no attribute {name!r}")
