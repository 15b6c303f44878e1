"""The scaling curve (issue 18): ping-pong 50 x 1 KiB with 0, 1,000, 10,000 and
50,000 idle clients held, per server; its table, its RSS per idle client, and
its plot (a hand-written SVG, no dependency).
"""

from __future__ import annotations

import statistics
from html import escape
from typing import Any

from .catalog import CURVE, SCENARIOS
from .specs import Scenario

Record = dict[str, Any]
DASH = "\u2013"
CURVE_SCENARIOS: tuple[Scenario, ...] = tuple(
    sc for sc in SCENARIOS if sc.group == CURVE
)
ZERO = CURVE_SCENARIOS[0].name  # curve-idle0: what every other point is held to
COLORS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b")
DASHES = ("", "6 3", "2 3", "8 3 2 3", "", "6 3")


def add_idle_rss(records: list[Record]) -> None:
    """Set ``kib_per_idle`` on each curve run that held idle clients:
    (its RSS growth - the growth of the same server's 0-idle run in the same
    round) / the idle clients it held.  The growth is the peak VmRSS while they
    were held minus VmRSS before the loadgen started, in a fresh process each;
    subtracting the 0-idle run's growth takes out the 50 active clients'
    share.  Idempotent; a run without a 0-idle twin gets none."""
    zero = {
        (r["server"], r["round"]): r["metrics"]["rss_growth_mib"]
        for r in records
        if r["scenario"] == ZERO and "rss_growth_mib" in r.get("metrics", {})
    }
    for run in records:
        metrics = run.get("metrics", {})
        held = metrics.get("idle_connected")
        base = zero.get((run["server"], run["round"]))
        if run["scenario"] == ZERO or not held or base is None:
            continue
        if "rss_growth_mib" in metrics:
            growth = metrics["rss_growth_mib"] - base
            metrics["kib_per_idle"] = growth * 1024 / held


def _values(
    records: list[Record], server: str, scenario: str, key: str
) -> dict[int, float]:
    return {
        r["round"]: r["metrics"][key]
        for r in records
        if r["server"] == server
        and r["scenario"] == scenario
        and r.get("metrics", {}).get(key) is not None
    }


def ratios_to_zero(
    records: list[Record], server: str, scenario: str, key: str
) -> list[float]:
    """value(scenario) / value(curve-idle0), same server, same round."""
    mine = _values(records, server, scenario, key)
    zero = _values(records, server, ZERO, key)
    return [v / zero[r] for r, v in mine.items() if zero.get(r)]


def held_counts(records: list[Record], scenario: Scenario) -> list[int]:
    """The idle clients the runs of a scenario really held (its loadgen's
    ``idle_connected``; fewer than asked where the descriptor limit capped it)."""
    held = {
        int(r["metrics"]["idle_connected"])
        for r in records
        if r["scenario"] == scenario.name and "idle_connected" in r.get("metrics", {})
    }
    return sorted(held) or [scenario.idle]


def _fmt(values: list[float], digits: int, ratio: bool = False) -> str:
    if not values:
        return "n/a"
    middle = statistics.median(values)

    def fmt(value: float) -> str:
        return f"{value:.2f}x" if ratio else f"{value:,.{digits}f}"

    text = fmt(middle)
    if len(values) > 1:
        text += f" ({fmt(min(values)).rstrip('x')}{DASH}{fmt(max(values))})"
    return text


def curve_servers(
    records: list[Record], servers: list[str], measured: bool = False
) -> list[str]:
    """The servers (in the given order) that have any curve run; with
    ``measured``, any that produced messages/s."""
    names = {sc.name for sc in CURVE_SCENARIOS}
    ran = {
        r["server"]
        for r in records
        if r["scenario"] in names
        and (not measured or r.get("metrics", {}).get("msgs_per_s") is not None)
    }
    return [s for s in servers if s in ran]


def curve_table(records: list[Record], servers: list[str]) -> str:
    """One row per server and idle count: medians over rounds, and the median
    of the per-round ratios to the same server's 0-idle run (min-max)."""
    head = [
        "server", "idle held", "messages/s", "vs 0 idle", "p99 RTT µs",
        "vs 0 idle", "RSS KiB/idle client", "server CPU µs/msg", "checks",
    ]  # fmt: skip
    rows = [head, ["---", "--:", "--:", "--:", "--:", "--:", "--:", "--:", ":-:"]]
    for server in curve_servers(records, servers):
        for sc in CURVE_SCENARIOS:
            runs = [
                r for r in records if r["server"] == server and r["scenario"] == sc.name
            ]
            if not runs:
                continue
            held = held_counts(runs, sc)
            shown = ", ".join(f"{h:,}" for h in held)
            if held != [sc.idle]:
                shown += f" (of {sc.idle:,})"
            msgs = list(_values(records, server, sc.name, "msgs_per_s").values())
            p99 = list(_values(records, server, sc.name, "p99_us").values())
            kib = list(_values(records, server, sc.name, "kib_per_idle").values())
            cpu = list(_values(records, server, sc.name, "server_us_per_msg").values())
            zero = sc.name == ZERO
            bad = sum(not r.get("ok") for r in runs)
            if all(r.get("unavailable") for r in runs):
                rows.append([server, shown, "n/a (did not start)", *[""] * 6])
                continue
            rows.append([
                server, shown, _fmt(msgs, 0),
                "1" if zero else _fmt(
                    ratios_to_zero(records, server, sc.name, "msgs_per_s"), 2, True),
                _fmt(p99, 0),
                "1" if zero else _fmt(
                    ratios_to_zero(records, server, sc.name, "p99_us"), 2, True),
                "—" if zero else _fmt(kib, 2), _fmt(cpu, 2),
                "ok" if not bad else f"✗ {bad} of {len(runs)}",
            ])  # fmt: skip
    return "\n".join("| " + " | ".join(row) + " |" for row in rows)


CURVE_NOTE = (
    "Each run has a fresh server process. `vs 0 idle`: the median of the "
    "per-round ratios to the same server's run with no idle clients in the same "
    f"round (min{DASH}max over rounds). RSS per idle client: (peak VmRSS while the "
    "idle clients were held - VmRSS before the loadgen started) minus the same "
    "for the server's 0-idle run in that round, divided by the idle clients "
    "held. Server CPU per message: as in the medians table. `✗`: a run failed a "
    "check (every idle client must connect and stay open; see Checks)."
)


# ---------- the plot ----------


def _nice_max(value: float) -> float:
    """A round number at or above value: 1, 2, 2.5 or 5 times a power of ten."""
    if value <= 0:
        return 1.0
    power = 10 ** len(str(int(value))) / 10
    for step in (1.0, 2.0, 2.5, 5.0, 10.0):
        if step * power >= value:
            return float(step * power)
    return float(10 * power)


def _panel(
    records: list[Record],
    servers: list[str],
    key: str,
    title: str,
    x0: float,
    width: float,
    height: float,
) -> list[str]:
    """One chart: the metric's median (dots, joined) and min-max (whiskers)
    against the idle clients held, one line per server."""
    top, left, bottom, right = 40.0, 70.0, 60.0, 20.0
    plot_w, plot_h = width - left - right, height - top - bottom
    points = len(CURVE_SCENARIOS)
    series = {
        s: [list(_values(records, s, sc.name, key).values()) for sc in CURVE_SCENARIOS]
        for s in servers
    }
    highest = max((max(v) for vals in series.values() for v in vals if v), default=1)
    y_max = _nice_max(highest * 1.05)

    def x_at(i: int) -> float:
        return x0 + left + plot_w * (i + 0.5) / points

    def y_at(v: float) -> float:
        return top + plot_h * (1 - v / y_max)

    out = [
        f'<text x="{x0 + left + plot_w / 2:.1f}" y="22" text-anchor="middle" '
        f'font-size="15" font-weight="bold">{escape(title)}</text>',
        f'<rect x="{x0 + left}" y="{top}" width="{plot_w:.1f}" height="{plot_h:.1f}" '
        'fill="none" stroke="#888"/>',
    ]
    for t in range(6):
        v = y_max * t / 5
        y = y_at(v)
        out.append(
            f'<line x1="{x0 + left}" y1="{y:.1f}" x2="{x0 + left + plot_w:.1f}" '
            f'y2="{y:.1f}" stroke="#e4e4e4"/>'
        )
        out.append(
            f'<text x="{x0 + left - 6}" y="{y + 4:.1f}" text-anchor="end" '
            f'font-size="11">{v:,.0f}</text>'
        )
    for i, sc in enumerate(CURVE_SCENARIOS):
        held = held_counts(records, sc)
        out.append(
            f'<text x="{x_at(i):.1f}" y="{top + plot_h + 16:.1f}" '
            f'text-anchor="middle" font-size="11">{sc.idle:,}</text>'
        )
        if held != [sc.idle]:  # fewer, where the descriptor limit capped it
            label = "(held " + ", ".join(f"{h:,}" for h in held) + ")"
            out.append(
                f'<text x="{x_at(i):.1f}" y="{top + plot_h + 29:.1f}" '
                f'text-anchor="middle" font-size="10" fill="#b00">{label}</text>'
            )
    out.append(
        f'<text x="{x0 + left + plot_w / 2:.1f}" y="{height - 12:.1f}" '
        'text-anchor="middle" font-size="12">idle clients held</text>'
    )
    for n, server in enumerate(servers):
        color, dash = COLORS[n % len(COLORS)], DASHES[n % len(DASHES)]
        path = []
        for i, values in enumerate(series[server]):
            if not values:
                continue
            x, y = x_at(i), y_at(statistics.median(values))
            path.append(f"{x:.1f},{y:.1f}")
            if len(values) > 1:
                lo, hi = y_at(min(values)), y_at(max(values))
                out.append(
                    f'<line x1="{x:.1f}" y1="{lo:.1f}" x2="{x:.1f}" y2="{hi:.1f}" '
                    f'stroke="{color}" stroke-opacity="0.5"/>'
                )
            out.append(
                f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.5" fill="{color}">'
                f"<title>{escape(server)}: {statistics.median(values):,.0f}</title>"
                "</circle>"
            )
        if len(path) > 1:
            attr = f' stroke-dasharray="{dash}"' if dash else ""
            out.append(
                f'<polyline points="{" ".join(path)}" fill="none" '
                f'stroke="{color}" stroke-width="2"{attr}/>'
            )
    return out


def curve_svg(records: list[Record], servers: list[str], caption: str) -> str:
    """Two charts side by side, messages/s and p99 RTT against idle clients held,
    one line per server, and a legend; ``caption`` goes underneath."""
    shown = curve_servers(records, servers, measured=True)
    width, panel = 1000, 500
    # the legend: as many rows as it takes, 20 px each
    spots, x, y = [], 70.0, 418.0
    for server in shown:
        item = 44 + 7.5 * len(server) + 20
        if x + item > width - 10 and x > 70:
            x, y = 70.0, y + 20
        spots.append((x, y))
        x += item
    height = int(y + 50)
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" '
        'font-family="sans-serif">',
        f'<rect width="{width}" height="{height}" fill="white"/>',
    ]
    out += _panel(records, shown, "msgs_per_s", "messages/s (higher is better)",
                  0, panel, 400)  # fmt: skip
    out += _panel(records, shown, "p99_us", "p99 round trip µs (lower is better)",
                  panel, panel, 400)  # fmt: skip
    for n, (server, (x, y)) in enumerate(zip(shown, spots, strict=True)):
        color, dash = COLORS[n % len(COLORS)], DASHES[n % len(DASHES)]
        attr = f' stroke-dasharray="{dash}"' if dash else ""
        out.append(
            f'<line x1="{x}" y1="{y}" x2="{x + 28}" y2="{y}" stroke="{color}" '
            f'stroke-width="2"{attr}/>'
        )
        out.append(
            f'<text x="{x + 34}" y="{y + 4}" font-size="12">{escape(server)}</text>'
        )
    out.append(
        f'<text x="70" y="{height - 20}" font-size="11" fill="#444">'
        f"{escape(caption)}</text>"
    )
    out.append("</svg>")
    return "\n".join(out) + "\n"


def caption(meta: dict[str, Any]) -> str:
    """The plot's caption from a results file's meta: date and rounds."""
    header = meta.get("header") or []
    date = next((h[2:].split(";")[0] for h in header if "date:" in h), "")
    rounds = meta.get("rounds", "?")
    return (
        f"ping-pong 50 x 1 KiB; median of {rounds} round(s), whiskers min{DASH}max; "
        f"{date}"
    )
