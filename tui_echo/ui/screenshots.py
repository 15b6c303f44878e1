"""Write the README's screenshots: `python -m tui_echo.ui.screenshots [DIR]`.

Renders the demo scene (scripted server, fixed clock, UTC) headless and saves SVGs
to DIR (default `screenshots/`): the main screen at 120x36 and at 80x24, a client's
detail screen, the fault dialog, the history of closed clients, the help, the
charts (`g`) at 80x24 and at 160x48, the door refusing connects for 5 s (`L` `2`:
the status bar says so), and a `--tls` server's main screen and a TLS client's
detail screen.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from pathlib import Path

from textual.pilot import Pilot

from tui_echo.ui.demo import DEMO_SIZE, make_demo_app, show_closing_client
from tui_echo.ui.demo_tls import make_tls_demo_app

SMALL = (80, 24)


async def take_screenshots(directory: Path) -> list[Path]:
    """Save the screenshots; return their paths."""
    directory.mkdir(parents=True, exist_ok=True)
    saved: list[Path] = []
    shots: list[tuple[str, tuple[int, int], tuple[str, ...]]] = [
        ("main.svg", DEMO_SIZE, ()),
        ("main-80x24.svg", SMALL, ()),
        ("detail.svg", DEMO_SIZE, ("end", "enter")),
        ("fault-dialog.svg", DEMO_SIZE, ("f",)),
        ("history.svg", SMALL, ("h",)),
        ("help.svg", DEMO_SIZE, ("question_mark",)),
        ("graphs-80x24.svg", SMALL, ("g",)),
        ("graphs-160x48.svg", (160, 48), ("g",)),
        ("listener-refusing.svg", DEMO_SIZE, ("L", "2")),
        ("tls-main.svg", DEMO_SIZE, ()),
        ("tls-detail.svg", DEMO_SIZE, ("enter",)),
    ]
    for name, size, keys in shots:
        app = make_tls_demo_app() if name.startswith("tls-") else make_demo_app()
        async with app.run_test(size=size) as pilot:
            await _show(pilot, keys)
            saved.append(Path(app.save_screenshot(name, path=str(directory))))
    return saved


async def _show(pilot: Pilot[None], keys: tuple[str, ...]) -> None:
    await show_closing_client(pilot)
    if keys:
        await pilot.press(*keys)
    await pilot.pause()


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    directory = Path(args[0] if args else "screenshots")
    os.environ["TZ"] = "UTC"  # the scene's times read the same everywhere
    time.tzset()
    for path in asyncio.run(take_screenshots(directory)):
        sys.stdout.write(f"wrote {path}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
