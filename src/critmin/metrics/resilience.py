"""Resilience of a supply chain after a disruption, in the terms of Sprecher et al. (2017).

Sprecher B., Daigo I., Spekkink W., Vos M., Kleijn R., Murakami S., Kramer G.J. (2017),
*Framework for resilience in material supply chains, with a case study from the 2010 rare earth
crisis*, Environ. Sci. Technol. 51(7):3860–3870, doi:10.1021/acs.est.6b05751. They read the
2010 rare-earth crisis through the speed of the mechanisms that absorb a disruption:
substitution (up to ~10% of demand per year), new primary supply outside the disrupted
supplier (~4% of the market per year), the lag before a response starts, the time to recover
(~2 years), and the supply lost on the way.

Every function takes plain series, simulated or historical, with time on ``axis`` (the last
axis by default) and any leading axes (draws, stages, blocs) carried through, so the same code
scores a Monte Carlo run and a table of yearly statistics. Rates are per year: ``periods_per_year``
says how many steps a year has (4 for quarters, 12 for months, 1 for yearly data).
:func:`run_resilience` reads all five from a simulated run for one stage and bloc.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import ArrayLike

if TYPE_CHECKING:
    import pandas as pd
    import xarray as xr

Array = np.ndarray


def _series(x: ArrayLike, axis: int) -> Array:
    """Float array with time moved to the last axis."""
    return np.moveaxis(np.asarray(x, dtype=float), axis, -1)


def _pair(x: ArrayLike, reference: ArrayLike, axis: int) -> tuple[Array, Array]:
    """A series and its reference broadcast together (a scalar or a shorter array of the
    trailing axes is fine), time moved to the last axis."""
    a, b = np.broadcast_arrays(np.asarray(x, dtype=float), np.asarray(reference, dtype=float))
    return np.moveaxis(a, axis, -1), np.moveaxis(b, axis, -1)


def _yearly_rise(x: Array, periods_per_year: int) -> Array:
    """Largest rise over any one-year window (``x[t + ppy] − x[t]``); for a series shorter than
    a year, the rise from first to last value scaled to a year."""
    if periods_per_year < 1:
        raise ValueError(f"periods_per_year must be at least 1 (got {periods_per_year})")
    n = x.shape[-1]
    if n < 2:
        return np.full(x.shape[:-1], np.nan)
    if n > periods_per_year:
        return (x[..., periods_per_year:] - x[..., :-periods_per_year]).max(axis=-1)
    return (x[..., -1] - x[..., 0]) * periods_per_year / (n - 1)


def substitution_rate(substituted_share: ArrayLike, periods_per_year: int,
                      axis: int = -1) -> Array:
    """Fastest substitution: the largest one-year rise of the share of demand substituted or
    thrifted away (share points of demand per year; Sprecher et al.: up to ~0.10 after 2010)."""
    return _yearly_rise(_series(substituted_share, axis), periods_per_year)


def ramp_rate(alternative_supply: ArrayLike, market: ArrayLike, periods_per_year: int,
              axis: int = -1) -> Array:
    """Fastest ramp of alternative supply: the largest one-year rise of supply from outside the
    disrupted supplier, as a share of the market at the start of that year (Sprecher et al.:
    non-China primary supply ~0.04 of the market per year after 2010).

    ``alternative_supply`` and ``market`` are flows in the same unit per period (or capacities).
    """
    alt, total = np.asarray(alternative_supply, float), np.asarray(market, float)
    if alt.shape != total.shape:
        raise ValueError(f"alternative_supply {alt.shape} and market {total.shape} differ")
    alt, total = _series(alt, axis), _series(total, axis)
    n = alt.shape[-1]
    if n < 2:
        return np.full(alt.shape[:-1], np.nan)
    k = min(periods_per_year, n - 1)
    scale = periods_per_year / k  # a series shorter than a year: its whole span, per year
    base = total[..., :-k]
    with np.errstate(divide="ignore", invalid="ignore"):
        rise = np.where(base > 0, (alt[..., k:] - alt[..., :-k]) / np.where(base > 0, base, 1.0),
                        np.nan)
    out = np.nanmax(np.where(np.isnan(rise), -np.inf, rise), axis=-1) * scale
    return np.where(np.isfinite(out), out, np.nan)


def response_lag(series: ArrayLike, reference: ArrayLike, start: int, threshold: float,
                 axis: int = -1) -> Array:
    """Periods from ``start`` (the disruption) to the first period at or after it in which
    ``series`` exceeds ``reference`` by more than ``threshold`` × ``|reference|`` (a response has
    begun: new capacity, substitution, a price move). NaN if it never does."""
    x, ref = _pair(series, reference, axis)
    if not 0 <= start < x.shape[-1]:
        raise ValueError(f"start {start} is outside the series (0…{x.shape[-1] - 1})")
    above = (x - ref) > threshold * np.abs(ref)
    above = above[..., start:]
    first = np.argmax(above, axis=-1).astype(float)
    return np.where(above.any(axis=-1), first, np.nan)


def recovery_time(series: ArrayLike, reference: ArrayLike, start: int, tolerance: float,
                  axis: int = -1) -> Array:
    """Periods from ``start`` until ``series`` is back within ``tolerance`` × ``|reference|`` of
    ``reference`` for good (it may leave and return in between). 0 if it never left; NaN if it
    is still away at the end of the series."""
    x, ref = _pair(series, reference, axis)
    if not 0 <= start < x.shape[-1]:
        raise ValueError(f"start {start} is outside the series (0…{x.shape[-1] - 1})")
    away = (np.abs(x - ref) > tolerance * np.abs(ref))[..., start:]
    n = away.shape[-1]
    last = n - 1 - np.argmax(away[..., ::-1], axis=-1)  # last period still away
    out = (last + 1).astype(float)
    out = np.where(away.any(axis=-1), out, 0.0)
    return np.where(away[..., -1], np.nan, out)


def cumulative_shortfall(actual: ArrayLike, reference: ArrayLike, axis: int = -1) -> Array:
    """Supply lost on the way: Σ max(0, reference − actual) over time (in the series' unit ×
    periods; e.g. t per period summed gives t)."""
    x, ref = _pair(actual, reference, axis)
    return np.maximum(ref - x, 0.0).sum(axis=-1)


def run_resilience(ds: xr.Dataset, stage: str, bloc: str, start: int | str, *,
                   tolerance: float = 0.05, threshold: float = 0.01) -> pd.DataFrame:
    """The five measures for one stage and bloc of a run (``critmin.results.to_dataset``, or the
    ``dataset.nc`` that ``critmin run`` writes), one row per draw, from period ``start`` (an
    index or a label) on:

    * ``substitution_rate``: fastest yearly rise of the bloc's substituted share of demand
      (regions weighted by baseline final consumption);
    * ``ramp_rate``: fastest yearly rise of the bloc's output as a share of world output: read it
      for the blocs that replace the disrupted supplier;
    * ``response_lag``: periods until the bloc's output exceeds the baseline's by ``threshold``;
    * ``recovery_time``: periods until the bloc's price is back within ``tolerance`` of the
      baseline price for good;
    * ``cumulative_shortfall``: Σ max(0, baseline consumption − consumption), t.
    """
    import pandas as pd

    labels = [str(t) for t in ds.time.values]
    first = labels.index(start) if isinstance(start, str) else int(start)
    ppy = {"quarter": 4, "month": 12}[str(ds.attrs.get("time_step", "quarter"))]
    by_region = "region" in ds.dims

    def bloc_series(name: str) -> Array:
        values = ds[name].sel(stage=stage)
        if by_region:
            values = values.where(ds.region_bloc == bloc, 0.0).sum("region")
        else:
            values = values.sel(bloc=bloc)
        return values.transpose("draw", "time").values

    output, base_output = bloc_series("production"), bloc_series("baseline_production")
    world = ds.production.sel(stage=stage).sum("region" if by_region else "bloc")
    if by_region:
        weight = ds.baseline_final_consumption.sel(stage=stage).where(ds.region_bloc == bloc, 0.0)
        substituted = (ds.substitution.sel(stage=stage) * weight).sum("region")
        total = weight.sum("region")
    else:  # bloc detail records substituted tonnes
        substituted = ds.substitution.sel(stage=stage, bloc=bloc)
        total = ds.baseline_final_consumption.sel(stage=stage, bloc=bloc)
    share = (substituted / total.where(total > 0)).fillna(0.0).transpose("draw", "time").values
    price = ds.price.sel(stage=stage, bloc=bloc).transpose("draw", "time").values
    base_price = ds.baseline_price.sel(stage=stage, bloc=bloc).transpose("draw", "time").values
    return pd.DataFrame({
        "substitution_rate": substitution_rate(share[:, first:], ppy, axis=1),
        "ramp_rate": ramp_rate(output[:, first:], world.transpose("draw", "time").values[:, first:],
                               ppy, axis=1),
        "response_lag": response_lag(output, base_output, first, threshold, axis=1),
        "recovery_time": recovery_time(price, base_price, first, tolerance, axis=1),
        "cumulative_shortfall": cumulative_shortfall(bloc_series("consumption"),
                                                     bloc_series("baseline_consumption"), axis=1),
    }).rename_axis("draw")
