"""Throughput of the market simulator (prints figures; not a timed test).

Usage::

    PYTHONPATH=src .venv/bin/python benchmarks/run.py [--draws 1 100 1000 10000]

The case: the rare-earth chain (mine → separated → magnet) on the shipped data with every
producing country as its own region (threshold 0: 16 regions), the shipped licensing scenario
(``scenarios/rare-earth-licensing.yaml``, 40 quarters, two blocs). ``simulate`` runs the
baseline and the shocked scenario, so one call is 2 × draws × 40 draw-periods; throughput is
given per simulated draw-period (each clears all three stages). Each draw count runs in a fresh
process: peak memory is that process's peak resident set (and its rise over the resident set
just before the timed call, after a warm-up run). The scalar scipy reference
runs the same scenario on a small sample for its own throughput, and its prices are compared
with the vectorised engine's (agreement required to 1e-6).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from critmin.engine import simulate
from critmin.scenario.model import load_scenario
from critmin.world import build_world

ROOT = Path(__file__).resolve().parents[1]
SCENARIO = ROOT / "scenarios" / "rare-earth-licensing.yaml"


def _rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def one_case(draws: int) -> dict[str, float]:
    """Time one simulate call in this process (after a warm-up) and report memory."""
    scenario = load_scenario(SCENARIO)
    world = build_world(["rare-earths"], threshold=0.0)
    simulate(world, scenario, draws=2)  # warm-up: imports, scipy's LHS, caches
    detail = "region" if draws <= 1000 else "bloc"
    before = _rss_mb()
    start, cpu = time.perf_counter(), time.process_time()
    run = simulate(world, scenario, draws=draws, detail=detail)
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    assert run.shocked.balance_error.max() < 1e-9
    return {"draws": draws, "detail": detail, "wall": wall, "cpu": cpu, "peak_mb": peak,
            "rise_mb": peak - before, "periods": scenario.horizon}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, nargs="+", default=[1, 100, 1000, 10000])
    parser.add_argument("--reference-draws", type=int, default=2)
    parser.add_argument("--reference-periods", type=int, default=4)
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)  # a case in a child process
    args = parser.parse_args()
    if args.one is not None:
        print(json.dumps(one_case(args.one)))
        return

    scenario = load_scenario(SCENARIO)
    world = build_world(["rare-earths"], threshold=0.0)
    periods = scenario.horizon
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"load average {os.getloadavg()[0]:.2f}; numpy {np.__version__}")
    print(f"case: {scenario.name!r}, {len(world.regions)} regions, {world.n_nodes} stages, "
          f"{periods} quarters, blocs {list(scenario.bloc_names)}; simulate = baseline + "
          "shocked run")
    print(f"{'draws':>7} {'detail':>7} {'wall s':>8} {'cpu s':>8} {'s per run':>10} "
          f"{'draw-periods/s':>15} {'peak RSS MB':>12} {'rise MB':>8}")
    for draws in args.draws:
        child = subprocess.run([sys.executable, __file__, "--one", str(draws)],
                               capture_output=True, text=True, check=True)
        c = json.loads(child.stdout.strip().splitlines()[-1])
        rate = 2 * draws * periods / c["wall"]
        print(f"{draws:>7} {c['detail']:>7} {c['wall']:>8.2f} {c['cpu']:>8.2f} "
              f"{c['wall'] / 2:>10.2f} {rate:>15,.0f} {c['peak_mb']:>12.0f} {c['rise_mb']:>8.0f}")

    # the scalar reference on a small sample, and agreement with the vectorised engine
    short = scenario.model_copy(update={"horizon": args.reference_periods})
    n = args.reference_draws
    start = time.perf_counter()
    slow = simulate(world, short, draws=n, solver="reference")
    ref_wall = time.perf_counter() - start
    start = time.perf_counter()
    fast = simulate(world, short, draws=n)
    fast_wall = time.perf_counter() - start
    ref_rate = 2 * n * short.horizon / ref_wall
    fast_rate = 2 * n * short.horizon / fast_wall
    worst = max(float(np.max(np.abs(a.price / b.price - 1.0)))
                for a, b in ((fast.shocked, slow.shocked), (fast.baseline, slow.baseline)))
    print(f"scalar reference: {n} draws × {short.horizon} quarters in {ref_wall:.2f} s = "
          f"{ref_rate:,.1f} draw-periods/s; vectorised on the same sample {fast_rate:,.0f}/s "
          f"(ratio {fast_rate / ref_rate:,.0f}×); at 10,000 draws the vectorised rate above is "
          "the fair comparison")
    print(f"agreement: largest relative price difference {worst:.2e} "
          f"({'ok' if worst < 1e-6 else 'FAILED'} at 1e-6)")
    if worst >= 1e-6:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
