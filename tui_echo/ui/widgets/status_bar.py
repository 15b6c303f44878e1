"""`StatusBar`: where the server listens, for how long, its clients and traffic.

Two lines of parts. Each part has a long and a short form and a priority; when the
terminal is narrow, parts shorten (least important first), then the least
important give way, so at 80 columns the address, the clients connected, the
throughput, the default fault and any warning still show.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

from rich.style import Style
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.events import Resize
from textual.widgets import Static

from tui_echo.book import HISTORY_SECONDS, ClientBook
from tui_echo.units import human_duration, human_rate, human_size
from tui_echo.words import escape, format_address, is_loopback

SPARK = "▁▂▃▄▅▆▇█"
SPARK_MIN = 10
"""Narrower than this, the throughput history is not worth its room."""
SEPARATOR = "  "


@dataclass(frozen=True, slots=True)
class Part:
    """A piece of a status line: its long and short form, and how much it matters."""

    long: Text
    short: Text | None = None
    priority: int = 0
    """0 always shows; larger numbers shorten first, then give way first."""


def fit_parts(parts: Sequence[Part], width: int) -> list[Text]:
    """The forms of `parts` that fit `width` cells together (separators counted).

    Least important first, each part shortens, or, if it has no short form, gives
    way, until the rest fits. Priority-0 parts only ever shorten, so they stay
    even when they overflow.
    """
    forms: list[Text | None] = [part.long for part in parts]

    def used() -> int:
        shown = [form for form in forms if form is not None]
        return sum(form.cell_len for form in shown) + len(SEPARATOR) * (len(shown) - 1)

    by_importance = sorted(range(len(parts)), key=lambda i: (-parts[i].priority, -i))
    for index in by_importance:
        if used() <= width:
            break
        part = parts[index]
        if part.short is not None:
            forms[index] = part.short
        elif part.priority > 0:
            forms[index] = None
    return [form for form in forms if form is not None]


def join(forms: list[Text]) -> Text:
    line = Text(no_wrap=True, overflow="ellipsis")
    for index, form in enumerate(forms):
        if index:
            line.append(SEPARATOR)
        line.append_text(form)
    return line


def sparkline(values: Sequence[int], width: int, style: Style | str = "") -> Text:
    """The last `width` values as bars, scaled to the largest."""
    shown = list(values)[-width:]
    top = max(shown, default=0)
    if top <= 0:
        return Text(SPARK[0] * len(shown), style=style)
    scale = len(SPARK) - 1
    return Text(
        "".join(SPARK[round(value / top * scale)] for value in shown), style=style
    )


def whole_seconds(book: ClientBook) -> list[int]:
    """The throughput of the seconds that are over, oldest first: the current
    second is still filling (drawn, it would always look like a dip), and the
    seconds before the server started are not history (`last 44s` at 0.1 s up)."""
    done = list(book.throughput)[:-1]
    if book.started_at is not None:
        lived = int(book.uptime())  # never more seconds than the server has run
        done = done[len(done) - max(0, min(lived, len(done))) :]
    return done


def _text(text: str, style: str = "") -> Text:
    return Text(text, style=style)


def _scenario_part(book: ClientBook) -> Part:
    """The scenario's clock and its next step: `scenario 12s, next at 40s: step
    2, set all to flaky`; shortened to the clock and when."""
    scenario = book.scenario
    assert scenario is not None
    clock = f"scenario {human_duration(scenario.clock(book.clock()))}"
    if scenario.next_at is None:
        return Part(_text(f"{clock}, no more steps"), _text(clock), priority=1)
    when = f"{clock}, next at {human_duration(scenario.next_at)}"
    return Part(_text(f"{when}: {scenario.next_does}"), _text(when), priority=1)


def _tls_part(ca_path: str | None, fingerprint: str) -> Part:
    """`--tls`: the CA clients should trust and the certificate's fingerprint; at
    less room, the fingerprint's start (the rest: STATS, the listening event)."""
    long = _text("TLS", "bold")
    if ca_path is not None:
        long.append(f" ca {escape(ca_path)}")
    long.append(f" sha256 {fingerprint}")
    return Part(long, _text(f"TLS {fingerprint[:11]}…", "bold"), priority=4)


class StatusBar(Vertical):
    """Two lines at the top: the server and its clients, then the traffic."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {"status-bar--spark"}

    DEFAULT_CSS = """
    StatusBar {
        height: 2;
        background: $panel;
        & Static { height: 1; width: 1fr; }
        & > .status-bar--spark { color: $text-success; }
        &.-paused { background: $warning-muted; }
    }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._server_view = Static(id="summary")
        self._traffic_view = Static(id="traffic")
        self._shown: tuple[Text, Text] | None = None
        self._last: tuple[ClientBook, str, str, bool, bool] | None = None

    def compose(self) -> ComposeResult:
        yield self._server_view
        yield self._traffic_view

    def on_resize(self, event: Resize) -> None:
        if self._last is not None:
            book, mode, detail, paused, backlogged = self._last
            self.show(
                book, mode=mode, detail=detail, paused=paused, backlogged=backlogged
            )

    def show(
        self,
        book: ClientBook,
        *,
        mode: str = "live",
        detail: str = "",
        paused: bool = False,
        backlogged: bool = False,
    ) -> None:
        """Show the book's numbers now (UI thread); redraws only what changed.

        `detail` says more of the mode (a replay's speed, a server gone).
        """
        self._last = (book, mode, detail, paused, backlogged)
        width = max(1, self.size.width)
        server = join(fit_parts(self._server_parts(book, mode, detail), width))
        traffic = self._traffic_line(book, width, paused, backlogged)
        if self._shown is None or server != self._shown[0]:
            self._server_view.update(server, layout=False)  # fixed size
        if self._shown is None or traffic != self._shown[1]:
            self._traffic_view.update(traffic, layout=False)
        self._shown = (server, traffic)
        self.set_class(paused, "-paused")

    @staticmethod
    def _server_parts(book: ClientBook, mode: str, detail: str) -> list[Part]:
        totals = book.totals
        parts = [Part(_text(" tui-echo ", "bold reverse"))]
        if mode == "live":
            parts.append(Part(_text("live"), priority=5))
        else:
            parts.append(Part(_text(f" {mode.upper()} ", "bold reverse")))
        if detail:
            parts.append(Part(_text(detail, "bold")))
        if book.address is not None:
            where = format_address(*book.address)
            verb = {"attached": "attached to", "replay": "recorded on"}.get(
                mode, "listening on"
            )
            long, short = _text(f"{verb} {where}", "bold"), _text(where, "bold")
            if not is_loopback(book.address[0]):
                long.append(" (not only loopback!)", "bold reverse")
                short.append(" (!)", "bold reverse")
            parts.append(Part(long, short))
        parts.append(Part(_text(f"up {human_duration(book.uptime())}"), priority=3))
        parts.append(
            Part(
                _text(
                    f"{totals.clients_now} connected"
                    f" ({totals.clients_total} since start)",
                    "bold",
                ),
                _text(f"{totals.clients_now} connected", "bold"),
            )
        )
        now = book.clock()
        door = book.door.words(now)
        if door is not None:  # a fault of the door: every new client meets it
            brief = book.door.words(now, short=True)
            parts.append(
                Part(
                    _text(f"door: {door}", "bold reverse"),
                    _text(brief or door, "bold reverse"),
                )
            )
        if totals.rejected:
            parts.append(
                Part(
                    _text(f"rejected {totals.rejected}", "bold"),
                    _text(f"rej {totals.rejected}", "bold"),
                    priority=2,
                )
            )
        if book.tls is not None:
            parts.append(_tls_part(*book.tls))
        if book.shut_down:
            parts.append(Part(_text("SERVER STOPPED", "bold reverse")))
        return parts

    def _traffic_line(
        self, book: ClientBook, width: int, paused: bool, backlogged: bool
    ) -> Text:
        totals = book.totals
        parts = [
            Part(_text(f" ⇅ {human_rate(totals.rate_in + totals.rate_out)}", "bold")),
            Part(
                _text(
                    f"in {human_size(totals.bytes_in)}"
                    f"  out {human_size(totals.bytes_out)}"
                ),
                _text(
                    f"in {human_size(totals.bytes_in).replace(' ', '')}"
                    f" out {human_size(totals.bytes_out).replace(' ', '')}"
                ),
                priority=2,
            ),
        ]
        if book.default_fault is not None:
            parts.append(
                Part(
                    _text(f"new clients' fault: {book.default_fault}", "bold"),
                    _text(f"new: {book.default_fault}", "bold"),
                )
            )
        if book.scenario is not None:
            parts.append(_scenario_part(book))
        if paused:
            parts.append(
                Part(
                    _text("PAUSED: display frozen, server running", "bold reverse"),
                    _text("PAUSED", "bold reverse"),
                )
            )
        if backlogged:
            parts.append(
                Part(
                    _text(
                        "not accepting new clients until the display catches up",
                        "bold",
                    ),
                    _text("not accepting clients", "bold"),
                )
            )
        forms = fit_parts(parts, width)
        line = join(forms)
        seconds = whole_seconds(book)
        room = width - line.cell_len - len(SEPARATOR)
        label = f"last {HISTORY_SECONDS}s "
        peak_room = len(" peak 1023 KiB/s")
        if seconds and room >= SPARK_MIN + len(label) + peak_room:
            spark_width = min(len(seconds), room - len(label) - peak_room)
            shown = seconds[-spark_width:]
            line.append(SEPARATOR)
            line.append(f"last {len(shown)}s ", style="dim")
            line.append_text(
                sparkline(
                    shown,
                    spark_width,
                    self.get_component_rich_style("status-bar--spark"),
                )
            )
            # The scale: a full bar is this rate (30 B/s draws full bars too).
            line.append(f" peak {human_rate(max(shown))}", style="dim")
        return line
