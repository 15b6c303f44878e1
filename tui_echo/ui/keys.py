"""The main screen's keys, in the order the footer and the help list them; the keys
that work on every screen (`ANYWHERE`) are the app's too."""

from __future__ import annotations

from textual.binding import Binding, BindingType

ANYWHERE: list[BindingType] = [
    Binding(
        "space",
        "app.playback_pause",
        "Play/pause",
        tooltip="Pause the replay, or go on",
    ),
    Binding("plus", "app.playback_faster", "Faster", tooltip="Replay faster"),
    Binding("minus", "app.playback_slower", "Slower", tooltip="Replay slower"),
    Binding("question_mark", "app.help", "Help", tooltip="Keys and legend"),
    Binding("q", "app.quit", "Quit", tooltip="Stop the server and leave"),
    Binding(
        "ctrl+c", "app.quit", "Quit", tooltip="Stop the server and leave", show=False
    ),
]
"""The keys of every screen but the dialogs (the app binds them too)."""

NEED_COMMANDS = ("kick", "reset", "fault", "fault_new", "kick_all", "listener")
"""This screen's actions that change a client: not offered without commands."""


MAIN_KEYS: list[BindingType] = [
    Binding("k", "kick", "Kick", tooltip="Close the selected client (FIN)"),
    Binding("r", "reset", "Reset", tooltip="Abort the selected client (RST)"),
    Binding("f", "fault", "Fault", tooltip="Set the selected client's fault"),
    Binding(
        "F",
        "fault_new",
        "Fault new",
        tooltip="Set the fault that new clients get",
        show=False,
    ),
    Binding(
        "K",
        "kick_all",
        "Kick all",
        tooltip="Kick every client shown (all, or the filter's), after asking",
        show=False,
    ),
    Binding(
        "L",
        "listener",
        "Listener",
        tooltip="Set the listener fault: refuse, drop or delay new connections",
        show=False,
    ),
    Binding("enter", "details", "Details", tooltip="The selected client up close"),
    # A priority binding runs as the app takes the key, before it hands the
    # keys after it to the widget in focus: typed fast or pasted, they reach
    # the filter box (a plain binding runs once the key has gone round the
    # table, after the following keys were handed to the table too).
    Binding(
        "slash",
        "filter",
        "Filter",
        tooltip="Show clients matching a text",
        priority=True,
    ),
    Binding("s", "cycle_sort", "Sort", tooltip="Sort by the next column"),
    Binding(
        "S",
        "reverse_sort",
        "Reverse",
        tooltip="Reverse the order of the sort",
        show=False,
    ),
    Binding(
        "l",
        "toggle_lifecycle",
        "Lifecycle log",
        tooltip="Log: lifecycle events only (data apart), or everything",
        show=False,
    ),
    Binding(
        "h",
        "history",
        "History",
        tooltip="The last 1,000 closed clients: reason, duration, bytes",
    ),
    Binding(
        "g",
        "graphs",
        "Graphs",
        tooltip="The last minutes charted: rates in and out, clients",
    ),
    Binding("p", "toggle_pause", "Pause", tooltip="Freeze the display", show=False),
    Binding(
        "e",
        "export",
        "Export",
        tooltip="Write the clients shown and the history to a JSON file",
        show=False,
    ),
    *ANYWHERE,
    Binding(
        "escape",
        "clear_filter",
        "Clear filter",
        tooltip="Drop the filter",
        show=False,
    ),
]
"""The main screen's keys (`MainScreen.BINDINGS`)."""
