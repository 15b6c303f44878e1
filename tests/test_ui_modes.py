"""The source's mode: live (in-process), attached (a control socket), replay (a
file): the status bar and the help say which, and a replay cannot act on clients."""

from __future__ import annotations

import pytest
from textual.widgets import Static

from tests.pilot import SIZE, until
from tui_echo.engine.config import ServerConfig
from tui_echo.events import KERNEL_SUPPORTED
from tui_echo.server import EchoServer
from tui_echo.sources.live import LiveSource
from tui_echo.ui.demo import make_demo_app, make_demo_server
from tui_echo.ui.screens import ClientDetailScreen, FaultScreen
from tui_echo.ui.widgets.key_footer import KeyCap


def test_an_echo_server_is_watched_live_with_its_commands() -> None:
    with EchoServer(ServerConfig(port=0)) as server:
        source = LiveSource(server)
        assert source.mode == "live"
        assert source.feed is server.feed
        assert source.commands is server
        assert (source.kernel is server) == KERNEL_SUPPORTED
        assert source.playback is None


async def test_a_replay_says_so_and_cannot_act_on_clients() -> None:
    server = make_demo_server("replay")
    app = make_demo_app(server)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        summary = str(app.query_one("#summary", Static).render())
        assert "REPLAY" in summary
        assert "recorded on 127.0.0.1:9000" in summary
        footer = {key.description for key in app.screen.query(KeyCap)}
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


QUIT_TEXTS = {
    "live": "stop the server and leave",
    "attached": "leave; the server keeps running",
    "replay": "leave the replay",
}


@pytest.mark.parametrize(
    ("mode", "words", "badge"),
    [
        ("live", "listening on", None),
        ("attached", "attached to", "ATTACHED"),
        ("replay", "recorded on", "REPLAY"),
    ],
)
async def test_the_status_bar_and_the_help_say_the_mode(
    mode: str, words: str, badge: str | None
) -> None:
    server = make_demo_server(mode)  # type: ignore[arg-type]
    app = make_demo_app(server)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        summary = str(app.query_one("#summary", Static).render())
        assert f"{words} 127.0.0.1:9000" in summary
        for other in ("LIVE", "ATTACHED", "REPLAY"):
            assert (other in summary) == (other == badge), (other, summary)
        quit_rows = [
            text
            for keys, text in dict(app.key_help())["Actions"]
            if keys.split()[0] == "q"
        ]
        assert quit_rows == [QUIT_TEXTS[mode]]
