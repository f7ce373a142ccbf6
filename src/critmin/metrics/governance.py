"""Governance weights for the supply-risk methods, built on :mod:`critmin.data.governance`.

The data layer stores the raw WGI estimates and owns the six-indicator mean (all six required)
and the two rescalings (EU 0–10 and USGS 0–1, 10/1 = worst; methods.md §4.1, §4.2). This module
attaches those scores to producers, market by market:

* WGI stops at 2023: a market year uses the nearest WGI release year (``wgi_year``).
* Dependent territories that the WGI does not cover but whose governance (courts, trade policy)
  is that of a sovereign state take that state's score (:data:`SOVEREIGN`; New Caledonia, a
  nickel and cobalt producer, takes France's); ``wgi_proxy`` lists each substitution.
* A producer still without a score is an error by default, never a silent zero: pass
  ``missing="exclude"`` to leave it out of the weighted sum, or ``missing="worst"`` to give it
  the worst score; ``wgi_missing`` lists them.
"""

from __future__ import annotations

from typing import Final, Literal

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from critmin.data.governance import rescale_eu, rescale_usgs
from critmin.data.governance import wgi_mean as year_mean
from critmin.errors import CritminError
from critmin.metrics.shares import KEYS, OTHER

MISSING_POLICIES: Final = ("error", "exclude", "worst")

MissingPolicy = Literal["error", "exclude", "worst"]

#: Territories without their own WGI → the state whose governance applies there.
SOVEREIGN: Final = {
    "NCL": "FRA",  # New Caledonia
    "GLP": "FRA",  # Guadeloupe (overseas department)
    "GUF": "FRA",  # French Guiana (overseas department)
    "MYT": "FRA",  # Mayotte (overseas department)
    "PYF": "FRA",  # French Polynesia
}

__all__ = ["attach_scores", "rescale_eu", "rescale_usgs", "weighted_by_market", "weighted_hhi"]


def weighted_hhi(shares: ArrayLike, scores: ArrayLike, multipliers: ArrayLike = 1.0) -> float:
    """Σ S² · score · t: the EU HHI_WGI,t and the USGS disruption potential share this form."""
    s = np.asarray(shares, dtype=float)
    return float(
        np.sum(s**2 * np.asarray(scores, dtype=float) * np.asarray(multipliers, dtype=float))
    )


def nearest_wgi_year(years: ArrayLike, wgi_years: ArrayLike) -> np.ndarray:
    """For each market year, the nearest WGI release year (ties to the earlier one)."""
    available = np.sort(np.unique(np.asarray(wgi_years, dtype=int)))
    if available.size == 0:
        raise CritminError("the WGI table is empty: rebuild the dataset with `critmin data build`")
    wanted = np.asarray(years, dtype=int)
    distance = np.abs(wanted[:, None] - available[None, :])
    return available[np.argmin(distance, axis=1)]


def wgi_means(wgi: pd.DataFrame, years: ArrayLike) -> pd.DataFrame:
    """Six-indicator means for the WGI years nearest to ``years``: iso3, wgi_year, wgi_mean."""
    needed = np.unique(nearest_wgi_year(years, wgi["year"].unique()))
    frames = [year_mean(wgi, int(y)).reset_index().assign(wgi_year=int(y)) for y in needed]
    columns = ["iso3", "wgi_mean", "wgi_year"]
    if not frames:
        return pd.DataFrame(columns=columns)
    return pd.concat(frames, ignore_index=True)[columns].dropna(subset=["wgi_mean"])


def attach_scores(
    shares: pd.DataFrame, wgi: pd.DataFrame, missing: MissingPolicy = "error"
) -> pd.DataFrame:
    """Add ``wgi_year``, ``wgi_mean``, ``g_eu`` (0–10) and ``g_usgs`` (0–1) to single countries.

    ``OTH`` and zero shares are dropped (they add nothing to Σ S²·g). Raises
    :class:`CritminError` naming the producers without WGI unless ``missing`` says otherwise.
    """
    if missing not in MISSING_POLICIES:
        raise CritminError(
            f"unknown missing-WGI policy {missing!r}: use one of {', '.join(MISSING_POLICIES)}"
        )
    rows = shares[shares["iso3"].ne(OTHER) & shares["share"].gt(0)].copy()
    rows["_order"] = np.arange(len(rows))
    rows["wgi_year"] = nearest_wgi_year(rows["year"], wgi["year"].unique())
    means = wgi_means(wgi, rows["year"].unique())
    covered = set(means["iso3"])
    proxy = rows["iso3"].map(SOVEREIGN).where(~rows["iso3"].isin(covered))
    rows["wgi_iso3"] = proxy.fillna(rows["iso3"])
    rows["wgi_proxy"] = np.where(proxy.notna(), rows["iso3"] + "→" + proxy.fillna(""), "")
    joined = rows.merge(
        means.rename(columns={"iso3": "wgi_iso3"}), on=["wgi_iso3", "wgi_year"], how="left"
    ).sort_values("_order")
    lacking = joined["wgi_mean"].isna()
    if lacking.any() and missing == "error":
        bad = joined.loc[lacking, ["iso3", "commodity", "stage", "year"]]
        names = sorted(bad["iso3"].unique())
        example = bad.iloc[0]
        raise CritminError(
            f"no WGI governance score for {', '.join(names)} (e.g. {example['commodity']} "
            f"{example['stage']} {example['year']}): add the country to the WGI table or choose "
            "a missing-WGI policy: exclude | worst"
        )
    joined["g_eu"] = rescale_eu(joined["wgi_mean"].to_numpy(dtype=float))
    joined["g_usgs"] = rescale_usgs(joined["wgi_mean"].to_numpy(dtype=float))
    if missing == "worst":
        joined.loc[lacking, ["g_eu", "g_usgs"]] = [10.0, 1.0]
    else:  # exclude: contributes nothing, listed in wgi_missing
        joined.loc[lacking, ["g_eu", "g_usgs"]] = 0.0
    return joined.drop(columns=["_order", "wgi_iso3"]).reset_index(drop=True)


def _listed(rows: pd.DataFrame, column: str, name: str) -> pd.Series:
    keys = [*KEYS, "statistic"]
    return rows.groupby(keys, sort=False)[column].agg(lambda s: ",".join(sorted(s))).rename(name)


def missing_list(scored: pd.DataFrame) -> pd.Series:
    """Per market: comma-joined iso3 of producers that had no WGI (empty markets absent)."""
    return _listed(scored[scored["wgi_mean"].isna()], "iso3", "wgi_missing")


def proxy_list(scored: pd.DataFrame) -> pd.Series:
    """Per market: the territory → sovereign substitutions made (e.g. ``NCL→FRA``)."""
    return _listed(scored[scored["wgi_proxy"].ne("")], "wgi_proxy", "wgi_proxy")


def weighted_by_market(
    shares: pd.DataFrame, scored: pd.DataFrame, score: str, name: str
) -> pd.DataFrame:
    """Per market of ``shares``: Σ S²·score·t as ``name`` (0 for a market without single
    producers), plus ``wgi_missing`` and ``wgi_proxy`` (comma lists, empty when none)."""
    keys = [*KEYS, "statistic"]
    out = shares[keys].drop_duplicates().set_index(keys)
    multiplier = scored.get("t", 1.0)
    terms = scored["share"] ** 2 * scored[score] * multiplier
    out[name] = terms.groupby([scored[k] for k in keys], sort=False).sum()
    out["wgi_missing"] = missing_list(scored)
    out["wgi_proxy"] = proxy_list(scored)
    out = out.fillna({name: 0.0, "wgi_missing": "", "wgi_proxy": ""})
    return out.reset_index()
