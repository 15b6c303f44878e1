"""The app's screens besides the main one."""

from tui_echo.ui.screens.confirm import ConfirmScreen
from tui_echo.ui.screens.detail import ClientDetailScreen
from tui_echo.ui.screens.help import HelpScreen

__all__ = ["ClientDetailScreen", "ConfirmScreen", "HelpScreen"]
