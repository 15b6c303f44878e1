"""`KeyFooter`: Textual's footer, but on a narrow terminal it drops the least
essential keys instead of cutting off its end, so help and quit always show.

The stock footer lays out every shown binding in a row and lets the terminal's edge
cut the rest: at 80 columns that cut `? Help` and `q Quit`. This one counts the
cells each key takes and leaves out, from the right, keys that are not essential
until the rest fits; the keys left out are still in the help and the palette.

The stock footer also recomposes whenever a key becomes usable or not (a client
selected, the last one gone): a relayout of the whole screen, 20 to 40 ms of the
UI thread's time, and so of the echo loop's (the GIL). This one greys its keys in
place when the same keys show, and recomposes only when they change.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.events import Resize
from textual.screen import Screen
from textual.widgets import Footer
from textual.widgets._footer import FooterKey

ESSENTIAL = frozenset({"help", "quit", "dismiss", "cancel"})
"""Actions whose key always shows: help, quit, and a screen's way back."""
PALETTE_CELLS = 14
"""Cells the command palette's key takes at the right end."""


def _key(
    app: App[object],
    binding: Binding,
    enabled: bool,
    tooltip: str,
    *,
    palette: bool = False,
) -> _Key:
    return _Key(
        binding.key,
        app.get_key_display(binding),
        binding.description,
        binding.action,
        enabled,
        tooltip,
        palette,
    )


def _cells(key_display: str, description: str) -> int:
    """Cells a FooterKey takes: padded key, then the description and a space."""
    return len(key_display) + 2 + len(description) + 1


@dataclass(frozen=True, slots=True)
class _Key:
    """One key the footer shows, and whether it can be used now."""

    key: str
    display: str
    description: str
    action: str
    enabled: bool
    tooltip: str
    palette: bool = False

    @property
    def shape(self) -> tuple[str, str, str, str, str, bool]:
        """What the footer's layout depends on: all but `enabled`."""
        return (
            self.key,
            self.display,
            self.description,
            self.action,
            self.tooltip,
            self.palette,
        )


class KeyFooter(Footer):
    """A footer that keeps help and quit at any width (UI thread)."""

    def __init__(self) -> None:
        super().__init__()
        self._composed_for = -1
        self._shapes: list[tuple[str, str, str, str, str, bool]] = []
        """The keys as last composed, but for whether each can be used."""

    def compose(self) -> ComposeResult:
        if not self._bindings_ready:
            return
        self._composed_for = self.size.width
        keys = self._keys()
        self._shapes = [key.shape for key in keys]
        for key in keys:
            widget = FooterKey(
                key.key,
                key.display,
                key.description,
                key.action,
                classes="-command-palette" if key.palette else "",
                disabled=not key.enabled,
                tooltip=key.tooltip,
            )
            # As Footer does: the palette's key keeps its own padding.
            yield widget if key.palette else widget.data_bind(compact=Footer.compact)

    def bindings_changed(self, screen: Screen[object]) -> None:
        """Keys became usable or not: when the same keys show, grey them in place
        (a restyle); recompose only when the keys themselves change (a relayout
        of the whole screen, tens of milliseconds, taken from the echo loop)."""
        if not (self._bindings_ready and self.app.app_focus and self.is_attached):
            super().bindings_changed(screen)
            return
        if screen is not self.screen:
            return
        keys = self._keys()
        shown = list(self.query_children(FooterKey))
        if [key.shape for key in keys] != self._shapes or len(shown) != len(keys):
            self.call_after_refresh(self.recompose)
            return
        for widget, key in zip(shown, keys, strict=True):
            # As FooterKey does it at construction: a flag for clicks, a class
            # for the look.
            widget._disabled = not key.enabled
            widget.set_class(not key.enabled, "-disabled")

    def _keys(self) -> list[_Key]:
        """The keys to show at this width: essential ones always, then as many
        of the others as fit, in binding order; the palette's key last."""
        app = self.app
        active = self.screen.active_bindings
        keys: list[_Key] = []
        actions: set[str] = set()
        for _, binding, enabled, tooltip in active.values():
            if binding.show and binding.action not in actions:
                actions.add(binding.action)
                keys.append(_key(app, binding, enabled, tooltip))
        palette = (
            self.show_command_palette
            and app.ENABLE_COMMAND_PALETTE
            and app.COMMAND_PALETTE_BINDING in active
        )
        width = self.size.width
        if width:  # 0 before the first layout: show all, a resize follows
            budget = width - (PALETTE_CELLS if palette else 0)
            cells = [_cells(key.display, key.description) for key in keys]
            index = len(keys) - 1
            while sum(cells) > budget and index >= 0:
                if keys[index].action.removeprefix("app.") not in ESSENTIAL:
                    del keys[index], cells[index]
                index -= 1
        if palette:
            _, binding, enabled, tooltip = active[app.COMMAND_PALETTE_BINDING]
            tooltip = binding.tooltip or binding.description
            keys.append(_key(app, binding, enabled, tooltip, palette=True))
        return keys

    def on_resize(self, event: Resize) -> None:
        if event.size.width != self._composed_for:
            self.call_after_refresh(self._recompose_if_resized)

    async def _recompose_if_resized(self) -> None:
        # Asked again when it runs: a compose since the resize may have fitted it.
        if self.size.width != self._composed_for:
            await self.recompose()
