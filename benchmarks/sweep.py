"""Benchmark: a 10,000-draw Monte Carlo sweep of the rare-earth licensing scenario.

Prints wall time, throughput and peak memory (this process and the largest worker), then the
headline risk measures. Not a timed test: run it by hand and record the figures.

    python benchmarks/sweep.py [--draws 10000] [--executor local|dask] [--workers 2]

The menu of policy tools (critmin.policy) is not built yet, so the sweep runs the shock alone;
once the tools exist, pass their hooks to ``sweep(..., hooks=...)`` here.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import sys
import time
from pathlib import Path

SCENARIO = Path(__file__).resolve().parents[1] / "scenarios" / "rare-earth-licensing.yaml"


def _peak_mb(who: int) -> float:
    """Peak resident memory in MB (Linux reports KB, macOS bytes)."""
    peak = resource.getrusage(who).ru_maxrss
    return peak / 1024**2 if sys.platform == "darwin" else peak / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", type=Path, default=SCENARIO)
    parser.add_argument("--draws", type=int, default=10_000)
    parser.add_argument("--executor", choices=("local", "dask"), default="local")
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--block-size", type=int, default=256)
    parser.add_argument("--resume", type=Path, default=None,
                        help="keep finished blocks here (default: nothing kept)")
    args = parser.parse_args()

    from critmin.analysis.sweep import sweep
    from critmin.scenario.model import load_scenario
    from critmin.world import build_world_for

    start = time.perf_counter()
    scenario = load_scenario(args.scenario)
    world = build_world_for(scenario)
    setup = time.perf_counter() - start
    result = sweep(scenario, draws=args.draws, world=world, executor=args.executor,
                   workers=args.workers, block_size=args.block_size, store=args.resume,
                   progress=True)
    elapsed = time.perf_counter() - start
    risk = result.risk()
    print(f"scenario        {scenario.name} ({args.scenario.name})")
    print(f"machine         {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} CPUs, Python {platform.python_version()}")
    print(f"draws           {args.draws:,} ({result.outcomes.attrs['method']}, seed "
          f"{result.outcomes.attrs['seed']}), blocks of {args.block_size}")
    print(f"executor        {args.executor}, workers {args.workers or 'default'}")
    print("policy tools    none (critmin.policy not built yet)")
    print(f"wall time       {elapsed:,.1f} s (world build {setup:.1f} s); "
          f"{args.draws / max(elapsed - setup, 1e-9):,.0f} draws/s")
    print(f"peak memory     this process {_peak_mb(resource.RUSAGE_SELF):,.0f} MB; "
          f"largest worker {_peak_mb(resource.RUSAGE_CHILDREN):,.0f} MB")
    keep = risk[risk.outcome.isin(["peak_price_multiple", "shortfall_share"])]
    print(keep.to_string(index=False, float_format=lambda v: f"{v:,.4g}"))


if __name__ == "__main__":
    main()
