"""EU Critical Raw Materials supply risk (JRC, Blengini et al. 2017; methods.md §4.1).

    SR = [HHI_WGI,t(GS) · IR/2 + HHI_WGI,t(EUs) · (1 − IR/2)] · (1 − EOL_RIR) · SI_SR
    HHI_WGI,t = Σ_c S_c² · WGI_c · t_c          (WGI rescaled 0–10, 10 = worst)

What the raw data allow, and what this module does about the rest:

* ``GS`` (global supply) comes from the facts, per stage.
* ``EUs`` (EU sourcing) and the EU import reliance need EU trade, which is not in the raw data.
  Variant ``global`` (default) sets EUs = GS; the two terms then add to HHI_WGI,t(GS) whatever IR
  is, so IR drops out and ``eu_ir`` is NaN. Variant ``us`` is the same formula seen from the
  United States: sourcing = US production plus imports by origin (USGS import sources, latest
  edition, headline line) weighted by the US net import reliance, and IR = that NIR.
* ``EOL_RIR``, ``SI_SR`` and the trade multipliers ``t`` are parameters
  (:mod:`critmin.metrics.parameters`), overridable, each with its source or ``assumption``.
* Annual values are reported (trends); the EU's own 5-year averaging is left to the caller.
"""

from __future__ import annotations

from typing import Final, Literal

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from critmin.errors import CritminError
from critmin.metrics.concentration import GROUP_KEYS
from critmin.metrics.governance import MissingPolicy, attach_scores, weighted_by_market
from critmin.metrics.parameters import parameter_values, trade_multipliers
from critmin.metrics.shares import OTHER

VARIANTS: Final = ("global", "us")
SR_THRESHOLD: Final = 1.0
EI_THRESHOLD: Final = 2.8

Variant = Literal["global", "us"]

EU_COLUMNS: Final = [
    *GROUP_KEYS,
    "hhi_wgi",
    "hhi_wgi_sourcing",
    "eu_ir",
    "eol_rir",
    "si_sr",
    "sr_eu",
    "eu_variant",
    "eu_assumptions",
    "wgi_missing",
    "wgi_proxy",
]


def eu_supply_risk(
    hhi_wgi_gs: ArrayLike,
    hhi_wgi_sourcing: ArrayLike,
    import_reliance: ArrayLike,
    eol_rir: ArrayLike = 0.0,
    si_sr: ArrayLike = 1.0,
) -> np.ndarray:
    """SR = [GS·IR/2 + EUs·(1 − IR/2)]·(1 − EOL_RIR)·SI_SR with IR clipped to [0, 1]."""
    gs, eus, ir, eol, si = (
        np.asarray(x, dtype=float)
        for x in (hhi_wgi_gs, hhi_wgi_sourcing, import_reliance, eol_rir, si_sr)
    )
    ir = np.clip(ir, 0.0, 1.0)
    return (gs * ir / 2.0 + eus * (1.0 - ir / 2.0)) * (1.0 - eol) * si


def is_critical(supply_risk: ArrayLike, economic_importance: ArrayLike) -> np.ndarray:
    """EU rule: critical ⇔ SR ≥ 1.0 and EI ≥ 2.8 (NaN EI → False)."""
    sr, ei = np.asarray(supply_risk, dtype=float), np.asarray(economic_importance, dtype=float)
    return (sr >= SR_THRESHOLD) & (ei >= EI_THRESHOLD)


def with_multipliers(scored: pd.DataFrame, params: pd.DataFrame) -> pd.DataFrame:
    """Add ``t`` (trade multiplier) per producer: the parameter if in force that year, else 1."""
    mult = trade_multipliers(params)
    out = scored.merge(mult, on=["commodity", "iso3"], how="left")
    active = out["t"].notna() & (out["since"].isna() | (out["since"] <= out["year"]))
    out["t"] = np.where(active, out["t"], 1.0)
    return out.drop(columns="since")


def us_sourcing_shares(
    shares: pd.DataFrame, nir: pd.DataFrame, import_sources: pd.DataFrame
) -> pd.DataFrame:
    """US sourcing per market: (1 − NIR) from the US itself, NIR × import share from each origin.

    Import shares come from the latest edition's first listed product (``detail``) per
    commodity; "Other countries" stays as ``OTH`` and so adds nothing to the weighted HHI.
    """
    src = import_sources[import_sources["share_pct"].notna()]
    latest = src.groupby("commodity")["edition"].transform("max")
    src = src[src["edition"].eq(latest)].sort_values(["commodity", "raw_line"])
    first_detail = src.groupby("commodity")["detail"].transform("first")
    src = src[src["detail"].fillna("").eq(first_detail.fillna(""))]
    src = src.groupby(["commodity", "iso3"], as_index=False)["share_pct"].sum()
    markets = shares[GROUP_KEYS].drop_duplicates().merge(nir[["commodity", "year", "nir"]])
    imports = markets.merge(src, on="commodity")
    imports["share"] = imports["nir"] * imports["share_pct"] / 100.0
    home = markets.assign(iso3="USA", share=1.0 - markets["nir"])
    rows = pd.concat(
        [imports[[*GROUP_KEYS, "iso3", "share"]], home[[*GROUP_KEYS, "iso3", "share"]]]
    )
    return rows.groupby([*GROUP_KEYS, "iso3"], as_index=False)["share"].sum()


def eu_table(
    shares: pd.DataFrame,
    wgi: pd.DataFrame,
    params: pd.DataFrame,
    variant: Variant = "global",
    nir: pd.DataFrame | None = None,
    import_sources: pd.DataFrame | None = None,
    missing: MissingPolicy = "error",
) -> pd.DataFrame:
    """EU supply risk per market (``EU_COLUMNS``); ``nir``/``import_sources`` for variant ``us``."""
    if variant not in VARIANTS:
        raise CritminError(f"unknown EU variant {variant!r}: use one of {', '.join(VARIANTS)}")
    scored = with_multipliers(attach_scores(shares, wgi, missing), params)
    out = weighted_by_market(shares, scored, "g_eu", "hhi_wgi")
    if variant == "us":
        if nir is None or import_sources is None:
            raise CritminError(
                "EU variant 'us' needs the US net import reliance and import sources"
            )
        sourcing = us_sourcing_shares(shares, nir, import_sources)
        s_scored = with_multipliers(
            attach_scores(sourcing[sourcing["iso3"].ne(OTHER)], wgi, missing), params
        )
        weighted = weighted_by_market(sourcing, s_scored, "g_eu", "hhi_wgi_sourcing")
        out = out.merge(weighted[[*GROUP_KEYS, "hhi_wgi_sourcing"]], how="left")
        out = out.merge(nir[["commodity", "year", "nir"]], how="left").rename(
            columns={"nir": "eu_ir"}
        )
    else:
        out["hhi_wgi_sourcing"] = out["hhi_wgi"]
        out["eu_ir"] = np.nan
    eol = parameter_values(params, out["commodity"], "eol_rir")
    si = parameter_values(params, out["commodity"], "si_sr")
    out["eol_rir"], out["si_sr"] = eol["value"].to_numpy(), si["value"].to_numpy()
    ir_used = out["eu_ir"].fillna(0.0) if variant == "global" else out["eu_ir"]
    out["sr_eu"] = eu_supply_risk(
        out["hhi_wgi"], out["hhi_wgi_sourcing"], ir_used, out["eol_rir"], out["si_sr"]
    )
    assumed = pd.Series(np.where(eol["source"].eq("assumption"), "eol_rir", ""))
    assumed = assumed + "," + np.where(si["source"].eq("assumption"), "si_sr", "")
    out["eu_assumptions"] = assumed.str.strip(",").to_numpy()
    out["eu_variant"] = variant
    return out[EU_COLUMNS]
