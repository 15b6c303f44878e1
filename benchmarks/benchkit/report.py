"""Markdown tables from the per-run records: medians, ratios, goals, checks."""

from __future__ import annotations

import statistics
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .catalog import (
    ATTACH,
    CURVE,
    GOALS,
    HEADLESS,
    REFERENCE,
    UI,
    Goal,
    Metric,
    Scenario,
    ServerSpec,
)
from .curve import CURVE_NOTE, curve_table

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


def fmt_value(values: list[Any], metric: Metric) -> str:
    if all(isinstance(v, bool) for v in values):
        return "yes" if all(values) else f"no ({values.count(False)}/{len(values)})"
    return fmt_number(statistics.median(values), metric.digits)


def short_reason(runs: list[Record], width: int = 90) -> str:
    """Why runs produced no number: the first error, cut to ``width``."""
    errors = [run["error"] for run in runs if run.get("error")]
    if not errors:
        return "no value"
    text = str(errors[0]).removeprefix("did not start: ")
    return text if len(text) <= width else text[: width - 1] + "…"


def cell(
    records: list[Record], spec: ServerSpec, scenario: Scenario, metric: Metric
) -> str:
    """``median · ratio (spread)``, ``—`` if not run, ``n/a`` if it never served.

    Without a ratio (the reference itself, a metric without direction) the
    spread is that of the values.
    """
    runs = _runs(records, spec.name, scenario.name)
    if not runs:
        return "—"
    values = list(per_round(records, spec.name, scenario.name, metric.key).values())
    if not values:
        return "n/a"
    text = fmt_value(values, metric)
    ratios: list[float] = []
    if metric.higher_is_better is not None and spec.name != REFERENCE:
        ratios = round_ratios(records, spec.name, REFERENCE, scenario.name, metric.key)
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
    return _markdown(rows)


def monitor_table(
    records: list[Record], scenarios: list[Scenario], server: str, short: str
) -> str:
    """A server with a monitor (``tui-echo-ui``, ``tui-echo-attach``) against
    tui-echo-json: medians and the per-round ratios."""
    ratio = f"{short} / json ({MIN_MAX})"
    rows = [
        ["scenario", "metric", "better", server, HEADLESS, ratio],
        ["---"] * 3 + ["--:"] * 3,
    ]
    for scenario in scenarios:
        for metric in scenario.metrics:
            if metric.higher_is_better is None:
                continue
            mine = list(per_round(records, server, scenario.name, metric.key).values())
            json = list(
                per_round(records, HEADLESS, scenario.name, metric.key).values()
            )
            if not mine or not json:
                continue
            ratios = round_ratios(records, server, HEADLESS, scenario.name, metric.key)
            rows.append([
                scenario.title, metric.label, metric.direction,
                fmt_spread(mine, metric.digits), fmt_spread(json, metric.digits),
                fmt_ratios(ratios) if ratios else "—",
            ])  # fmt: skip
    return (
        _markdown(rows)
        if len(rows) > 2
        else f"(no runs of both {server} and {HEADLESS})"
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
                mine = _runs(records, base, scenario.name)
                theirs = _runs(records, twin, scenario.name)
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
    return _markdown(rows)


def goal_values(
    records: list[Record], goal: Goal, rename: Callable[[str], str]
) -> list[Any] | str:
    """A goal's per-round values (ratios if it has ``versus``), or why none."""
    server = rename(goal.server)
    runs = _runs(records, server, goal.scenario)
    if not runs:
        return "not run"
    mine = per_round(records, server, goal.scenario, goal.key)
    if not mine:
        return "n/a: " + short_reason(runs)
    if goal.versus is None:
        return [mine[r] for r in sorted(mine)]
    versus = rename(goal.versus)
    base_scenario = goal.base_scenario or goal.scenario
    theirs = _runs(records, versus, base_scenario)
    if not theirs:
        return f"{versus} not run in {base_scenario}"
    ratios = round_ratios(
        records, server, versus, goal.scenario, goal.key, base_scenario
    )
    return ratios or f"n/a: {versus}: " + short_reason(theirs)


def fmt_goal_values(goal: Goal, values: list[Any]) -> str:
    if goal.op == "all":
        yes = sum(bool(v) for v in values)
        return f"{'yes' if yes == len(values) else 'no'} ({yes}/{len(values)})"
    if goal.unit == "x":
        return fmt_ratios(values)
    unit = "" if goal.unit == "%" else " "
    return fmt_spread(values, 2, unit + goal.unit)


def goal_verdicts(goal: Goal, values: list[Any]) -> tuple[bool, bool]:
    """(the median meets the goal, the worst round meets it)."""
    # median_low keeps booleans booleans: "every echo back" in most rounds
    middle = statistics.median_low if goal.op == "all" else statistics.median
    return goal.meets(middle(values)), goal.meets(goal.worst(values))


def goals_section(records: list[Record], baseline: Baseline | None) -> list[str]:
    """One table per goal group: PASS/FAIL on the median and on the worst round.

    Goals whose scenario or servers were not in this run are named, not tabled.
    """
    builds: list[tuple[str, Callable[[str], str]]] = [("this build", lambda n: n)]
    if baseline is not None:
        twin = baseline.twin
        builds.append(
            (f"@{baseline.short}", lambda n: twin(n) if n != REFERENCE else n)
        )
    parts: list[str] = []
    for group in dict.fromkeys(goal.group for goal in GOALS):
        head = ["scenario", "metric", "target"]
        for label, _ in builds:
            head += [f"{label}: rounds", f"median ({MIN_MAX})", "median", "worst round"]
        rows = [head, ["---"] * 3 + ["--:", "--:", ":-:", ":-:"] * len(builds)]
        met = {label: [0, 0, 0] for label, _ in builds}  # median ok, worst ok, counted
        skipped: list[str] = []
        for goal in (g for g in GOALS if g.group == group):
            found = [goal_values(records, goal, rename) for _, rename in builds]
            if all(isinstance(v, str) and "not run" in v for v in found):
                skipped.append(f"{goal.scenario} {goal.label}")
                continue
            row = [goal.scenario, goal.label, goal.target_text]
            for (label, _), values in zip(builds, found, strict=True):
                if isinstance(values, str):
                    row += ["0", values, "n/a", "n/a"]
                    continue
                median_ok, worst_ok = goal_verdicts(goal, values)
                row += [
                    str(len(values)),
                    fmt_goal_values(goal, values),
                    "**PASS**" if median_ok else "**FAIL**",
                    "PASS" if worst_ok else "FAIL",
                ]
                tally = met[label]
                tally[0] += median_ok
                tally[1] += worst_ok
                tally[2] += 1
            rows.append(row)
        parts += [f"### {group}", ""]
        if len(rows) > 2:
            summary = "; ".join(
                f"{label}: {m} of {n} met on the median, {w} of {n} in the worst round"
                if n
                else f"{label}: none could be judged"
                for label, (m, w, n) in met.items()
            )
            parts += [_markdown(rows), "", summary + ".", ""]
        if skipped:
            parts += ["Not in this run: " + ", ".join(skipped) + ".", ""]
    return parts


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
    baseline: Baseline | None = None,
) -> str:
    """The whole Markdown report."""
    parts = ["# tui-echo benchmarks", "", *header, ""]
    parts += [
        f"## Medians (ratio to {REFERENCE}: median of per-round ratios, {MIN_MAX})",
        "",
    ]
    parts += [results_table(records, servers, scenarios), ""]
    parts += [
        "A cell is the median over rounds, then the ratio server / asyncio-protocol "
        f"(median of the per-round ratios, and in brackets their {MIN_MAX} over "
        "rounds); read it with the `better` column (for ↓ metrics a ratio below 1 "
        f"is better). Where there is no ratio the brackets give the {MIN_MAX} of the "
        "values. `—` not run for that server, `n/a` did not run (see above), "
        "`✗` a run failed a check (see below).",
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
