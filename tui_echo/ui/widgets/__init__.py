"""The app's widgets."""

from tui_echo.ui.widgets.client_table import ClientTable
from tui_echo.ui.widgets.event_log import EventLog
from tui_echo.ui.widgets.history_table import HistoryTable
from tui_echo.ui.widgets.key_footer import KeyFooter
from tui_echo.ui.widgets.status_bar import StatusBar

__all__ = ["ClientTable", "EventLog", "HistoryTable", "KeyFooter", "StatusBar"]
