"""`KeyFooter`: Textual's footer, but on a narrow terminal it drops the least
essential keys instead of cutting off its end, so help and quit always show.

The stock footer lays out every shown binding in a row and lets the terminal's edge
cut the rest: at 80 columns that cut `? Help` and `q Quit`. This one counts the
cells each key takes and leaves out, from the right, keys that are not essential
until the rest fits; the keys left out are still in the help and the palette.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.events import Resize
from textual.widgets import Footer
from textual.widgets._footer import FooterKey

ESSENTIAL = frozenset({"help", "quit", "dismiss", "cancel"})
"""Actions whose key always shows: help, quit, and a screen's way back."""
PALETTE_CELLS = 14
"""Cells the command palette's key takes at the right end."""


def _cells(key_display: str, description: str) -> int:
    """Cells a FooterKey takes: padded key, then the description and a space."""
    return len(key_display) + 2 + len(description) + 1


class KeyFooter(Footer):
    """A footer that keeps help and quit at any width (UI thread)."""

    def __init__(self) -> None:
        super().__init__()
        self._composed_for = -1

    def compose(self) -> ComposeResult:
        if not self._bindings_ready:
            return
        app = self.app
        active = self.screen.active_bindings
        keys: list[tuple[Binding, bool, str]] = []
        actions: set[str] = set()
        for _, binding, enabled, tooltip in active.values():
            if binding.show and binding.action not in actions:
                actions.add(binding.action)
                keys.append((binding, enabled, tooltip))
        palette = (
            self.show_command_palette
            and app.ENABLE_COMMAND_PALETTE
            and app.COMMAND_PALETTE_BINDING in active
        )
        width = self.size.width
        self._composed_for = width
        if width:  # 0 before the first layout: show all, a resize follows
            budget = width - (PALETTE_CELLS if palette else 0)
            cells = [_cells(app.get_key_display(b), b.description) for b, _, _ in keys]
            index = len(keys) - 1
            while sum(cells) > budget and index >= 0:
                if keys[index][0].action.removeprefix("app.") not in ESSENTIAL:
                    del keys[index], cells[index]
                index -= 1
        for binding, enabled, tooltip in keys:
            yield FooterKey(
                binding.key,
                app.get_key_display(binding),
                binding.description,
                binding.action,
                disabled=not enabled,
                tooltip=tooltip,
            ).data_bind(compact=Footer.compact)
        if palette:
            _, binding, enabled, tooltip = active[app.COMMAND_PALETTE_BINDING]
            yield FooterKey(
                binding.key,
                app.get_key_display(binding),
                binding.description,
                binding.action,
                classes="-command-palette",
                disabled=not enabled,
                tooltip=binding.tooltip or binding.description,
            )

    def on_resize(self, event: Resize) -> None:
        if event.size.width != self._composed_for:
            self.call_after_refresh(self.recompose)
