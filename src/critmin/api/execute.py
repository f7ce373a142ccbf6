"""From a stored scenario document to a JSON result: the bridge between the job queue and the
simulator. Runs inside a worker process (:mod:`critmin.api.worker`), where the organisation's
overlay, if any, is already in place as ``$CRITMIN_DATA_DIR``.

The payload keeps what the dashboard and API clients need, per node (commodity/stage) and bloc:
price paths of the shocked run and of its baseline (same parameter draws; mean and, with several
draws, the 5th and 95th percentiles), the shortfall the shock causes (unmet final demand above
the baseline's), and a summary (peak price multiple and its period, cumulative shortfall). It
records the data edition, the registry version, the scenario hash, seed and draws.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from critmin.engine.loop import Run

#: Percentiles reported with several draws.
BAND = (5.0, 95.0)


@dataclass
class Outcome:
    payload: dict[str, Any]
    data_edition: str
    scenario_hash: str


def execute(body: str, content_type: str) -> Outcome:
    """Validate and simulate a scenario document (baseline and shocked run, bloc detail); the
    scenario's ``policies:`` act in the shocked run, as in ``critmin run``."""
    from critmin.api import documents
    from critmin.engine import simulate
    from critmin.policy import simulate_with_policies
    from critmin.scenario.model import validate_scenario
    from critmin.world import build_world_for

    checked = documents.check(body, content_type)
    scenario = validate_scenario(checked.data)
    world = build_world_for(scenario)
    if scenario.policies:
        run = simulate_with_policies(world, scenario, detail="bloc").run
    else:
        run = simulate(world, scenario, detail="bloc")
    return Outcome(payload(run), world.data_edition, scenario.hash())


def _clean(values: np.ndarray) -> list[Any]:
    """Floats for JSON: NaN/inf become null, 6 significant digits are plenty for charts."""
    out = np.where(np.isfinite(values), values, np.nan).astype(float)
    return [None if np.isnan(v) else float(f"{v:.6g}") for v in out.ravel()]


def _stats(series: np.ndarray) -> dict[str, list[Any]]:
    """(D, T) draws of a series → mean and, with several draws, a percentile band."""
    out = {"mean": _clean(series.mean(axis=0))}
    if series.shape[0] > 1:
        low, high = np.percentile(series, BAND, axis=0)
        out["p05"], out["p95"] = _clean(low), _clean(high)
    return out


def payload(run: Run) -> dict[str, Any]:
    """The JSON result of a simulation (see the module docstring)."""
    world, scenario = run.world, run.scenario
    blocs = list(run.blocs.names)
    nodes = [n.label for n in world.nodes]
    shock, base = run.shocked, run.baseline
    shortfall = np.maximum(shock.unmet_demand - base.unmet_demand, 0.0)  # (D, T, N, B)
    multiple = shock.price / base.price
    summary = []
    series: dict[str, Any] = {"price": {}, "baseline_price": {}, "shortfall": {}}
    for i, label in enumerate(nodes):
        for key in series:
            series[key][label] = {}
        for b, bloc in enumerate(blocs):
            series["price"][label][bloc] = _stats(shock.price[:, :, i, b])
            series["baseline_price"][label][bloc] = _stats(base.price[:, :, i, b])
            series["shortfall"][label][bloc] = _stats(shortfall[:, :, i, b])
            mean_multiple = multiple[:, :, i, b].mean(axis=0)
            peak = int(np.nanargmax(mean_multiple)) if np.isfinite(mean_multiple).any() else 0
            summary.append({
                "node": label, "bloc": bloc,
                "peak_price_multiple": _clean(mean_multiple[peak:peak + 1])[0],
                "peak_period": run.labels[peak],
                "cumulative_shortfall_t": _clean(shortfall[:, :, i, b].sum(axis=1).mean(
                    keepdims=True))[0],
            })
    return {
        "scenario": {"name": scenario.name, "hash": scenario.hash(), "start": scenario.start,
                     "time_step": scenario.time_step, "horizon": scenario.horizon},
        "seed": run.seed, "draws": run.n_draws, "registry_version": world.registry_version,
        "periods": list(run.labels), "blocs": blocs,
        "nodes": [{"node": n.label, "commodity": n.commodity, "stage": n.stage,
                   "unit": n.unit, "price_ref_usd_per_t": _clean(world.price_ref[i:i + 1])[0]}
                  for i, n in enumerate(world.nodes)],
        "units": {"price": "USD/t", "baseline_price": "USD/t",
                  "shortfall": "t per period (unmet final demand above the baseline's)"},
        "series": series, "summary": summary,
        "not_in_this_build": ["stockpile cover", "fiscal cost"],
        "notes": list(run.notes),
    }
