"""Benchmark (not a test): two checkouts' `bench.run`, alternating in one run, compared.

    .venv/bin/python -m bench.alternate --base ../wt-base [--rounds 4] [--duration 10] [--only "decision (token)"]

`--base` is a worktree of another commit (`git worktree add --detach ../wt-base <commit>`); the
other side is this checkout. Each round runs `python -m bench.run` in both, the order reversed
every other round (A B B A …) so that a drift of the machine's speed falls on both alike. Each side
runs with this interpreter and its own tree first on PYTHONPATH, so each serves its own code. The
ratio reported is of each scenario's req/s, new over base, from the medians of the rounds; each
`bench.run` also reports its ratio to a bare Starlette endpoint measured in the same run, which
corrects for the machine's load at that moment, and those ratios are compared too.

Results: `bench/results/alternate.json` (every run's summary, the medians and the ratios).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "bench" / "results"
RUN_TIMEOUT_S = 900  # one bench.run of a few scenarios takes about a minute


def run_side(tree: Path, args: argparse.Namespace, out: Path) -> dict[str, Any]:
    command = [
        sys.executable,
        "-m",
        "bench.run",
        "--duration",
        str(args.duration),
        "--only",
        args.only,
        "--output",
        str(out),
    ]
    env = {**os.environ, "PYTHONPATH": str(tree)}
    subprocess.run(command, cwd=tree, env=env, check=True, timeout=RUN_TIMEOUT_S, stdout=subprocess.DEVNULL)
    summary: dict[str, Any] = json.loads(out.read_text("utf-8"))["summary"]
    return summary


def _field(summary: dict[str, Any], scenario: str, name: str) -> float:
    value: float = summary[scenario][name]
    return value


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base", type=Path, required=True, help="worktree of the commit to compare against")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--only", default="decision (token)", help="bench.run scenarios (comma-separated)")
    parser.add_argument("--output", type=Path, default=RESULTS / "alternate.json")
    args = parser.parse_args()
    sides = {"base": args.base.resolve(), "new": REPO}
    runs: dict[str, list[dict[str, Any]]] = {"base": [], "new": []}
    with tempfile.TemporaryDirectory() as tmp:
        for number in range(args.rounds):
            order = ("base", "new") if number % 2 == 0 else ("new", "base")
            for side in order:
                summary = run_side(sides[side], args, Path(tmp) / f"{side}-{number}.json")
                runs[side].append(summary)
                print(f"round {number + 1} {side}: " + _line(summary, args.only), flush=True)
    report = {"base": str(sides["base"]), "rounds": args.rounds, "duration_s": args.duration, "runs": runs}
    report["compare"] = _compare(runs, [s.strip() for s in args.only.split(",")])
    for scenario, row in report["compare"].items():
        print(f"{scenario}:")
        for measure in ("requests_per_s", "ratio_vs_bare", "server_cpu_us_per_request"):
            base, new, ratio = row[f"base_{measure}"], row[f"new_{measure}"], row[f"new_over_base_{measure}"]
            print(f"  {measure:<28} base {base:10.3f}  new {new:10.3f}  new/base {ratio:.3f}")
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(f"results: {args.output}")
    return 0


def _line(summary: dict[str, Any], only: str) -> str:
    names = [s.strip() for s in only.split(",")]
    return ", ".join(
        f"{n} {_field(summary, n, 'requests_per_s'):.0f} req/s, {_field(summary, n, 'server_cpu_us_per_request'):.0f} "
        f"CPU µs/request, {_field(summary, n, 'ratio_vs_bare'):.3f} of bare"
        for n in names
        if n in summary
    )


def _compare(runs: dict[str, list[dict[str, Any]]], scenarios: list[str]) -> dict[str, dict[str, float]]:
    """Per scenario, the medians over rounds of each side, and new/base of each measure."""
    out: dict[str, dict[str, float]] = {}
    for scenario in scenarios:
        row: dict[str, float] = {}
        for measure in ("requests_per_s", "ratio_vs_bare", "server_cpu_us_per_request"):
            base = statistics.median(_field(s, scenario, measure) for s in runs["base"])
            new = statistics.median(_field(s, scenario, measure) for s in runs["new"])
            row |= {f"base_{measure}": base, f"new_{measure}": new, f"new_over_base_{measure}": new / base}
        out[scenario] = row
    return out


if __name__ == "__main__":
    raise SystemExit(main())
