"""Throughput of the market simulator and the speed users feel (issue 9); prints figures.

Usage::

    PYTHONPATH=src .venv/bin/python benchmarks/run.py                  # every section, twice
    PYTHONPATH=src .venv/bin/python benchmarks/run.py --repeat 3 --only throughput reference
    PYTHONPATH=src .venv/bin/python benchmarks/run.py --json out/bench.json

Not a timed test: run it by hand and record the figures in ``benchmarks/RESULTS.md``.

The case: the rare-earth chain (mine → separated oxides → NdFeB magnets) on the shipped curated
data with every producing country as its own region (threshold 0: 16 regions), the shipped
licensing scenario (``scenarios/rare-earth-licensing.yaml``, 40 quarters, blocs ``china`` and
``rest``). One ``simulate`` call runs the baseline **and** the shocked scenario, i.e. 2 × draws ×
periods draw-periods, each clearing all three stages; throughput is per draw-period of that
call. Every figure comes from a fresh process (after one warm-up call that loads the compiled
kernels), so peak memory is that process's peak resident set; each is measured ``--repeat``
times and reported as the minimum (the machine is shared: other work only ever slows a run
down) with the spread, next to the load average at the time.

Sections:

* ``throughput``: 1, 100, 1,000 and 10,000 draws × 40 quarters (series by region up to 1,000
  draws, by bloc at 10,000 where region detail alone would need ~1.8 GB per run);
* ``reference``: the plain scalar scipy solver (``solver="reference"``) on a sample of draws,
  the vectorised engine on the same sample, their agreement (required: 1e-6 relative on every
  price; flows to 1e-6 of the market), and the throughput ratio against the 10,000-draw figure
  of this same invocation;
* ``regions``: the rare-earth chain at aggregation thresholds giving 4 to 16 regions, and all
  seven chains (13 stages) at thresholds giving 9 to 39 regions (every country with activity
  in any chain): cost per draw · stage · region · period shows how cost grows with regions;
* ``horizon``: 40 and 80 quarters at 1,000 and 10,000 draws;
* ``cli``: wall time of ``critmin --help`` (start-up) and ``critmin risk --format json`` (all
  commodities), each in a fresh process.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SCENARIO = ROOT / "scenarios" / "rare-earth-licensing.yaml"
SECTIONS = ("throughput", "reference", "regions", "horizon", "cli")
DRAWS = (1, 100, 1000, 10_000)
RE_THRESHOLDS = (0.1, 0.05, 0.01, 0.0)
ALL_THRESHOLDS = (0.1, 0.05, 0.01, 0.0)


# -- one measurement, in a child process ---------------------------------------------------------


def _rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _load() -> float:
    return os.getloadavg()[0]


def simulate_case(draws: int, periods: int, chains: str, threshold: float,
                  detail: str) -> dict[str, Any]:
    """Time one ``simulate`` call in this process (after a warm-up) and report memory."""
    from critmin.engine import simulate
    from critmin.engine.chains import CHAINS
    from critmin.scenario.model import load_scenario
    from critmin.world import build_world

    logging.disable(logging.WARNING)  # rationing notes from extreme draws, not the point here
    scenario = load_scenario(SCENARIO).model_copy(update={"horizon": periods})
    world = build_world(["rare-earths"] if chains == "rare-earths" else list(CHAINS),
                        threshold=threshold)
    # warm-up with the same array shapes over two quarters: loads the compiled kernels (a
    # single draw gives arrays numba types differently, so it warms up with one draw too)
    start = time.perf_counter()
    simulate(world, scenario.model_copy(update={"horizon": 2}), draws=draws, detail=detail)
    warm = time.perf_counter() - start
    before, load = _rss_mb(), _load()
    start, cpu = time.perf_counter(), time.process_time()
    run = simulate(world, scenario, draws=draws, detail=detail)
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    balance = max(float(run.shocked.balance_error.max()), float(run.baseline.balance_error.max()))
    return {"draws": draws, "periods": periods, "chains": chains, "threshold": threshold,
            "regions": len(world.regions), "stages": world.n_nodes, "detail": detail,
            "wall": wall, "cpu": cpu, "warm_up": warm, "peak_mb": peak, "rise_mb": peak - before,
            "balance_error": balance, "load": load, "load_after": _load()}


def reference_case(draws: int, periods: int) -> dict[str, Any]:
    """The scalar reference and the vectorised engine on the same draws: times, agreement."""
    import numpy as np

    from critmin.engine import simulate
    from critmin.scenario.model import load_scenario
    from critmin.world import build_world

    logging.disable(logging.WARNING)
    scenario = load_scenario(SCENARIO).model_copy(update={"horizon": periods})
    world = build_world(["rare-earths"], threshold=0.0)
    simulate(world, scenario, draws=2)  # warm-up (compiled kernels, scipy imports)
    load = _load()
    start = time.perf_counter()
    slow = simulate(world, scenario, draws=draws, solver="reference")
    ref_wall = time.perf_counter() - start
    start = time.perf_counter()
    fast = simulate(world, scenario, draws=draws)
    fast_wall = time.perf_counter() - start
    price, flow = 0.0, 0.0
    for a, b in ((fast.shocked, slow.shocked), (fast.baseline, slow.baseline)):
        price = max(price, float(np.max(np.abs(a.price / b.price - 1.0))))
        market = np.maximum(b.production.sum(axis=-1), 1e-300)[..., None]  # (D, T, N, 1)
        flow = max(flow, float(np.max(np.abs(a.flow - b.flow) / market)))
    return {"draws": draws, "periods": periods, "regions": len(world.regions),
            "reference_wall": ref_wall, "vectorised_wall": fast_wall,
            "price_rel_diff": price, "flow_rel_diff": flow, "load": load,
            "load_after": _load()}


#: The package source the cases run (``--src``: e.g. an older checkout, for before/after).
SOURCE = [ROOT / "src"]


def _child(kind: str, **kwargs: Any) -> dict[str, Any]:
    """Run one case in a fresh interpreter; its figures as a dict."""
    env = {**os.environ, "PYTHONPATH": str(SOURCE[0])}
    out = subprocess.run([sys.executable, __file__, "--child", json.dumps([kind, kwargs])],
                         capture_output=True, text=True, env=env, check=False)
    if out.returncode:
        raise SystemExit(f"benchmark case {kind} {kwargs} failed:\n{out.stderr[-2000:]}")
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def _repeat(times: int, kind: str, **kwargs: Any) -> dict[str, Any]:
    """The case ``times`` times: the fastest run's figures plus the spread of wall times."""
    runs = [_child(kind, **kwargs) for _ in range(times)]
    key = "wall" if "wall" in runs[0] else "reference_wall"
    best = dict(min(runs, key=lambda r: r[key]))
    best["walls"] = [r[key] for r in runs]
    best["loads"] = [r["load"] for r in runs]
    return best


# -- sections ------------------------------------------------------------------------------------


def _rate(c: dict[str, Any]) -> float:
    return 2 * c["draws"] * c["periods"] / c["wall"]


def _spread(c: dict[str, Any]) -> str:
    walls = c["walls"]
    return f"{min(walls):.2f}–{max(walls):.2f}" if len(walls) > 1 else f"{walls[0]:.2f}"


def _loads(c: dict[str, Any]) -> str:
    return "/".join(f"{x:.1f}" for x in c["loads"])


def throughput(repeat: int, draws: tuple[int, ...]) -> list[dict[str, Any]]:
    print("\n## Throughput: rare-earth chain, 16 regions, 40 quarters (simulate = baseline + "
          "shocked)")
    print(f"{'draws':>7} {'detail':>7} {'wall s':>8} {'spread s':>12} {'cpu s':>7} "
          f"{'s per run':>9} {'draw-periods/s':>15} {'peak MB':>8} {'rise MB':>8} "
          f"{'balance':>8} {'load':>10}")
    rows = []
    for n in draws:
        c = _repeat(repeat, "simulate", draws=n, periods=40, chains="rare-earths",
                    threshold=0.0, detail="region" if n <= 1000 else "bloc")
        rows.append(c)
        print(f"{n:>7,} {c['detail']:>7} {c['wall']:>8.2f} {_spread(c):>12} {c['cpu']:>7.2f} "
              f"{c['wall'] / 2:>9.2f} {_rate(c):>15,.0f} {c['peak_mb']:>8.0f} "
              f"{c['rise_mb']:>8.0f} {c['balance_error']:>8.1e} {_loads(c):>10}")
    return rows


def reference(repeat: int, draws: int, periods: int,
              vectorised: dict[str, Any] | None) -> dict[str, Any]:
    print(f"\n## Scalar reference: {draws} draws × {periods} quarters, same draws in both "
          "solvers")
    c = _repeat(repeat, "reference", draws=draws, periods=periods)
    n = 2 * draws * periods
    ref_rate = n / c["reference_wall"]
    same_rate = n / c["vectorised_wall"]
    print(f"reference  {c['reference_wall']:.2f} s (spread {_spread(c)}) = {ref_rate:,.2f} "
          f"draw-periods/s; load {_loads(c)}")
    print(f"vectorised on the same sample {c['vectorised_wall']:.3f} s = {same_rate:,.0f} "
          f"draw-periods/s (ratio {same_rate / ref_rate:,.0f}×, fixed per-period costs dominate)")
    if vectorised is not None:
        big = _rate(vectorised)
        c["ratio"] = big / ref_rate
        print(f"vectorised at {vectorised['draws']:,} draws (this invocation) {big:,.0f} "
              f"draw-periods/s: ratio {c['ratio']:,.0f}× the reference per draw-period")
    ok = c["price_rel_diff"] < 1e-6 and c["flow_rel_diff"] < 1e-6
    print(f"agreement on the shared draws: largest relative price difference "
          f"{c['price_rel_diff']:.2e}, flows {c['flow_rel_diff']:.2e} of the market "
          f"({'ok' if ok else 'FAILED'} at 1e-6)")
    c["ok"] = ok
    return c


def regions(repeat: int, draws: int) -> list[dict[str, Any]]:
    print(f"\n## Regions: {draws:,} draws × 40 quarters, series by bloc")
    print(f"{'chains':>12} {'threshold':>9} {'regions':>7} {'stages':>6} {'wall s':>8} "
          f"{'cpu s':>7} {'draw-periods/s':>15} {'ns per cell':>11} {'load':>10}")
    rows = []
    for chains, thresholds in (("rare-earths", RE_THRESHOLDS), ("all", ALL_THRESHOLDS)):
        for th in thresholds:
            c = _repeat(repeat, "simulate", draws=draws, periods=40, chains=chains,
                        threshold=th, detail="bloc")
            cells = 2 * draws * 40 * c["stages"] * c["regions"]
            c["ns_per_cell"] = c["wall"] / cells * 1e9
            rows.append(c)
            print(f"{chains:>12} {th:>9} {c['regions']:>7} {c['stages']:>6} {c['wall']:>8.2f} "
                  f"{c['cpu']:>7.2f} {_rate(c):>15,.0f} {c['ns_per_cell']:>11.0f} "
                  f"{_loads(c):>10}")
    return rows


def horizon(repeat: int, draws: tuple[int, ...]) -> list[dict[str, Any]]:
    print("\n## Horizon: rare-earth chain, 16 regions, series by bloc")
    print(f"{'draws':>7} {'quarters':>8} {'wall s':>8} {'spread s':>12} {'cpu s':>7} "
          f"{'draw-periods/s':>15} {'peak MB':>8} {'load':>10}")
    rows = []
    for n in draws:
        for periods in (40, 80):
            c = _repeat(repeat, "simulate", draws=n, periods=periods, chains="rare-earths",
                        threshold=0.0, detail="bloc")
            rows.append(c)
            print(f"{n:>7,} {periods:>8} {c['wall']:>8.2f} {_spread(c):>12} {c['cpu']:>7.2f} "
                  f"{_rate(c):>15,.0f} {c['peak_mb']:>8.0f} {_loads(c):>10}")
    return rows


def _command_times(args: list[str], times: int) -> dict[str, Any]:
    walls, loads = [], []
    for _ in range(times):
        loads.append(_load())
        start = time.perf_counter()
        subprocess.run(args, capture_output=True, check=True)
        walls.append(time.perf_counter() - start)
    return {"wall": min(walls), "walls": walls, "loads": loads}


def cli(repeat: int) -> dict[str, Any]:
    exe = shutil.which("critmin", path=str(Path(sys.executable).parent)) or shutil.which(
        "critmin")
    base = [exe] if exe else [sys.executable, "-m", "critmin"]
    print(f"\n## Command line ({' '.join(Path(b).name for b in base)}), fresh process each time")
    out = {"help": _command_times([*base, "--help"], max(3, repeat)),
           "risk": _command_times([*base, "risk", "--format", "json"], max(2, repeat))}
    for name, label, target in (("help", "critmin --help", 0.5),
                                ("risk", "critmin risk --format json (all commodities)", 2.0)):
        c = out[name]
        print(f"{label:<46} min {c['wall']:.2f} s (runs {', '.join(f'{w:.2f}' for w in c['walls'])}"
              f"; load {_loads(c)}); target < {target} s")
    return out


def machine() -> dict[str, Any]:
    import numba
    import numpy as np

    model = "unknown"
    with open("/proc/cpuinfo") as fh:
        for line in fh:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as fh:
        ram_kb = int(next(line for line in fh if line.startswith("MemTotal")).split()[1])
    return {"cpu": model, "nproc": os.cpu_count(), "ram_gb": round(ram_kb / 2**20, 1),
            "python": platform.python_version(), "numpy": np.__version__,
            "numba": numba.__version__, "load": _load(), "source": str(SOURCE[0])}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", choices=SECTIONS, default=list(SECTIONS))
    parser.add_argument("--repeat", type=int, default=2, help="fresh-process runs per figure")
    parser.add_argument("--draws", type=int, nargs="+", default=list(DRAWS))
    parser.add_argument("--reference-draws", type=int, default=2)
    parser.add_argument("--reference-periods", type=int, default=8)
    parser.add_argument("--region-draws", type=int, default=1000)
    parser.add_argument("--horizon-draws", type=int, nargs="+", default=[1000, 10_000])
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--src", type=Path, default=ROOT / "src",
                        help="package source to measure (an older checkout, to compare)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, kwargs = json.loads(args.child)
        case = simulate_case if kind == "simulate" else reference_case
        print(json.dumps(case(**kwargs)))
        return

    SOURCE[0] = args.src.resolve()
    info = machine()
    print(f"machine: {info['cpu']}, {info['nproc']} cores, {info['ram_gb']} GB RAM; Python "
          f"{info['python']}, numpy {info['numpy']}, numba {info['numba']}; load average "
          f"{info['load']:.2f} (shared machine: figures are the fastest of {args.repeat}); "
          f"source {info['source']}")
    results: dict[str, Any] = {"machine": info}
    big = None
    if "throughput" in args.only:
        results["throughput"] = throughput(args.repeat, tuple(args.draws))
        big = max(results["throughput"], key=lambda c: c["draws"])
    if "reference" in args.only:
        results["reference"] = reference(args.repeat, args.reference_draws,
                                         args.reference_periods, big)
    if "regions" in args.only:
        results["regions"] = regions(args.repeat, args.region_draws)
    if "horizon" in args.only:
        results["horizon"] = horizon(args.repeat, tuple(args.horizon_draws))
    if "cli" in args.only:
        results["cli"] = cli(args.repeat)
    results["load_at_end"] = _load()
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=1))
    if "reference" in results and not results["reference"]["ok"]:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
