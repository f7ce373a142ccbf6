"""Where the time of a simulation goes: CPU seconds per engine step, and a pyinstrument tree.

Usage::

    PYTHONPATH=src .venv/bin/python benchmarks/profile.py [--draws 10000] [--tree]

Runs the benchmark case of ``benchmarks/run.py`` (rare-earth chain, 16 regions, licensing
scenario, 40 quarters, series by bloc) once after a warm-up, with a timer around each engine
step (the compiled kernels and the Python around them), and prints CPU seconds per step,
largest first. ``--tree`` also prints pyinstrument's call tree (``pip install pyinstrument``;
it samples wall time, and shows compiled kernels, which release the GIL, beside the tree).
"""

from __future__ import annotations

import argparse
import functools
import logging
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

SCENARIO = Path(__file__).resolve().parents[1] / "scenarios" / "rare-earth-licensing.yaml"

#: (module, attribute) of every step timed; nested steps are also inside their callers.
STEPS = {
    "critmin.engine.loop": ["_setup", "_market", "_solve"],
    "critmin.engine.period": ["open_period", "close_level", "close_period", "record"],
    "critmin.engine.clearing": ["merge_plan", "compress", "_solve_rows", "_update_states",
                                "_expand", "_settle"],
    "critmin.engine.dynamics:Pipeline": ["step", "add"],
}


def _timed(owner: Any, name: str, spent: Counter[str], calls: Counter[str]) -> None:
    inner: Callable[..., Any] = getattr(owner, name)

    @functools.wraps(inner)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        start = time.process_time()
        try:
            return inner(*args, **kwargs)
        finally:
            spent[name] += time.process_time() - start
            calls[name] += 1

    setattr(owner, name, wrapper)


def main() -> None:
    import importlib

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=10_000)
    parser.add_argument("--tree", action="store_true", help="also print pyinstrument's tree")
    args = parser.parse_args()

    from critmin.engine import simulate
    from critmin.scenario.model import load_scenario
    from critmin.world import build_world

    logging.disable(logging.WARNING)
    scenario = load_scenario(SCENARIO)
    world = build_world(["rare-earths"], threshold=0.0)
    simulate(world, scenario.model_copy(update={"horizon": 2}), draws=args.draws, detail="bloc")
    if args.tree:
        from pyinstrument import Profiler

        profiler = Profiler(interval=0.005)
        profiler.start()
        simulate(world, scenario, draws=args.draws, detail="bloc")
        profiler.stop()
        print(profiler.output_text(unicode=True, color=False))
    spent: Counter[str] = Counter()
    calls: Counter[str] = Counter()
    for where, names in STEPS.items():
        module, _, cls = where.partition(":")
        owner = importlib.import_module(module)
        owner = getattr(owner, cls) if cls else owner
        for name in names:
            _timed(owner, name, spent, calls)
    start, cpu = time.perf_counter(), time.process_time()
    simulate(world, scenario, draws=args.draws, detail="bloc")
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    print(f"{args.draws:,} draws × {scenario.horizon} quarters, baseline + shocked: wall "
          f"{wall:.2f} s, CPU {cpu:.2f} s")
    print(f"{'step':<16} {'CPU s':>7} {'share':>6} {'calls':>6}   (_solve contains the clearing "
          "steps below it)")
    for name, seconds in spent.most_common():
        print(f"{name:<16} {seconds:>7.2f} {seconds / cpu:>6.0%} {calls[name]:>6}")


if __name__ == "__main__":
    main()
