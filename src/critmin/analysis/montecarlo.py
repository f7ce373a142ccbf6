"""Monte Carlo: draw plans over the registry's ranges, and risk measures over the draws.

A *draw plan* fixes every parameter of every draw before anything runs: the registry is
sampled once for all ``n`` draws (Latin hypercube, scrambled Sobol or plain random via
:meth:`critmin.world.World.draw_parameters`, the same draws ``critmin run`` uses for that seed
and count), and the parameter arrays are sliced into fixed-size blocks
(:func:`critmin.run.blocks.plan_blocks`, each with its own ``SeedSequence`` child stream). A
draw's numbers therefore depend on (seed, n, method) only, never on how blocks are spread over
workers.

Risk measures are pure functions over the leading (draw) axis. Larger is worse for every
outcome here (prices, shortfalls, losses), so CVaR is the mean of the upper tail:
``CVaR_α = VaR_α + E[(X − VaR_α)⁺] / (1 − α)`` (Rockafellar & Uryasev 2002), computed exactly on
the empirical distribution (the atom at the boundary counted by its fraction).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

import numpy as np
from numpy.typing import ArrayLike

from critmin.errors import CritminError
from critmin.run.blocks import Block, plan_blocks

if TYPE_CHECKING:
    import pandas as pd
    import xarray as xr

    from critmin.world import World

#: Draws simulated together in one call of the engine (the unit of work and of resuming).
BLOCK_SIZE: Final = 256
QUANTILES: Final = (0.05, 0.5, 0.95)
ALPHA: Final = 0.95

# -- risk measures -----------------------------------------------------------------------------


def _draws(x: ArrayLike) -> np.ndarray:
    a = np.asarray(x, dtype=float)
    if a.ndim == 0 or a.shape[0] == 0:
        raise CritminError("risk measures need at least one draw")
    return a


def expected(x: ArrayLike) -> np.ndarray:
    """Mean over draws (axis 0)."""
    return _draws(x).mean(axis=0)


def quantile(x: ArrayLike, q: float | Sequence[float]) -> np.ndarray:
    """Quantiles over draws (linear interpolation, numpy's default)."""
    return np.quantile(_draws(x), q, axis=0)


def cvar(x: ArrayLike, alpha: float = ALPHA) -> np.ndarray:
    """Conditional value at risk of the upper tail: the mean of the worst ``1 − alpha`` share
    of draws, with the boundary draw counted by its fraction (exact for equal weights)."""
    if not 0.0 <= alpha < 1.0:
        raise CritminError(f"alpha must be in [0, 1) (got {alpha})")
    a = np.sort(_draws(x), axis=0)[::-1]  # worst first
    n = a.shape[0]
    mass = round((1.0 - alpha) * n, 9)  # tail size in draws (rounding noise removed)
    whole = int(np.floor(mass))
    frac = mass - whole
    weights = np.zeros(n)
    weights[:whole] = 1.0
    if whole < n:
        weights[whole] = frac
    return np.tensordot(weights, a, axes=(0, 0)) / mass


def prob_above(x: ArrayLike, threshold: float) -> np.ndarray:
    """Share of draws strictly above ``threshold``."""
    return (_draws(x) > threshold).mean(axis=0)


def risk_table(
    outcomes: xr.Dataset,
    thresholds: Mapping[str, float] | None = None,
    alpha: float = ALPHA,
    quantiles: Sequence[float] = QUANTILES,
) -> pd.DataFrame:
    """One row per (outcome, stage, bloc): mean, quantiles, CVaR and P(outcome > threshold).

    ``outcomes`` has variables over (draw, stage, bloc); ``thresholds`` maps an outcome to the
    level whose exceedance probability is wanted (NaN where none is given).
    """
    import pandas as pd

    thresholds = dict(thresholds or {})
    unknown = sorted(set(thresholds) - set(outcomes.data_vars))
    if unknown:
        raise CritminError(f"threshold for unknown outcome {unknown[0]!r}; allowed: "
                           f"{', '.join(map(str, outcomes.data_vars))}")
    frames = []
    for name, var in outcomes.data_vars.items():
        values = var.transpose("draw", ...).values
        columns: dict[str, np.ndarray] = {"mean": expected(values)}
        qs = quantile(values, list(quantiles))
        for q, v in zip(quantiles, qs, strict=True):
            columns[f"p{round(q * 100):02d}"] = v
        columns[f"cvar{round(alpha * 100)}"] = cvar(values, alpha)
        level = thresholds.get(str(name))
        columns["threshold"] = np.full(values.shape[1:], np.nan if level is None else level)
        columns["prob_above"] = (prob_above(values, level) if level is not None
                                 else np.full(values.shape[1:], np.nan))
        index = pd.MultiIndex.from_product([var[d].values for d in var.dims[1:]],
                                           names=list(var.dims[1:]))
        frame = pd.DataFrame({k: v.ravel() for k, v in columns.items()}, index=index)
        frames.append(frame.reset_index().assign(outcome=str(name)))
    out = pd.concat(frames, ignore_index=True)
    return out[["outcome", *[c for c in out.columns if c != "outcome"]]]


# -- draw plans --------------------------------------------------------------------------------


@dataclass(frozen=True)
class DrawPlan:
    """Every draw's parameter arrays (name → (D, N, R)) and the blocks that carry slices."""

    n_draws: int
    seed: int
    method: str
    block_size: int
    blocks: list[Block]


def draw_plan(world: World, n_draws: int, seed: int, method: str = "lhs",
              block_size: int = BLOCK_SIZE) -> DrawPlan:
    """Sample the registry once for ``n_draws`` and cut the draws into blocks."""
    if n_draws < 1:
        raise CritminError(f"--draws must be at least 1 (got {n_draws})")
    parameters = world.draw_parameters(n_draws, seed, method)
    return parameter_plan(parameters, seed, block_size, method)


def parameter_plan(parameters: Mapping[str, np.ndarray], seed: int,
                   block_size: int = BLOCK_SIZE, method: str = "given") -> DrawPlan:
    """Blocks over given parameter arrays (e.g. a sensitivity design's samples)."""
    sizes = {v.shape[0] for v in parameters.values()}
    if len(sizes) != 1:
        raise CritminError(f"parameter arrays disagree on the number of draws: {sorted(sizes)}")
    (n,) = sizes
    blocks = [b.with_data({k: np.ascontiguousarray(v[b.start:b.stop])
                           for k, v in parameters.items()})
              for b in plan_blocks(n, block_size, seed)]
    return DrawPlan(n, seed, method, block_size, blocks)
