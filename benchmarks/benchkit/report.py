"""Markdown tables from the per-run records: medians, ratios, goals, checks."""

from __future__ import annotations

import statistics
from typing import Any

from .catalog import ATTACH, CURVE, HEADLESS, UI
from .curve import CURVE_NOTE, curve_table
from .goals import goals_section
from .protocols import TLS_HEADLESS, TLS_UI
from .specs import REFERENCE, Metric, Scenario, ServerSpec
from .tables import (
    MIN_MAX,
    Baseline,
    Record,
    fmt_number,
    fmt_ratios,
    fmt_spread,
    markdown,
    per_round,
    round_ratios,
    runs_of,
    short_reason,
)


def fmt_value(values: list[Any], metric: Metric) -> str:
    if all(isinstance(v, bool) for v in values):
        return "yes" if all(values) else f"no ({values.count(False)}/{len(values)})"
    return fmt_number(statistics.median(values), metric.digits)


def cell(
    records: list[Record], spec: ServerSpec, scenario: Scenario, metric: Metric
) -> str:
    """``median · ratio (spread)``, ``—`` if not run, ``n/a`` if it never served.

    The ratio is to the scenario's reference (asyncio-protocol; for TLS and UDP
    the asyncio server of that protocol). Without a ratio (the reference
    itself, a metric without direction) the spread is that of the values.
    """
    runs = runs_of(records, spec.name, scenario.name)
    if not runs:
        return "—"
    values = list(per_round(records, spec.name, scenario.name, metric.key).values())
    if not values:
        return "n/a"
    text = fmt_value(values, metric)
    ratios: list[float] = []
    if metric.higher_is_better is not None and spec.name != scenario.reference:
        ratios = round_ratios(
            records, spec.name, scenario.reference, scenario.name, metric.key
        )
    if ratios:
        text += " · " + fmt_ratios(ratios)
    elif not any(isinstance(v, bool) for v in values):
        text = fmt_spread(values, metric.digits)
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
            if all(c == "—" for c in cells):
                continue
            rows.append([scenario.title, metric.label, metric.direction, *cells])
    return markdown(rows)


def monitor_table(
    records: list[Record],
    scenarios: list[Scenario],
    server: str,
    short: str,
    headless: str = HEADLESS,
) -> str:
    """A server with a monitor (``tui-echo-ui``, ``tui-echo-attach``) against the
    same server headless (tui-echo-json): medians and the per-round ratios."""
    ratio = f"{short} / json ({MIN_MAX})"
    rows = [
        ["scenario", "metric", "better", server, headless, ratio],
        ["---"] * 3 + ["--:"] * 3,
    ]
    for scenario in scenarios:
        for metric in scenario.metrics:
            if metric.higher_is_better is None:
                continue
            mine = list(per_round(records, server, scenario.name, metric.key).values())
            json = list(
                per_round(records, headless, scenario.name, metric.key).values()
            )
            if not mine or not json:
                continue
            ratios = round_ratios(records, server, headless, scenario.name, metric.key)
            rows.append([
                scenario.title, metric.label, metric.direction,
                fmt_spread(mine, metric.digits), fmt_spread(json, metric.digits),
                fmt_ratios(ratios) if ratios else "—",
            ])  # fmt: skip
    return (
        markdown(rows)
        if len(rows) > 2
        else f"(no runs of both {server} and {headless})"
    )


def baseline_table(
    records: list[Record],
    servers: list[ServerSpec],
    scenarios: list[Scenario],
    baseline: Baseline,
) -> str:
    """Each tui-echo server / its baseline twin: median of per-round ratios."""
    pairs = [(s.base, s.name) for s in servers if s.base]
    if not pairs:
        return "(no tui-echo server selected)"
    head = ["scenario", "metric", "better"]
    head += [f"{base} / @{baseline.short}" for base, _ in pairs]
    rows = [head, ["---"] * 3 + ["--:"] * len(pairs)]
    for scenario in scenarios:
        for metric in scenario.metrics:
            if metric.higher_is_better is None:
                continue
            cells = []
            for base, twin in pairs:
                mine = runs_of(records, base, scenario.name)
                theirs = runs_of(records, twin, scenario.name)
                ratios = round_ratios(records, base, twin, scenario.name, metric.key)
                if ratios:
                    cells.append(fmt_ratios(ratios))
                elif not mine and not theirs:
                    cells.append("—")
                elif not per_round(records, base, scenario.name, metric.key):
                    cells.append(f"n/a: this build: {short_reason(mine, 70)}")
                else:
                    cells.append(f"n/a: @{baseline.short}: {short_reason(theirs, 70)}")
            if any(c != "—" for c in cells):
                rows.append([scenario.title, metric.label, metric.direction, *cells])
    return markdown(rows)


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
            mon = list(
                per_round(records, spec.name, scenario.name, "monitor_cpu_pct").values()
            )
            text = "—"
            if srv and gen:
                text = f"{statistics.median(srv):.0f} / {statistics.median(gen):.0f}"
            if srv and gen and mon:
                text += f" / {statistics.median(mon):.0f}"
            line.append(text)
        if any(c != "—" for c in line[1:]):
            rows.append(line)
    return markdown(rows)


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


def render(
    header: list[str],
    records: list[Record],
    servers: list[ServerSpec],
    scenarios: list[Scenario],
    exits: dict[str, list[str]],
    baseline: Baseline | None = None,
) -> str:
    """The whole Markdown report."""
    parts = ["# tui-echo benchmarks", "", *header, ""]
    references = ", ".join(dict.fromkeys(sc.reference for sc in scenarios))
    parts += [
        f"## Medians (ratio to {references}: median of per-round ratios, {MIN_MAX})",
        "",
    ]
    parts += [results_table(records, servers, scenarios), ""]
    parts += [
        "A cell is the median over rounds, then the ratio server / the scenario's "
        f"reference, {REFERENCE} but for TLS and UDP, where it is the asyncio server "
        "of that protocol (median of the per-round ratios, and in brackets their "
        f"{MIN_MAX} over rounds); read it with the `better` column (for ↓ metrics "
        "a ratio below 1 is better). Where there is no ratio the brackets give "
        f"the {MIN_MAX} of the values. `—` not run for that server, `n/a` did not "
        "run (see above), `✗` a run failed a check (see below).",
        "",
    ]
    if any(sc.group == CURVE for sc in scenarios):
        parts += [
            "## Scaling curve: ping-pong 50 x 1 KiB against idle clients held",
            "",
            curve_table(records, [s.name for s in servers]),
            "",
            CURVE_NOTE,
            "",
        ]
    parts += [
        "## With the UI: tui-echo-ui relative to tui-echo-json",
        "",
        monitor_table(records, scenarios, UI, "ui"),
        "",
        "## Attach mode: tui-echo-attach relative to tui-echo-json",
        "",
        monitor_table(records, scenarios, ATTACH, "attach"),
        "",
        "The same headless server with --control, and the monitor in a process of "
        "its own on the loadgen's CPU: what the server pays for feeding a monitor "
        "over the control socket.",
        "",
    ]
    if any(run["server"] == TLS_UI for run in records):
        parts += [
            f"## TLS with the UI: {TLS_UI} relative to {TLS_HEADLESS}",
            "",
            monitor_table(records, scenarios, TLS_UI, "tls ui", TLS_HEADLESS),
            "",
        ]
    if baseline is not None:
        parts += [
            f"## This build relative to {baseline.label}",
            "",
            baseline_table(records, servers, scenarios, baseline),
            "",
            f"Ratio = this build / the build of {baseline.short}, same server, same "
            f"round: median of the per-round ratios ({MIN_MAX}). Read it with "
            "`better`.",
            "",
        ]
    parts += [
        "## Goals",
        "",
        "A goal is met only if the median over rounds meets it (**PASS** in the "
        "`median` column); `worst round` says whether the round furthest from the "
        "target met it too. Ratios are per round, as above.",
        "",
        *goals_section(records, baseline),
        "## CPU during load runs: server % / load generator % (median); for "
        "tui-echo-attach, / its monitor %",
        "",
        cpu_table(records, servers, scenarios),
        "",
        "Server on one CPU, loadgen on the other: a loadgen near 100% means the "
        "loadgen, not the server, may be the limit (expected only against the "
        "fastest servers). tui-echo-attach's monitor runs on the loadgen's CPU: "
        "loadgen + monitor near 100% means the same.",
        "",
        "## Checks",
        "",
    ]
    bad = problems(records)
    parts += bad or [
        "- every run passed its checks: every echoed byte verified (0 mismatches, "
        "0 errors), every connection made (flood reads nothing back)"
    ]
    parts += ["", "Exit status after SIGTERM:", "", *exit_lines(exits), ""]
    return "\n".join(parts)
