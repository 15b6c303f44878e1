"""The event log leaves an app that quits while it measures new lines (Textual's
`Log` measures them on a thread worker that needs the app when it ends)."""

from __future__ import annotations

from textual.app import App, ComposeResult

from tui_echo.ui.widgets.event_log import EventLog

LONG_LINES = ["好" * 4000] * 600
"""Lines whose measuring takes long enough (about half a second) for the
app to quit meanwhile: wide characters are measured one by one."""


class LogOnly(App[None]):
    def compose(self) -> ComposeResult:
        yield EventLog(id="log")


async def test_quitting_while_lines_are_measured_fails_nothing() -> None:
    app = LogOnly()
    async with app.run_test():
        log = app.query_one(EventLog)
        log.write_lines(LONG_LINES)  # measured on a thread worker
        assert [w for w in app.workers if w.node is log and not w.is_finished]
        await log.remove()  # as quitting does, while the worker still measures
        assert log.virtual_size.width == 8000  # the worker's measure arrived
    # leaving run_test re-raises what failed the app (WorkerFailed: NoActiveAppError)
