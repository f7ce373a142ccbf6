"""Sweeps: a scenario simulated over many parameter draws, in blocks, on any executor.

:func:`sweep` draws the registry for ``n`` draws (:func:`critmin.analysis.montecarlo.draw_plan`),
simulates each block of draws with :func:`critmin.engine.simulate` (baseline and shock, same
draws; bloc detail to keep memory small) and keeps, per draw, the outcomes that
:func:`critmin.results.summarize` reports as means and medians (:data:`OUTCOMES`).
:func:`evaluate` is the same machinery for parameter arrays given by the caller (sensitivity
designs).

The engine draws its own parameters inside ``simulate`` (``world.draw_parameters``); a block
must run on the draws of the plan instead, so it runs on a copy of the world whose
``draw_parameters`` returns the block's slice (:class:`PresetWorld`). That is the narrowest
interface the engine offers today; a ``parameters=`` argument of ``simulate`` would replace it.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import numpy as np

from critmin.analysis.montecarlo import (
    ALPHA,
    BLOCK_SIZE,
    DrawPlan,
    draw_plan,
    risk_table,
)
from critmin.errors import CritminError
from critmin.world import World

if TYPE_CHECKING:
    import pandas as pd
    import xarray as xr

    from critmin.engine.loop import PolicyHook, Run
    from critmin.run import Executor
    from critmin.run.blocks import Block
    from critmin.scenario.model import Scenario

#: Per-draw outcomes (draw, stage, bloc), measured against the run's own baseline; the same
#: definitions as :func:`critmin.results.summarize` (which reports their mean or median).
OUTCOMES: Final[dict[str, str]] = {
    "peak_price_multiple": "max over time of price ÷ baseline price",
    "cumulative_shortfall_t": "Σ over time of max(0, baseline consumption − consumption), t",
    "shortfall_share": "cumulative shortfall ÷ cumulative baseline consumption",
    "unserved_t": "final demand given up because of the price beyond the baseline's, t",
    "gdp_at_risk_usd": "unserved tonnes × value added per t, USD",
}
#: Default level above which a shortfall counts for P(shortfall > threshold): a reporting
#: choice (5% of the bloc's baseline consumption over the horizon), not a model parameter.
SHORTFALL_THRESHOLD: Final = 0.05
_VERSION: Final = 1  # bump when OUTCOMES change, so stores of older sweeps are not reused

HookFactory = Callable[["Block"], Sequence["PolicyHook"]]


@dataclass(frozen=True)
class PresetWorld(World):
    """A world whose ``draw_parameters`` returns given arrays (one block's draws)."""

    preset: Mapping[str, np.ndarray] = field(default_factory=dict)

    def draw_parameters(self, n_draws: int, seed: int = 0, method: str = "lhs"
                        ) -> dict[str, np.ndarray]:
        sizes = {v.shape[0] for v in self.preset.values()}
        if sizes != {n_draws}:
            raise CritminError(f"preset parameters hold {sorted(sizes)} draws, {n_draws} asked")
        return {k: np.array(v, copy=True) for k, v in self.preset.items()}

    @classmethod
    def of(cls, world: World, parameters: Mapping[str, np.ndarray]) -> PresetWorld:
        base = {f.name: getattr(world, f.name) for f in fields(World) if f.init}
        return cls(**base, preset=dict(parameters))


def draw_outcomes(run: Run) -> dict[str, np.ndarray]:
    """Per-draw outcomes (D, N, B) of a run simulated with ``detail="bloc"``."""
    if run.detail != "bloc":
        raise CritminError("draw_outcomes needs a run simulated with detail='bloc'")
    shocked, base = run.shocked, run.baseline
    peak = (shocked.price / base.price).max(axis=1)
    base_cons = base.consumption.sum(axis=1)
    short = np.maximum(base.consumption - shocked.consumption, 0.0).sum(axis=1)
    share = np.divide(short, base_cons, out=np.zeros_like(short), where=base_cons > 0)
    unserved = np.maximum(shocked.demand_destroyed - base.demand_destroyed, 0.0).sum(axis=1)
    value_added = np.nan_to_num(run.parameters["value_added_per_t"][:, :, :1])
    return {"peak_price_multiple": peak, "cumulative_shortfall_t": short,
            "shortfall_share": share, "unserved_t": unserved,
            "gdp_at_risk_usd": unserved * value_added}


def simulate_block(world: World, scenario: Scenario, hooks: HookFactory | None,
                   block: Block) -> dict[str, np.ndarray]:
    """Simulate one block of draws (its parameter slice in ``block.data``): the task of a
    worker."""
    from critmin.engine import simulate

    run = simulate(PresetWorld.of(world, block.data), scenario, draws=block.size,
                   seed=scenario.seed, hooks=hooks(block) if hooks else (), detail="bloc")
    return draw_outcomes(run)


@dataclass
class SweepResult:
    """Per-draw outcomes of a sweep and what produced them."""

    outcomes: xr.Dataset
    computed_blocks: int = 0
    loaded_blocks: int = 0
    notes: list[str] = field(default_factory=list)

    def risk(self, thresholds: Mapping[str, float] | None = None,
             alpha: float = ALPHA) -> pd.DataFrame:
        """The risk table (:func:`critmin.analysis.montecarlo.risk_table`); by default
        P(shortfall share > :data:`SHORTFALL_THRESHOLD`)."""
        levels = {"shortfall_share": SHORTFALL_THRESHOLD} if thresholds is None else thresholds
        return risk_table(self.outcomes, levels, alpha)


def evaluate(
    world: World,
    scenario: Scenario,
    plan: DrawPlan,
    *,
    hooks: HookFactory | None = None,
    executor: Executor = "local",
    scheduler: str | None = None,
    workers: int | None = None,
    chunks: int | None = None,
    store: Path | str | None = None,
    key_extra: Mapping[str, Any] | None = None,
    progress: bool = False,
) -> SweepResult:
    """Simulate every block of ``plan`` and gather the per-draw outcomes as a Dataset."""
    import xarray as xr

    from critmin import __version__
    from critmin.run import map_chunks
    from critmin.scenario.model import scenario_hash

    description = {"critmin_version": __version__, "scenario": scenario.name,
                   "scenario_hash": scenario_hash(scenario),
                   "draws": plan.n_draws, "seed": plan.seed, "method": plan.method,
                   "block_size": plan.block_size, "data_edition": world.data_edition,
                   "registry_version": world.registry_version, "outcomes_version": _VERSION,
                   **dict(key_extra or {})}
    key = hashlib.sha256(json.dumps(description, sort_keys=True, default=str).encode()
                         ).hexdigest()[:16]
    task = functools.partial(simulate_block, world, scenario, hooks)
    result = map_chunks(task, plan.blocks, executor=executor, scheduler=scheduler,
                        workers=workers, chunks=chunks, store=store, key=key,
                        description=description, progress=progress, label="draws")
    coords = {"draw": np.arange(plan.n_draws), "stage": world.labels,
              "bloc": scenario.bloc_names}  # the engine's blocs: declared ones, then rest
    data = {name: (("draw", "stage", "bloc"), result.arrays[name], {"description": text})
            for name, text in OUTCOMES.items()}
    ds = xr.Dataset(data, coords=coords)
    ds.attrs.update({k: v for k, v in description.items() if not isinstance(v, dict | list)})
    ds.attrs["store_key"] = key
    return SweepResult(ds, result.computed, result.loaded, list(world.notes))


def sweep(
    scenario: Scenario | Path | str,
    draws: int | None = None,
    seed: int | None = None,
    method: str | None = None,
    *,
    world: World | None = None,
    hooks: HookFactory | None = None,
    executor: Executor = "local",
    scheduler: str | None = None,
    workers: int | None = None,
    chunks: int | None = None,
    block_size: int = BLOCK_SIZE,
    store: Path | str | None = None,
    progress: bool = False,
) -> SweepResult:
    """Run ``scenario`` over ``draws`` registry draws (default: the scenario's draws, seed and
    sampling) and return the per-draw outcomes; ``store`` keeps finished blocks for resuming."""
    from critmin.scenario.model import Scenario, load_scenario
    from critmin.world import build_world_for

    sc = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
    n = sc.draws if draws is None else int(draws)
    use_seed = sc.seed if seed is None else int(seed)
    use_method = sc.sampling if method is None else method
    w = world if world is not None else build_world_for(sc)
    plan = draw_plan(w, n, use_seed, use_method, block_size)
    return evaluate(w, sc, plan, hooks=hooks, executor=executor, scheduler=scheduler,
                    workers=workers, chunks=chunks, store=store, progress=progress)
