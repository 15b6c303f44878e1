"""What every table of the report is made of: runs by server and scenario,
values per round, ratios per round, and how numbers and spreads are written."""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

Record = dict[str, Any]
DASH = "\u2013"  # en dash: a spread reads 1.15 to 1.31 as "1.15" DASH "1.31"
MIN_MAX = f"min{DASH}max"


@dataclass(frozen=True)
class Baseline:
    """The earlier build run next to this one (``--baseline REV``)."""

    rev: str  # as given on the command line
    short: str  # git's short hash: the servers' suffix
    path: Path  # where its tui_echo/ was exported

    def twin(self, name: str) -> str:
        return f"{name}@{self.short}"

    @property
    def label(self) -> str:
        """``HEAD~3 (e80e4f0)``, or just the hash if that is what was given."""
        return self.short if self.rev == self.short else f"{self.rev} ({self.short})"


def runs_of(records: Iterable[Record], server: str, scenario: str) -> list[Record]:
    return [r for r in records if r["server"] == server and r["scenario"] == scenario]


def per_round(
    records: list[Record], server: str, scenario: str, key: str
) -> dict[int, Any]:
    """The metric's value in each round that produced it."""
    values = {}
    for run in runs_of(records, server, scenario):
        value = run.get("metrics", {}).get(key)
        if value is not None:
            values[run["round"]] = value
    return values


def round_ratios(
    records: list[Record],
    server: str,
    base: str,
    scenario: str,
    key: str,
    base_scenario: str | None = None,
) -> list[float]:
    """value(server) / value(base) in each round where both produced the metric;
    base's value from ``base_scenario`` if given (else the same scenario)."""
    mine = per_round(records, server, scenario, key)
    theirs = per_round(records, base, base_scenario or scenario, key)
    return [value / theirs[r] for r, value in mine.items() if theirs.get(r)]


def median_ratio(
    records: list[Record], server: str, base: str, scenario: str, key: str
) -> float | None:
    """Median over rounds of value(server) / value(base) in the same round."""
    ratios = round_ratios(records, server, base, scenario, key)
    return statistics.median(ratios) if ratios else None


def fmt_number(value: float, digits: int) -> str:
    if abs(value) >= 1000:
        digits = 0
    return f"{value:,.{digits}f}"


def fmt_ratios(ratios: list[float]) -> str:
    """``1.23x (1.15-1.31)``: the median, and the lowest and highest round."""
    text = f"{statistics.median(ratios):.2f}x"
    if len(ratios) > 1:
        text += f" ({min(ratios):.2f}{DASH}{max(ratios):.2f})"
    return text


def fmt_spread(values: list[float], digits: int, unit: str = "") -> str:
    """``12.3 (11.0-14.1)``: the median, and the lowest and highest round."""
    text = fmt_number(statistics.median(values), digits) + unit
    if len(values) > 1:
        lo, hi = fmt_number(min(values), digits), fmt_number(max(values), digits)
        text += f" ({lo}{DASH}{hi})"
    return text


def short_reason(runs: list[Record], width: int = 90) -> str:
    """Why runs produced no number: the first error, cut to ``width``."""
    errors = [run["error"] for run in runs if run.get("error")]
    if not errors:
        return "no value"
    text = str(errors[0]).removeprefix("did not start: ")
    return text if len(text) <= width else text[: width - 1] + "…"


def markdown(rows: list[list[str]]) -> str:
    return "\n".join("| " + " | ".join(row) + " |" for row in rows)
