"""The control's mode: live (in-process), attached (a control socket), replay (a
file): the status bar says which, and a replay cannot act on clients."""

from __future__ import annotations

import pytest
from textual.widgets import Static
from textual.widgets._footer import FooterKey

from tests.test_ui_pilot import SIZE, until
from tui_echo.engine.config import ServerConfig
from tui_echo.server import EchoServer
from tui_echo.sources.contract import LiveControl, as_control
from tui_echo.ui.demo import make_demo_app, make_demo_server
from tui_echo.ui.screens import ClientDetailScreen, FaultScreen


def test_an_echo_server_is_a_live_control_that_may_act() -> None:
    with EchoServer(ServerConfig(port=0)) as server:
        control = as_control(server)
        assert isinstance(control, LiveControl)
        assert (control.mode, control.can_act) == ("live", True)
        assert control.feed is server.feed
    scripted = make_demo_server("attached")
    assert as_control(scripted) is scripted


async def test_a_replay_says_so_and_cannot_act_on_clients() -> None:
    server = make_demo_server("replay")
    app = make_demo_app(server)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        summary = str(app.query_one("#summary", Static).render())
        assert "REPLAY" in summary
        assert "recorded on 127.0.0.1:9000" in summary
        footer = {key.description for key in app.screen.query(FooterKey)}
        assert not footer & {"Kick", "Reset", "Fault"}, footer
        assert {"Details", "Help", "Quit"} <= footer
        await pilot.press("k", "r", "K", "F", "f")
        await pilot.pause()
        assert not isinstance(app.screen, FaultScreen)
        assert server.kicked == []
        assert server.reset_clients == []
        assert server.faults == []
        titles = {c.title for c in app.get_system_commands(app.screen)}
        assert "Kick" not in titles
        assert "History" in titles
        help_keys = {key for _, rows in app.key_help() for key, _ in rows}
        assert "k" not in help_keys
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, ClientDetailScreen), "it")
        assert server.inspected == set(), "a replay has no bytes to inspect"
        await until(
            pilot,
            lambda: (
                "not recorded in a replay"
                in str(app.screen.query_one("#bytes", Static).render())
            ),
            "the bytes pane",
        )


@pytest.mark.parametrize(
    ("mode", "words"), [("live", "listening on"), ("attached", "attached to")]
)
async def test_the_status_bar_says_the_mode(mode: str, words: str) -> None:
    server = make_demo_server(mode)  # type: ignore[arg-type]
    app = make_demo_app(server)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        summary = str(app.query_one("#summary", Static).render())
        assert f"{words} 127.0.0.1:9000" in summary
        assert (mode.upper() in summary) == (mode != "live")
        assert any(
            "keeps running" in text or mode == "live"
            for keys, text in dict(app.key_help())["Actions"]
            if keys.startswith("q")
        )
