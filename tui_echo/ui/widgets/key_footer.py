"""`KeyFooter`: a footer of key bindings that, on a narrow terminal, drops the least
essential keys instead of cutting off its end, so help and quit always show.

Textual's `Footer` lays out every shown binding in a row and lets the terminal's
edge cut the rest: at 80 columns that cut `? Help` and `q Quit`. This one counts the
cells each key takes and leaves out, from the right, keys that are not essential
until the rest fits; the keys left out are still in the help and the palette.

The stock footer also recomposes whenever a key becomes usable or not (a client
selected, the last one gone): a relayout of the whole screen, tens of milliseconds
of the UI thread's time, and so of the echo loop's (the GIL). This one greys its
keys in place when the same keys show, and recomposes only when they change.

Built on public Textual alone (a container, a widget that renders its key, the
screen's `active_bindings` and `bindings_updated_signal`), styled as the stock
footer is, so it looks the same and does not break when Textual's insides move.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from rich.text import Text
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import ScrollableContainer
from textual.events import Resize
from textual.reactive import reactive
from textual.screen import Screen
from textual.widget import Widget

ESSENTIAL = frozenset({"help", "quit", "dismiss", "cancel"})
"""Actions whose key always shows: help, quit, and a screen's way back."""
PALETTE_CELLS = 14
"""Cells the command palette's key takes at the right end."""


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
    """Cells a key takes: padded key, then the description and a space."""
    return len(key_display) + 2 + len(description) + 1


class KeyCap(Widget):
    """One key in the footer: the key, what it does; a click presses it."""

    ALLOW_SELECT = False
    COMPONENT_CLASSES: ClassVar[set[str]] = {"key-cap--key", "key-cap--description"}

    # As the stock footer's keys look.
    DEFAULT_CSS = """
    KeyCap {
        width: auto;
        height: 1;
        text-wrap: nowrap;
        background: $footer-item-background;
        .key-cap--key {
            color: $footer-key-foreground;
            background: $footer-key-background;
            text-style: bold;
            padding: 0 1;
        }
        .key-cap--description {
            padding: 0 1 0 0;
            color: $footer-description-foreground;
            background: $footer-description-background;
        }
        &:hover {
            pointer: pointer;
            color: $footer-key-foreground;
            background: $block-hover-background;
        }
        &.-disabled {
            text-style: dim;
        }
        &.-compact {
            .key-cap--key {
                padding: 0;
            }
            .key-cap--description {
                padding: 0 0 0 1;
            }
        }
    }
    """

    def __init__(self, key: _Key, *, compact: bool = False) -> None:
        classes = "-command-palette" if key.palette else ""
        super().__init__(classes=classes)
        self.key = key.key
        self.key_display = key.display
        self.description = key.description
        self.action = key.action
        self.enabled = key.enabled
        """False: shown greyed, and a click only rings the bell."""
        self.set_class(not key.enabled, "-disabled")
        self.set_class(compact, "-compact")
        self.set_reactive(Widget.shrink, False)
        if key.tooltip:
            self.tooltip = key.tooltip

    def set_enabled(self, enabled: bool) -> None:
        """Usable now or not: greyed in place (a restyle, not a relayout)."""
        self.enabled = enabled
        self.set_class(not enabled, "-disabled")

    def render(self) -> Text:
        key_style = self.get_component_rich_style("key-cap--key")
        description_style = self.get_component_rich_style("key-cap--description")
        key_padding = self.get_component_styles("key-cap--key").padding
        description_padding = self.get_component_styles("key-cap--description").padding
        text = Text.assemble(
            (
                " " * key_padding.left + self.key_display + " " * key_padding.right,
                key_style,
            ),
            (
                " " * description_padding.left
                + self.description
                + " " * description_padding.right,
                description_style,
            ),
        )
        text.stylize_before(self.rich_style)
        return text

    def on_mouse_down(self) -> None:
        if self.enabled:
            self.app.simulate_key(self.key)
        else:
            self.app.bell()


class KeyFooter(ScrollableContainer, can_focus=False, can_focus_children=False):
    """A footer that keeps help and quit at any width (UI thread)."""

    ALLOW_SELECT = False
    # As the stock footer looks (not compact; the palette's key docked right).
    DEFAULT_CSS = """
    KeyFooter {
        layout: horizontal;
        color: $footer-foreground;
        background: $footer-background;
        dock: bottom;
        height: 1;
        scrollbar-size: 0 0;
        KeyCap.-command-palette {
            dock: right;
            padding-right: 1;
            border-left: vkey $foreground 20%;
        }
    }
    """

    show_command_palette = reactive(True)
    """Show the key of the command palette, at the right end."""

    def __init__(self) -> None:
        super().__init__()
        self._ready = False
        """The screen has said which bindings are active (nothing to show before)."""
        self.composed_for = -1
        """The width the keys were last chosen for."""
        self._shapes: list[tuple[str, str, str, str, str, bool]] = []
        """The keys as last composed, but for whether each can be used."""
        self._recompose_queued = False
        """A recompose waits for the next refresh: one is enough."""

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self.bindings_changed)

    def on_unmount(self) -> None:
        self.screen.bindings_updated_signal.unsubscribe(self)

    def compose(self) -> ComposeResult:
        if not self._ready:
            return
        self.composed_for = self.size.width
        keys = self._keys()
        self._shapes = [key.shape for key in keys]
        for key in keys:
            # As the stock footer: its palette key is compact, the others not.
            yield KeyCap(key, compact=key.palette)

    def bindings_changed(self, screen: Screen[object]) -> None:
        """Keys became usable or not: when the same keys show, grey them in place
        (a restyle); recompose only when the keys themselves change (a relayout
        of the whole screen, tens of milliseconds, taken from the echo loop)."""
        first = not self._ready
        self._ready = True
        if not self.app.app_focus or not self.is_attached or screen is not self.screen:
            return
        keys = self._keys()
        shown = list(self.query_children(KeyCap))
        if (
            first
            or [key.shape for key in keys] != self._shapes
            or len(shown) != len(keys)
        ):
            self._recompose_soon()
            return
        for widget, key in zip(shown, keys, strict=True):
            widget.set_enabled(key.enabled)

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
        if event.size.width != self.composed_for:
            self._recompose_soon()

    def _recompose_soon(self) -> None:
        """Recompose after the next refresh, once however often asked before."""
        if not self._recompose_queued:
            self._recompose_queued = True
            self.call_after_refresh(self._recompose_now)

    async def _recompose_now(self) -> None:
        self._recompose_queued = False
        await self.recompose()
