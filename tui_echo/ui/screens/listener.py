"""`ListenerScreen`: choose the listener fault (the server's door, not a client):
a preset in one key, or a SPEC typed out. A SPEC that does not parse shows its
error here and applies nothing. Laid out as the fault dialog is (its styles)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Vertical
from textual.content import Content
from textual.widgets import Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from tui_echo.faults.items import Preset
from tui_echo.faults.listener import EFFECTS, ListenerFault
from tui_echo.ui.screens.spec_dialog import SpecDialog, dialog_bindings
from tui_echo.ui.widgets.key_footer import KeyFooter

PRESETS: tuple[Preset, ...] = (
    Preset("1", "refuse connects", "refuse"),
    Preset("2", "refuse for 5 s", "refuse,for=5s"),
    Preset("3", "drop connects", "drop"),
    Preset("4", "accept 200 ms late", "accept-delay=200ms"),
    Preset("5", "accept 2 s late", "accept-delay=2s"),
    Preset("0", "off", "off"),
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


class ListenerScreen(SpecDialog[ListenerChoice]):
    """Asks for a listener fault; dismisses with a `ListenerChoice`, or None when
    cancelled."""

    DEFAULT_CSS = """
    ListenerScreen {
        align: center middle;
        background: $background 60%;
    }
    """

    PRESETS = PRESETS
    BINDINGS: ClassVar[list[BindingType]] = dialog_bindings(PRESETS)

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

    def choose(self, text: str) -> ListenerChoice:
        return ListenerChoice(ListenerFault.parse(text))
