"""`ListenerScreen`: choose the listener fault (the server's door, not a client):
a preset in one key, or a SPEC typed out. A SPEC that does not parse shows its
error here and applies nothing. Laid out as the fault dialog is (its styles)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from tui_echo.faults.listener import EFFECTS, ListenerFault
from tui_echo.ui.widgets.key_footer import KeyFooter


@dataclass(frozen=True, slots=True)
class ListenerPreset:
    """A listener fault one key away."""

    key: str
    name: str
    spec: str


PRESETS: tuple[ListenerPreset, ...] = (
    ListenerPreset("1", "refuse connects", "refuse"),
    ListenerPreset("2", "refuse for 5 s", "refuse,for=5s"),
    ListenerPreset("3", "drop connects", "drop"),
    ListenerPreset("4", "accept 200 ms late", "accept-delay=200ms"),
    ListenerPreset("5", "accept 2 s late", "accept-delay=2s"),
    ListenerPreset("0", "off", "off"),
)

ITEMS_HELP = (
    "refuse: " + EFFECTS["refuse"] + "; drop: " + EFFECTS["drop"] + ";"
    " accept-delay=DURATION: each connection taken that late;"
    " add ,for=DURATION to end it by itself"
)
KEYS_HINT = "1-5, 0: apply a preset · tab: type a SPEC · enter: apply · esc: cancel"


@dataclass(frozen=True, slots=True)
class ListenerChoice:
    """What the dialog chose: a listener fault, or None to clear it."""

    fault: ListenerFault | None


class ListenerScreen(ModalScreen[ListenerChoice | None]):
    """Asks for a listener fault; dismisses with a `ListenerChoice`, or None when
    cancelled."""

    DEFAULT_CSS = """
    ListenerScreen {
        align: center middle;
        background: $background 60%;
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", tooltip="Change nothing"),
        Binding("tab", "app.focus_next", "Type a SPEC", tooltip="Presets or a SPEC"),
        *(
            Binding(
                preset.key,
                f"preset({preset.key!r})",
                preset.name,
                tooltip=f"{preset.name}: {preset.spec}",
                show=False,
            )
            for preset in PRESETS
        ),
    ]

    def __init__(self, current: str) -> None:
        """`current` is the listener fault in force (`off` for none)."""
        super().__init__()
        self.current = current

    def compose(self) -> ComposeResult:
        # The fault dialog's ids: the same look, from the one stylesheet.
        with Vertical(id="fault-dialog"):
            yield Label(Content("Listener fault (the server's door)"), id="fault-title")
            yield Static(Content(f"now: {self.current}"), id="fault-current")
            yield OptionList(
                *(
                    Option(Content(f"{p.key}  {p.name:<22} {p.spec}"), id=p.key)
                    for p in PRESETS
                ),
                id="presets",
            )
            yield Input(
                value="" if self.current == "off" else self.current,
                placeholder="refuse, drop or accept-delay=200ms (,for=5s), or off",
                id="spec",
            )
            yield Static(id="fault-error")
            yield Static(Content(ITEMS_HELP), id="fault-items")
            yield Label(KEYS_HINT, id="fault-keys")
        yield KeyFooter()  # this dialog's keys: the main screen's do not work here

    def on_mount(self) -> None:
        self.query_one(OptionList).focus()

    def action_preset(self, key: str) -> None:
        """Apply a preset at once."""
        preset = next(p for p in PRESETS if p.key == key)
        self._apply(preset.spec)

    def action_cancel(self) -> None:
        self.dismiss(None)

    @on(OptionList.OptionSelected, "#presets")
    def _on_preset(self, event: OptionList.OptionSelected) -> None:
        if event.option.id is not None:
            self.action_preset(event.option.id)

    @on(Input.Changed, "#spec")
    def _on_typed(self, event: Input.Changed) -> None:
        self._check(event.value)

    @on(Input.Submitted, "#spec")
    def _on_submitted(self, event: Input.Submitted) -> None:
        self._apply(event.value)

    def _check(self, text: str) -> ListenerChoice | None:
        """The choice a SPEC makes, or None with its error shown."""
        error = self.query_one("#fault-error", Static)
        try:
            choice = ListenerChoice(ListenerFault.parse(text))
        except ValueError as exc:
            # Content, not markup: the message quotes what was typed.
            error.update(Content(str(exc)))
            error.add_class("-error")
            return None
        error.update("")
        error.remove_class("-error")
        return choice

    def _apply(self, text: str) -> None:
        choice = self._check(text)
        if choice is not None:
            self.dismiss(choice)
