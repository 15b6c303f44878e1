"""Draw the scaling curve (issue 18) from a results file as an SVG.

    python benchmarks/plot_curve.py                      # results/curve.json -> .svg
    python benchmarks/plot_curve.py benchmarks/results/quick.json --out /tmp/c.svg

Two charts side by side, messages/s and p99 round trip against the idle clients
held (0, 1,000, 10,000, 50,000), one line per server: the median over rounds,
whiskers from the lowest to the highest round. `run.py --curve` writes the same
plot next to its table; this redraws it from the committed JSON alone.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from benchkit.catalog import CURVE_SERVERS
from benchkit.curve import add_idle_rss, caption, curve_svg
from benchkit.specs import BENCH_DIR


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "results",
        nargs="?",
        type=Path,
        default=BENCH_DIR / "results" / "curve.json",
        help="a run.py results file (default: benchmarks/results/curve.json)",
    )
    parser.add_argument(
        "--out", type=Path, help="where the SVG goes (default: beside the JSON)"
    )
    args = parser.parse_args(argv)
    payload = json.loads(args.results.read_text())
    records = payload["runs"]
    add_idle_rss(records)
    seen = list(dict.fromkeys(r["server"] for r in records))
    servers = [s for s in CURVE_SERVERS if s in seen]
    servers += [s for s in seen if s not in servers]
    svg = curve_svg(records, servers, caption(payload.get("meta", {})))
    if "<polyline" not in svg and "<circle" not in svg:
        sys.exit(f"{args.results}: no curve runs (curve-idle*) in it")
    out = args.out or args.results.with_suffix(".svg")
    out.write_text(svg)
    print(f"wrote {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
