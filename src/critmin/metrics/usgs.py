"""USGS 2022 list supply risk for the United States (Nassar et al. 2020; methods.md §4.2).

    SR = (DP · TE · EV)^(1/3)
    DP = Σ_c S_c² · g_c        (g = WGI rescaled to [0, 1], 1 = weakest governance)
    TE = US net import reliance, clipped to [0, 1]

* DP comes from the facts per stage; TE from the USGS salient tables (per commodity and year;
  a printed bound such as ">95" is used at its value and flagged in ``te_bound``; "E" = net
  exporter = 0). TE is for the commodity as a whole, so every stage of a commodity shares it.
* EV needs US input-output tables, which are not in the raw data: it is the parameter
  ``economic_vulnerability`` (an ``assumption`` with the whole [0, 1] range unless overridden),
  and ``ev_source`` says so in every row.
* Annual values are reported; USGS's recency-weighted 4-year mean is left to the caller.
"""

from __future__ import annotations

from typing import Final

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from critmin.metrics.concentration import GROUP_KEYS
from critmin.metrics.governance import MissingPolicy, attach_scores, weighted_by_market
from critmin.metrics.parameters import parameter_values
from critmin.metrics.reliance import import_reliance

USGS_COLUMNS: Final = [
    *GROUP_KEYS,
    "dp",
    "te",
    "te_bound",
    "ev",
    "ev_source",
    "sr_usgs",
    "wgi_missing",
    "wgi_proxy",
]


def disruption_potential(shares: ArrayLike, g: ArrayLike) -> float:
    """DP = Σ S² · g with g on [0, 1]."""
    s = np.asarray(shares, dtype=float)
    return float(np.sum(s**2 * np.asarray(g, dtype=float)))


def trade_exposure(
    production: ArrayLike, imports: ArrayLike, exports: ArrayLike, stock_drawdown: ArrayLike = 0.0
) -> np.ndarray:
    """TE = net import reliance = (I − E + ΔS) / apparent consumption, clipped to [0, 1]."""
    return import_reliance(production, imports, exports, stock_drawdown)


def usgs_supply_risk(dp: ArrayLike, te: ArrayLike, ev: ArrayLike) -> np.ndarray:
    """Geometric mean (DP · TE · EV)^(1/3)."""
    product = (
        np.asarray(dp, dtype=float) * np.asarray(te, dtype=float) * np.asarray(ev, dtype=float)
    )
    return np.cbrt(product)


def usgs_table(
    shares: pd.DataFrame,
    wgi: pd.DataFrame,
    nir: pd.DataFrame,
    params: pd.DataFrame,
    missing: MissingPolicy = "error",
) -> pd.DataFrame:
    """DP, TE, EV and SR per market (``USGS_COLUMNS``); ``nir`` from
    :func:`critmin.metrics.reliance.us_net_import_reliance`."""
    scored = attach_scores(shares, wgi, missing)
    out = weighted_by_market(shares, scored, "g_usgs", "dp")
    te = nir[["commodity", "year", "nir", "nir_bound"]].rename(
        columns={"nir": "te", "nir_bound": "te_bound"}
    )
    out = out.merge(te, on=["commodity", "year"], how="left")
    ev = parameter_values(params, out["commodity"], "economic_vulnerability")
    out["ev"], out["ev_source"] = ev["value"].to_numpy(), ev["source"].to_numpy()
    out["sr_usgs"] = usgs_supply_risk(out["dp"], out["te"], out["ev"])
    return out[USGS_COLUMNS]
