"""Markdown tables from the per-run records: medians, ratios, checks."""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from typing import Any

from .catalog import HEADLESS, REFERENCE, UI, Metric, Scenario, ServerSpec

Record = dict[str, Any]


def _runs(records: Iterable[Record], server: str, scenario: str) -> list[Record]:
    return [r for r in records if r["server"] == server and r["scenario"] == scenario]


def per_round(
    records: list[Record], server: str, scenario: str, key: str
) -> dict[int, Any]:
    """The metric's value in each round that produced it."""
    values = {}
    for run in _runs(records, server, scenario):
        value = run.get("metrics", {}).get(key)
        if value is not None:
            values[run["round"]] = value
    return values


def median_ratio(
    records: list[Record], server: str, base: str, scenario: str, key: str
) -> float | None:
    """Median over rounds of value(server) / value(base) in the same round."""
    mine = per_round(records, server, scenario, key)
    theirs = per_round(records, base, scenario, key)
    ratios = [value / theirs[r] for r, value in mine.items() if theirs.get(r)]
    return statistics.median(ratios) if ratios else None


def fmt_number(value: float, digits: int) -> str:
    if abs(value) >= 1000:
        digits = 0
    return f"{value:,.{digits}f}"


def fmt_value(values: list[Any], metric: Metric) -> str:
    if all(isinstance(v, bool) for v in values):
        return "yes" if all(values) else f"no ({values.count(False)}/{len(values)})"
    return fmt_number(statistics.median(values), metric.digits)


def cell(
    records: list[Record], spec: ServerSpec, scenario: Scenario, metric: Metric
) -> str:
    """``median (ratiox)``, ``—`` if not run, ``n/a`` if the server never served it."""
    runs = _runs(records, spec.name, scenario.name)
    if not runs:
        return "—"
    values = list(per_round(records, spec.name, scenario.name, metric.key).values())
    if not values:
        return "n/a"
    text = fmt_value(values, metric)
    if metric.higher_is_better is not None and spec.name != REFERENCE:
        ratio = median_ratio(records, spec.name, REFERENCE, scenario.name, metric.key)
        if ratio is not None:
            text += f" ({ratio:.2f}x)"
    if any(not run["ok"] for run in runs):
        text = "✗ " + text
    return text


def results_table(
    records: list[Record], servers: list[ServerSpec], scenarios: list[Scenario]
) -> str:
    head = ["scenario", "metric", "better", *(s.name for s in servers)]
    rows = [head, ["---"] * 3 + ["--:"] * len(servers)]
    for scenario in scenarios:
        for metric in scenario.metrics:
            cells = [cell(records, spec, scenario, metric) for spec in servers]
            rows.append([scenario.title, metric.label, metric.direction, *cells])
    return _markdown(rows)


def ui_table(records: list[Record], scenarios: list[Scenario]) -> str:
    """tui-echo-ui against tui-echo-json: medians and the median per-round ratio."""
    rows = [
        ["scenario", "metric", "better", UI, HEADLESS, "ui / json"],
        ["---"] * 3 + ["--:"] * 3,
    ]
    for scenario in scenarios:
        for metric in scenario.metrics:
            if metric.higher_is_better is None:
                continue
            ui = list(per_round(records, UI, scenario.name, metric.key).values())
            json = list(
                per_round(records, HEADLESS, scenario.name, metric.key).values()
            )
            if not ui or not json:
                continue
            ratio = median_ratio(records, UI, HEADLESS, scenario.name, metric.key)
            rows.append([
                scenario.title, metric.label, metric.direction,
                fmt_value(ui, metric), fmt_value(json, metric),
                "—" if ratio is None else f"{ratio:.2f}x",
            ])  # fmt: skip
    return (
        _markdown(rows)
        if len(rows) > 2
        else "(no runs of both tui-echo-ui and tui-echo-json)"
    )


def cpu_table(
    records: list[Record], servers: list[ServerSpec], scenarios: list[Scenario]
) -> str:
    """Median CPU use of the server and of the load generator during load runs."""
    rows = [["scenario", *(s.name for s in servers)], ["---"] + ["--:"] * len(servers)]
    for scenario in scenarios:
        if scenario.kind != "load":
            continue
        line = [scenario.title]
        for spec in servers:
            srv = list(
                per_round(records, spec.name, scenario.name, "server_cpu_pct").values()
            )
            gen = list(
                per_round(records, spec.name, scenario.name, "loadgen_cpu_pct").values()
            )
            both = srv and gen
            line.append(
                f"{statistics.median(srv):.0f} / {statistics.median(gen):.0f}"
                if both
                else "—"
            )
        rows.append(line)
    return _markdown(rows)


def problems(records: list[Record]) -> list[str]:
    """One line per run that failed or did not verify, grouped by reason.

    Servers that never started are left out: the header says why, once.
    """
    lines: dict[str, list[str]] = {}
    for run in records:
        if not run["ok"] and not run.get("unavailable"):
            where = f"{run['server']} / {run['scenario']}"
            lines.setdefault(f"{where}: {run['error']}", []).append(
                str(run["round"] + 1)
            )
    return [f"- {text} (round {', '.join(rounds)})" for text, rounds in lines.items()]


def exit_lines(exits: dict[str, list[str]]) -> list[str]:
    return [
        f"- {name}: {', '.join(sorted(set(statuses)))}"
        for name, statuses in exits.items()
    ]


def _markdown(rows: list[list[str]]) -> str:
    return "\n".join("| " + " | ".join(row) + " |" for row in rows)


def render(
    header: list[str],
    records: list[Record],
    servers: list[ServerSpec],
    scenarios: list[Scenario],
    exits: dict[str, list[str]],
) -> str:
    """The whole Markdown report."""
    parts = ["# tui-echo benchmarks", "", *header, ""]
    parts += [f"## Medians (ratio to {REFERENCE}, median of per-round ratios)", ""]
    parts += [results_table(records, servers, scenarios), ""]
    parts += [
        "Ratio = server / asyncio-protocol in the same round; read it with the "
        "`better` column (for ↓ metrics a ratio below 1 is better). "
        "`—` not run for that server, `n/a` did not run (see below), "
        "`✗` a run failed a check (see below).",
        "",
        "## With the UI: tui-echo-ui relative to tui-echo-json",
        "",
        ui_table(records, scenarios),
        "",
        "## CPU during load runs: server % / load generator % (median)",
        "",
        cpu_table(records, servers, scenarios),
        "",
        "Server on one CPU, loadgen on the other: a loadgen near 100% means the "
        "loadgen, not the server, may be the limit (expected only against the "
        "fastest servers).",
        "",
        "## Checks",
        "",
    ]
    bad = problems(records)
    parts += bad or ["- every run verified every echoed byte (0 mismatches, 0 errors)"]
    parts += ["", "Exit status after SIGTERM:", "", *exit_lines(exits), ""]
    return "\n".join(parts)
