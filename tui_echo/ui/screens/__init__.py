"""The app's screens besides the main one."""

from tui_echo.ui.screens.confirm import ConfirmScreen
from tui_echo.ui.screens.detail import ClientDetailScreen
from tui_echo.ui.screens.fault import FaultChoice, FaultScreen
from tui_echo.ui.screens.help import HelpScreen
from tui_echo.ui.screens.history import HistoryScreen
from tui_echo.ui.screens.listener import ListenerChoice, ListenerScreen

__all__ = [
    "ClientDetailScreen",
    "ConfirmScreen",
    "FaultChoice",
    "FaultScreen",
    "HelpScreen",
    "HistoryScreen",
    "ListenerChoice",
    "ListenerScreen",
]
