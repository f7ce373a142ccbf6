"""Import reliance: the formula, and the US series read from the USGS salient tables.

One formula serves the EU import reliance (IR) and the USGS trade exposure (TE):

    reliance = (I − E + ΔS) / (P + I − E + ΔS),  clipped to [0, 1]

with ``ΔS`` the stock drawdown (positive when stocks fall, as USGS adds it to supply). A net
exporter (I − E + ΔS ≤ 0) gets 0. The denominator is apparent consumption.

The US salient tables print net import reliance as a percent, sometimes as a bound (">95",
"<25") and sometimes "E" (net exporter). A bound is used at its value and flagged in
``nir_bound``; "E" is 0. Where USGS prints several NIR lines for one commodity and year (one per
product), the first line of the table is the headline and is used; ``nir_detail`` names it.
"""

from __future__ import annotations

from typing import Final

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

SALIENT_KEYS: Final = ["commodity", "year"]


def import_reliance(
    production: ArrayLike, imports: ArrayLike, exports: ArrayLike, stock_drawdown: ArrayLike = 0.0
) -> np.ndarray:
    """(I − E + ΔS) / (P + I − E + ΔS) clipped to [0, 1]; net exporters get 0."""
    p, i, e, ds = (
        np.asarray(x, dtype=float) for x in (production, imports, exports, stock_drawdown)
    )
    net = i - e + ds
    consumption = p + net
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(consumption > 0, net / np.where(consumption > 0, consumption, 1.0), np.nan)
    return np.clip(np.where(net <= 0, 0.0, ratio), 0.0, 1.0)


def _headline(salient: pd.DataFrame, statistic: str) -> pd.DataFrame:
    """Rows of one statistic from the latest edition per (commodity, year), in table order."""
    rows = salient[salient["statistic"].eq(statistic)]
    latest = rows.groupby(SALIENT_KEYS)["edition"].transform("max")
    return rows[rows["edition"].eq(latest)].sort_values([*SALIENT_KEYS, "raw_line"])


def _is_net_exporter(rows: pd.DataFrame) -> pd.Series:
    """USGS prints "E" for a net exporter; the store keeps the text in ``note``
    ("published: E")."""
    note = rows["note"].fillna("").astype(str).str.strip()
    marked = note.eq("E") | note.str.contains(r"published: E$") | note.str.contains("net exporter")
    return rows["value"].isna() & marked


def us_net_import_reliance(salient: pd.DataFrame) -> pd.DataFrame:
    """US NIR per (commodity, year) as a fraction: columns nir, nir_bound, nir_detail, edition."""
    rows = _headline(salient, "net_import_reliance")
    exporter = _is_net_exporter(rows)
    value = rows["value"].where(~exporter, 0.0)
    percent = rows["unit"].fillna("percent").str.contains("percent|%", case=False)
    rows = rows.assign(nir=np.where(percent, value / 100.0, value), exporter=exporter)
    rows = rows[rows["nir"].notna()]
    first = rows.groupby(SALIENT_KEYS, as_index=False).first()
    first["nir"] = np.clip(first["nir"], 0.0, 1.0)
    bound = first["nir_bound"].where(first["nir_bound"].isin([">", "<"]), None)
    first["nir_bound"] = np.where(first["exporter"], "E", bound)
    out = first.rename(columns={"detail": "nir_detail", "edition": "nir_edition"})
    return out[[*SALIENT_KEYS, "nir", "nir_bound", "nir_detail", "nir_edition"]]


def us_apparent_consumption(salient: pd.DataFrame) -> pd.DataFrame:
    """US apparent consumption per (commodity, year): columns consumption, consumption_unit,
    consumption_detail. Prefers a line whose detail says "apparent"; else the first line."""
    rows = _headline(salient, "consumption")
    rows = rows[rows["value"].notna()]
    apparent = rows["detail"].fillna("").str.contains("apparent", case=False)
    rows = rows.assign(_pref=~apparent).sort_values([*SALIENT_KEYS, "_pref", "raw_line"])
    first = rows.groupby(SALIENT_KEYS, as_index=False).first()
    out = first.rename(
        columns={"value": "consumption", "unit": "consumption_unit", "detail": "consumption_detail"}
    )
    return out[[*SALIENT_KEYS, "consumption", "consumption_unit", "consumption_detail"]]
