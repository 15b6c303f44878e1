"""`FaultScreen`: choose a fault for a client (or for new clients): a preset in one
key, or a SPEC typed out. A SPEC that does not parse shows its error here and
applies nothing."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Vertical
from textual.content import Content
from textual.widgets import Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from tui_echo.faults import FaultSpec, FaultTarget
from tui_echo.faults.items import PRESETS, hint
from tui_echo.faults.spec import check_protocol, check_target
from tui_echo.ui.screens.spec_dialog import SpecDialog, dialog_bindings
from tui_echo.ui.widgets.key_footer import KeyFooter

ITEMS_HELP = hint()
"""The items, as the fault grammar's own table lists them."""
KEYS_HINT = (
    f"1-{max(p.key for p in PRESETS)}, 0: apply a preset · tab: type a SPEC"
    " · enter: apply · esc: cancel"
)


@dataclass(frozen=True, slots=True)
class FaultChoice:
    """What the dialog chose: a fault, or None to clear it."""

    spec: FaultSpec | None


class FaultScreen(SpecDialog[FaultChoice]):
    """Asks for a fault; dismisses with a `FaultChoice`, or None when cancelled."""

    PRESETS = PRESETS
    BINDINGS: ClassVar[list[BindingType]] = dialog_bindings(PRESETS)

    def __init__(
        self,
        target: str,
        current: str | None,
        whom: FaultTarget = "new",
        proto: str = "tcp",
    ) -> None:
        """`target` names who gets the fault, `whom` is who that is and `proto`
        what it speaks (a SPEC that one client cannot take is refused);
        `current` is the SPEC in force."""
        super().__init__()
        self.target = target
        self.whom: FaultTarget = whom
        self.proto = proto
        self.current = current

    def compose(self) -> ComposeResult:
        with Vertical(id="fault-dialog"):
            yield Label(Content(f"Fault for {self.target}"), id="fault-title")
            yield Static(Content(f"now: {self.current or 'none'}"), id="fault-current")
            yield OptionList(
                *(
                    Option(Content(f"{p.key}  {p.name:<22} {p.spec}"), id=p.key)
                    for p in PRESETS
                ),
                id="presets",
            )
            yield Input(
                value=self.current or "",
                placeholder="a SPEC such as delay=50ms,jitter=20ms, or off",
                id="spec",
            )
            yield Static(id="fault-error")
            yield Static(Content(ITEMS_HELP), id="fault-items")
            yield Label(KEYS_HINT, id="fault-keys")
        yield KeyFooter()  # this dialog's keys: the main screen's do not work here

    def choose(self, text: str) -> FaultChoice:
        choice = FaultChoice(FaultSpec.parse(text))
        check_target(self.whom, choice.spec)
        if isinstance(self.whom, int):  # `slice` for a UDP peer, ...
            check_protocol(choice.spec, self.proto, self.whom)
        return choice
