"""`SpecDialog`: what the dialogs that ask for a SPEC share (a client's fault, `f`
and `F`; the listener's, `L`): a preset in one key, or a SPEC typed out and checked
as it is typed. A SPEC that does not parse shows its error in the dialog and
applies nothing; enter applies one that does, escape changes nothing."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar, Generic, TypeVar

from textual import on
from textual.binding import Binding, BindingType
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Input, OptionList, Static

from tui_echo.faults.items import Preset

Choice = TypeVar("Choice")


def dialog_bindings(presets: Sequence[Preset]) -> list[BindingType]:
    """The keys of a SPEC dialog: escape, tab, and one per preset."""
    return [
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
            for preset in presets
        ),
    ]


class SpecDialog(ModalScreen[Choice | None], Generic[Choice]):
    """A dialog that dismisses with the choice a SPEC makes, or None when
    cancelled. A subclass composes it (an `OptionList` of presets `#presets`, an
    `Input` `#spec`, a `Static` `#fault-error`) and says what a SPEC means."""

    PRESETS: ClassVar[Sequence[Preset]] = ()

    def choose(self, text: str) -> Choice:
        """The choice `text` makes.

        Raises:
            ValueError: it makes none; the message says why, naming the item.
        """
        raise NotImplementedError

    def on_mount(self) -> None:
        self.query_one(OptionList).focus()

    def action_preset(self, key: str) -> None:
        """Apply a preset at once."""
        preset = next(p for p in self.PRESETS if p.key == key)
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

    def _check(self, text: str) -> Choice | None:
        """The choice a SPEC makes, or None with its error shown."""
        error = self.query_one("#fault-error", Static)
        try:
            choice = self.choose(text)
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
