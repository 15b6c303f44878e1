"""The goals tables: each goal's values per round, and PASS/FAIL on the median
and on the worst round."""

from __future__ import annotations

import statistics
from collections.abc import Callable
from typing import Any

from .catalog import GOALS
from .specs import Goal, is_tui_name
from .tables import (
    MIN_MAX,
    Baseline,
    Record,
    fmt_ratios,
    fmt_spread,
    markdown,
    per_round,
    round_ratios,
    runs_of,
    short_reason,
)


def goal_values(
    records: list[Record], goal: Goal, rename: Callable[[str], str]
) -> list[Any] | str:
    """A goal's per-round values (ratios if it has ``versus``), or why none."""
    server = rename(goal.server)
    runs = runs_of(records, server, goal.scenario)
    if not runs:
        return "not run"
    mine = per_round(records, server, goal.scenario, goal.key)
    if not mine:
        return "n/a: " + short_reason(runs)
    if goal.versus is None:
        return [mine[r] for r in sorted(mine)]
    versus = rename(goal.versus)
    base_scenario = goal.base_scenario or goal.scenario
    theirs = runs_of(records, versus, base_scenario)
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
            # the references have no twin (asyncio-protocol, asyncio-tls, ...)
            (f"@{baseline.short}", lambda n: twin(n) if is_tui_name(n) else n)
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
            parts += [markdown(rows), "", summary + ".", ""]
        if skipped:
            parts += ["Not in this run: " + ", ".join(skipped) + ".", ""]
    return parts
