"""Write the README's screenshots: `python -m tui_echo.ui.screenshots [DIR]`.

Renders the demo scene (scripted server, fixed clock, UTC) headless and saves SVGs of
the main screen, a client's detail screen and the help screen to DIR (default
`screenshots/`).
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from pathlib import Path

from tui_echo.ui.demo import DEMO_SIZE, make_demo_app, show_closing_client


async def take_screenshots(directory: Path) -> list[Path]:
    """Save the three screenshots; return their paths."""
    directory.mkdir(parents=True, exist_ok=True)
    app = make_demo_app()
    saved: list[Path] = []

    def save(name: str) -> None:
        saved.append(Path(app.save_screenshot(name, path=str(directory))))

    async with app.run_test(size=DEMO_SIZE) as pilot:
        await show_closing_client(pilot)
        save("main.svg")
        await pilot.press("enter")
        await pilot.pause()
        save("detail.svg")
        await pilot.press("escape", "question_mark")
        await pilot.pause()
        save("help.svg")
    return saved


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
