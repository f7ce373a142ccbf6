"""Results: the simulated series as an xarray Dataset, summaries against the baseline, files.

:func:`to_dataset` labels a :class:`critmin.engine.loop.Run` (draw × time × stage × region or
bloc, flows bloc to bloc) and keeps the baseline beside the shocked run; :func:`summarize`
measures each bloc and stage against that baseline (peak price multiple and its period, price
gap to the cheapest bloc, cumulative shortfall, shortfall share, recovery time, GDP at risk,
downstream output at risk; :func:`shortfall` is the per-period series of the shortfall, all
of it or the scarce part only); :func:`write` puts NetCDF and tidy Parquet tables into a folder
atomically (a temporary folder renamed at the end, so a failed run leaves nothing that looks
complete). Every dataset records the data edition, the registry version, the scenario hash and
the seed.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from critmin.errors import CritminError

if TYPE_CHECKING:
    from collections.abc import Mapping

    import pandas as pd
    import xarray as xr

    from critmin.engine.loop import Run

#: Per-period quantities recorded by the engine (t per period unless noted).
QUANTITIES = {
    "production": "t per period",
    "consumption": "t per period (final users and processors)",
    "final_consumption": "t per period",
    "demand_destroyed": "t per period of final demand given up because of the price",
    "unmet_demand": "t per period of final demand at reference prices not served",
    "inventory": "t (commercial stocks, end of period)",
    "inventory_change": "t per period (stock build, negative = draw)",
    "capacity": "t per year (active, after outages)",
    "input_stock": "t of upstream input held by processors",
    "substitution": "share of final demand substituted (region) / t substituted (bloc)",
    "extra_supply": "t per period added by policy tools",
    "extra_demand": "t per period bought by policy tools",
}
BASELINE_KEPT = ("production", "consumption", "final_consumption", "demand_destroyed",
                 "inventory")
#: Share of the baseline within which consumption counts as recovered (a reporting choice).
RECOVERY_TOLERANCE = 0.01


def to_dataset(run: Run) -> xr.Dataset:
    """The run as a labelled Dataset (shocked series, ``baseline_*`` series, attrs)."""
    import xarray as xr

    from critmin import __version__
    from critmin.engine import network
    from critmin.scenario.model import scenario_hash

    world, blocs = run.world, run.blocs
    where = "region" if run.detail == "region" else "bloc"
    coords: dict[str, Any] = {
        "draw": np.arange(run.n_draws),
        "time": run.labels,
        "stage": world.labels,
        "bloc": list(blocs.names),
        "from_bloc": list(blocs.names),
        "to_bloc": list(blocs.names),
        "commodity": ("stage", [n.commodity for n in world.nodes]),
        "stage_name": ("stage", [n.stage for n in world.nodes]),
        "price_ref": ("stage", world.price_ref),
    }
    if where == "region":
        coords["region"] = list(world.regions)
        coords["region_bloc"] = ("region", [blocs.names[b] for b in blocs.bloc_of])
    dims = ("draw", "time", "stage", where)
    data: dict[str, Any] = {}
    for name, unit in QUANTITIES.items():
        data[name] = (dims, np.asarray(getattr(run.shocked, name)), {"units": unit})
    for name in BASELINE_KEPT:
        data[f"baseline_{name}"] = (dims, np.asarray(getattr(run.baseline, name)),
                                    {"units": QUANTITIES[name]})
    price_dims = ("draw", "time", "stage", "bloc")
    data["price"] = (price_dims, np.asarray(run.shocked.price), {"units": "USD/t"})
    data["baseline_price"] = (price_dims, np.asarray(run.baseline.price), {"units": "USD/t"})
    pi, pj = network.pairs(blocs.n_blocs)
    flow_dims = ("draw", "time", "stage", "from_bloc", "to_bloc")
    for prefix, traj in (("", run.shocked), ("baseline_", run.baseline)):
        g = np.asarray(traj.flow)
        flows = np.zeros((*g.shape[:3], blocs.n_blocs, blocs.n_blocs))
        flows[..., pi, pj] = np.maximum(g, 0.0)
        flows[..., pj, pi] = np.maximum(-g, 0.0)
        data[f"{prefix}flow"] = (flow_dims, flows, {"units": "t per period"})
    data["balance_error"] = (("draw", "time", "stage"), np.asarray(run.shocked.balance_error),
                             {"units": "largest relative bloc imbalance"})
    for prefix, traj in (("", run.shocked), ("baseline_", run.baseline)):
        data[f"{prefix}hhi"] = (("draw", "time", "stage"), _hhi(np.asarray(traj.production)),
                                {"units": f"Herfindahl index of production shares by {where}, "
                                          "0–1"})
    ds = xr.Dataset(data, coords=coords)
    ds.attrs.update({
        "title": f"critmin run: {run.scenario.name}",
        "scenario": run.scenario.name,
        "scenario_hash": scenario_hash(run.scenario),
        "seed": run.seed,
        "draws": run.n_draws,
        "sampling": run.scenario.sampling,
        "time_step": run.scenario.time_step,
        "detail": run.detail,
        "data_edition": world.data_edition,
        "registry_version": world.registry_version,
        "critmin_version": __version__,
        "notes": "\n".join(run.notes),
        "price_sources": "\n".join(f"{lab}: {src}" for lab, src in
                                   zip(world.labels, world.price_source, strict=True)),
    })
    ds["value_added_per_t"] = (("draw", "stage"), run.parameters["value_added_per_t"][:, :, 0],
                               {"units": "USD per t of shortfall"})
    if "choke_price_multiple" in run.parameters:  # the bound no price multiple of p0 exceeds
        choke = np.fmax.reduce(run.parameters["choke_price_multiple"], axis=2)  # NaN: none
        ds["choke_price_multiple"] = (
            ("draw", "stage"), choke,
            {"units": "multiple of price_ref at and above which nothing is bought (NaN: none)"})
    ds["downstream_intensity"] = (("draw", "stage"),
                                  run.parameters["downstream_intensity"][:, :, 0],
                                  {"units": "t per downstream unit"})
    ds.attrs["downstream_units"] = json.dumps(_downstream_units(run))
    return ds


def _hhi(production: np.ndarray) -> np.ndarray:
    total = production.sum(axis=-1, keepdims=True)
    shares = np.divide(production, total, out=np.zeros_like(production), where=total > 0)
    return (shares**2).sum(axis=-1)


def _downstream_units(run: Run) -> dict[str, str]:
    reg = run.world.registry
    out: dict[str, str] = {}
    if reg is None:
        return out
    from critmin.errors import UnknownNameError

    for n in run.world.nodes:
        try:
            unit = str(reg.row("downstream_intensity", n.commodity, n.stage).unit)
        except UnknownNameError:
            continue
        out[n.label] = unit.removeprefix("t per ").strip()
    return out


def summarize(ds: xr.Dataset, tolerance: float = RECOVERY_TOLERANCE) -> pd.DataFrame:
    """One row per (stage, bloc): the shock measured against the baseline of the same run.

    Per draw: ``peak_price_multiple`` = max over time of price ÷ baseline price, its period,
    ``trough_price_multiple`` = min over time of the same ratio (gluts),
    ``price_gap`` = largest premium over the cheapest bloc (0.5 = 50%),
    ``cumulative_shortfall_t`` = Σ max(0, baseline consumption − consumption) (all purchases
    at the stage, substitution included), ``shortfall_share`` of baseline consumption,
    ``scarcity_shortfall_t`` = the part of it in periods whose price is at least the
    baseline's (buyers got less though they paid as much or more; buying less at a lower price
    means a smaller market — lost exports, a downstream stage making less, substitutes already
    adopted — a loss of sales rather than a shortage: after the 2025 rare-earth licences, most
    of China's mine and separated "shortfall" is of that kind),
    ``unserved_t`` = final demand given up because of the price beyond the baseline's (the part
    of the shortfall that is lost, not substituted), ``recovery_periods`` from the first period
    whose unserved demand exceeds ``tolerance`` of baseline consumption to the first period from
    which it stays below (NaN if it never does), ``gdp_at_risk_usd`` = unserved × value added
    per t, ``downstream_output_at_risk`` = unserved ÷ intensity (units in ``downstream_unit``,
    e.g. cars not built). Columns give the mean over draws (the median for price multiples and
    gaps, whose distributions have long tails); ``_p05``/``_p95`` columns the 5th/95th
    percentiles of the key measures.
    """
    import pandas as pd

    by_bloc = "region" in ds.dims
    price = ds.price.values
    base_price = ds.baseline_price.values
    ratio = price / base_price  # (D, T, N, B)
    cheapest = price.min(axis=-1, keepdims=True)
    gap = (price / cheapest - 1.0).max(axis=1)  # (D, N, B)
    base_cons = _to_bloc(ds, "baseline_consumption", by_bloc)
    cum = shortfall(ds).sum(axis=1)  # (D, N, B)
    scarce = shortfall(ds, scarce_only=True).sum(axis=1)
    total_base = base_cons.sum(axis=1)
    share = np.divide(cum, total_base, out=np.zeros_like(cum), where=total_base > 0)
    lost = np.maximum(_to_bloc(ds, "demand_destroyed", by_bloc)
                      - _to_bloc(ds, "baseline_demand_destroyed", by_bloc), 0.0)  # (D, T, N, B)
    recovery = _recovery(lost, base_cons, tolerance)
    final_short = lost.sum(axis=1)  # (D, N, B)
    va = ds.value_added_per_t.values[:, :, None]
    gdp = final_short * np.nan_to_num(va)
    intensity = ds.downstream_intensity.values[:, :, None]
    units_at_risk = np.divide(final_short, intensity, out=np.full_like(final_short, np.nan),
                              where=np.isfinite(intensity) & (intensity > 0))
    mean_ratio = ratio.mean(axis=0)  # (T, N, B)
    peak_idx = mean_ratio.argmax(axis=0)
    labels = ds.time.values
    units = json.loads(ds.attrs.get("downstream_units", "{}"))
    rows = []
    for i, stage in enumerate(ds.stage.values):  # a table of stages × blocs: tiny loops
        for b, bloc in enumerate(ds.bloc.values):
            peak = ratio[:, :, i, b].max(axis=1)
            rows.append({
                "stage": str(stage), "bloc": str(bloc),
                "peak_price_multiple": float(np.median(peak)),
                "peak_price_multiple_p05": float(np.percentile(peak, 5)),
                "peak_price_multiple_p95": float(np.percentile(peak, 95)),
                "peak_period": str(labels[peak_idx[i, b]]),
                "trough_price_multiple": float(np.median(ratio[:, :, i, b].min(axis=1))),
                "price_gap": float(np.median(gap[:, i, b])),
                "cumulative_shortfall_t": float(cum[:, i, b].mean()),
                "cumulative_shortfall_t_p05": float(np.percentile(cum[:, i, b], 5)),
                "cumulative_shortfall_t_p95": float(np.percentile(cum[:, i, b], 95)),
                "shortfall_share": float(share[:, i, b].mean()),
                "scarcity_shortfall_t": float(scarce[:, i, b].mean()),
                "unserved_t": float(final_short[:, i, b].mean()),
                "recovery_periods": float(np.nanmean(recovery[:, i, b]))
                if np.isfinite(recovery[:, i, b]).any() else float("nan"),
                "gdp_at_risk_usd": float(gdp[:, i, b].mean()),
                "downstream_output_at_risk": float(np.nanmean(units_at_risk[:, i, b]))
                if np.isfinite(units_at_risk[:, i, b]).any() else float("nan"),
                "downstream_unit": units.get(str(stage), ""),
            })
    return pd.DataFrame(rows)


def shortfall(ds: xr.Dataset, *, scarce_only: bool = False) -> np.ndarray:
    """(draw, time, stage, bloc) t per period of baseline consumption not met; with
    ``scarce_only`` only in periods whose price is at least the baseline's (:func:`summarize`
    sums both)."""
    by_bloc = "region" in ds.dims
    short = np.maximum(_to_bloc(ds, "baseline_consumption", by_bloc)
                       - _to_bloc(ds, "consumption", by_bloc), 0.0)
    if not scarce_only:
        return short
    return np.where(ds.price.values >= ds.baseline_price.values, short, 0.0)


def _to_bloc(ds: xr.Dataset, name: str, by_bloc: bool) -> np.ndarray:
    """(D, T, N, B): region series summed into blocs (or already by bloc)."""
    values = ds[name].values
    if not by_bloc:
        return values
    member = np.equal.outer(ds.region_bloc.values, ds.bloc.values).astype(float)
    return values @ member


def _recovery(lost: np.ndarray, base: np.ndarray, tolerance: float) -> np.ndarray:
    """Periods from the first period with ``lost`` above ``tolerance`` of ``base`` until it
    stays below. 0 when it never exceeds it; NaN when it still does at the horizon."""
    short = lost > tolerance * base  # (D, T, N, B)
    n_t = short.shape[1]
    any_short = short.any(axis=1)
    first = np.argmax(short, axis=1)
    last = n_t - 1 - np.argmax(short[:, ::-1], axis=1)
    periods = (last + 1 - first).astype(float)
    periods[~any_short] = 0.0
    periods[any_short & (last == n_t - 1)] = np.nan
    return periods


def tables(ds: xr.Dataset) -> dict[str, pd.DataFrame]:
    """Tidy tables (one row per draw, period, stage and region/bloc) for Parquet."""
    where = "region" if "region" in ds.dims else "bloc"
    quantity_vars = [*QUANTITIES, *(f"baseline_{n}" for n in BASELINE_KEPT)]
    quantities = ds[quantity_vars].to_dataframe().reset_index()
    keep = ["draw", "time", "stage", where, *quantity_vars]
    prices = ds[["price", "baseline_price"]].to_dataframe().reset_index()
    flows = ds[["flow", "baseline_flow"]].to_dataframe().reset_index()
    flows = flows[flows.from_bloc != flows.to_bloc]
    concentration = ds[["hhi", "baseline_hhi", "balance_error"]].to_dataframe().reset_index()
    return {
        "summary": summarize(ds),
        "prices": prices[["draw", "time", "stage", "bloc", "price", "baseline_price"]],
        "quantities": quantities[keep],
        "flows": flows[["draw", "time", "stage", "from_bloc", "to_bloc", "flow",
                        "baseline_flow"]],
        "concentration": concentration[["draw", "time", "stage", "hhi", "baseline_hhi",
                                        "balance_error"]],
    }


def write(ds: xr.Dataset, out: Path | str, *, overwrite: bool = False,
          extra: Mapping[str, pd.DataFrame] | None = None) -> Path:
    """Write ``dataset.nc``, one Parquet file per table and ``manifest.json`` into ``out``.

    Everything goes into a temporary sibling folder first, which is renamed to ``out`` only
    when complete; on any failure it is removed, so ``out`` is either absent (or untouched) or
    complete. An existing ``out`` is replaced only with ``overwrite``. ``extra`` tables (the
    policy tools' ledger and series) are written beside the others, inside the same swap.
    """
    out = Path(out)
    if out.exists() and not overwrite:
        raise CritminError(f"{out} exists; choose another --out or pass --overwrite")
    if out.exists() and not out.is_dir():
        raise CritminError(f"{out} exists and is not a folder")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f"{out.name}.tmp-", dir=out.parent))
    try:
        files = {}
        ds.to_netcdf(tmp / "dataset.nc", engine="h5netcdf")
        files["dataset.nc"] = "xarray Dataset (NetCDF4)"
        for name, frame in {**tables(ds), **(extra or {})}.items():
            frame.to_parquet(tmp / f"{name}.parquet", index=False)
            files[f"{name}.parquet"] = f"{len(frame)} rows"
        manifest = {**{k: (v.item() if hasattr(v, "item") else v) for k, v in ds.attrs.items()},
                    "files": files}
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2, default=str))
        if out.exists():
            old = Path(tempfile.mkdtemp(prefix=f"{out.name}.old-", dir=out.parent))
            os.replace(out, old / out.name)
            os.replace(tmp, out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out
