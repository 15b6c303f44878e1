"""Export what is on screen (`e`): the clients in the table's order and the history,
to a JSON file whose path the screen shows; and the SVG screenshot in the palette."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.pilot import SMALL, until
from tui_echo.ui.demo import make_demo_app


async def test_e_writes_the_clients_shown_and_the_history_and_says_where(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    app = make_demo_app()
    async with app.run_test(size=SMALL) as pilot:
        await until(pilot, lambda: app.table.order, "rows")
        await pilot.press("s")  # a sort: the file keeps the table's order
        order = list(app.table.order)
        await pilot.press("e")
        written = await until(pilot, lambda: list(tmp_path.glob("*.json")), "a file")
        notes = [n.message for n in app._notifications]
    assert len(written) == 1
    assert any(str(written[0]) in note for note in notes), notes
    data = json.loads(written[0].read_text())
    assert [c["id"] for c in data["clients"]] == order
    assert len(data["history"]) == len(app.book.history)
    assert data["totals"]["bytes_in"] == app.book.totals.bytes_in


async def test_the_palette_offers_export_and_the_svg_screenshot() -> None:
    app = make_demo_app()
    async with app.run_test(size=SMALL) as pilot:
        await pilot.pause()
        titles = [c.title for c in app.get_system_commands(app.screen)]
    assert "Export" in titles
    assert "Screenshot" in titles  # Textual's own: an SVG of the screen
