"""Non-data inputs of the EU and USGS methods: one overridable CSV, one row per number.

Columns: ``commodity`` (a slug, or ``*`` for the default of every commodity), ``parameter``,
``value``, ``low``, ``high``, ``unit``, ``since`` (first year the value applies, blank = always;
used for export restrictions), ``source`` (a citation or the word ``assumption``), ``note``.
A commodity-specific row beats the ``*`` row. An empty ``value`` means "not known": the metric
that needs it is NaN, never a guess. An override file with the same columns replaces the rows it
names (same commodity and parameter).
"""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Final

import numpy as np
import pandas as pd

from critmin.errors import CritminError

DEFAULT_PATH: Final = Path(__file__).with_name("eu_parameters.csv")
COLUMNS: Final = (
    "commodity",
    "parameter",
    "value",
    "low",
    "high",
    "unit",
    "since",
    "source",
    "note",
)
KNOWN: Final = ("eol_rir", "si_sr", "si_ei", "economic_importance", "economic_vulnerability")
#: ``trade_multiplier_china`` or ``trade_multiplier_<iso3>`` (lower case).
TRADE_PREFIX: Final = "trade_multiplier_"
COUNTRY_ALIASES: Final = {"china": "CHN"}


def _check(frame: pd.DataFrame, path: str) -> pd.DataFrame:
    """Validate a parameter table; errors name the file, line and field."""
    missing = [c for c in COLUMNS if c not in frame.columns and c != "since"]
    if missing:
        raise CritminError(
            f"{path}:1: missing column(s) {', '.join(missing)}; need {', '.join(COLUMNS)}"
        )
    if "since" not in frame.columns:
        frame = frame.assign(since=np.nan)
    for i, row in enumerate(frame.itertuples(index=False), start=2):
        name = str(row.parameter)
        if name not in KNOWN and not re.fullmatch(TRADE_PREFIX + r"[a-z]+", name):
            raise CritminError(
                f"{path}:{i}: parameter {name!r} unknown; allowed: {', '.join(KNOWN)}, "
                f"{TRADE_PREFIX}<country>"
            )
        for field in ("value", "low", "high", "since"):
            cell = getattr(row, field)
            if cell is not None and not (isinstance(cell, float) and np.isnan(cell)):
                try:
                    float(cell)
                except (TypeError, ValueError):
                    raise CritminError(
                        f"{path}:{i}: field {field!r} is not a number: {cell!r}"
                    ) from None
        value, low, high = (float(getattr(row, f)) for f in ("value", "low", "high"))
        if not np.isnan(value) and not low <= value <= high:
            raise CritminError(f"{path}:{i}: value {value} outside [low, high] = [{low}, {high}]")
        if not str(row.source).strip() or str(row.source) == "nan":
            raise CritminError(
                f"{path}:{i}: field 'source' is empty: cite a source or write 'assumption'"
            )
    return frame.astype({"value": float, "low": float, "high": float, "since": float})[
        list(COLUMNS)
    ]


def _read(path: Path) -> pd.DataFrame:
    if not path.is_file():
        raise CritminError(f"parameter file {path} not found")
    return _check(pd.read_csv(path, dtype={"commodity": str, "parameter": str}), str(path))


@functools.lru_cache(maxsize=1)
def _default() -> pd.DataFrame:
    return _read(DEFAULT_PATH)


def load_parameters(overrides: str | Path | pd.DataFrame | None = None) -> pd.DataFrame:
    """The shipped parameters, with rows of ``overrides`` (a file or frame) replacing theirs."""
    base = _default()
    if overrides is None:
        return base.copy()
    extra = (
        _check(overrides.copy(), "<overrides>")
        if isinstance(overrides, pd.DataFrame)
        else _read(Path(overrides))
    )
    keys = ["commodity", "parameter"]
    kept = base.merge(extra[keys], on=keys, how="left", indicator=True)
    kept = base[kept["_merge"].eq("left_only").to_numpy()]
    return pd.concat([kept, extra], ignore_index=True)


def parameter_values(params: pd.DataFrame, commodities: pd.Series, name: str) -> pd.DataFrame:
    """Per commodity in ``commodities`` (aligned): value, low, high, source of ``name``.

    The commodity's own row wins over ``*``; no row at all gives NaN and source ``missing``.
    """
    rows = params[params["parameter"].eq(name)].drop_duplicates(["commodity"], keep="last")
    cols = ["value", "low", "high", "source"]
    own = rows.set_index("commodity")[cols]
    wild = rows[rows["commodity"].eq("*")]
    out = own.reindex(commodities.to_numpy())
    if not wild.empty:
        has_own = commodities.isin(own.index).to_numpy()
        for col in cols:
            out[col] = out[col].where(has_own, wild.iloc[0][col])
    out["source"] = out["source"].fillna("missing")
    return out.reset_index(drop=True).set_axis(commodities.index)


def trade_multipliers(params: pd.DataFrame) -> pd.DataFrame:
    """Country-level trade multipliers: columns commodity, iso3, t, since (NaN = always)."""
    rows = params[params["parameter"].str.startswith(TRADE_PREFIX)].copy()
    suffix = rows["parameter"].str.removeprefix(TRADE_PREFIX)
    rows["iso3"] = suffix.map(COUNTRY_ALIASES).fillna(suffix.str.upper())
    return rows.rename(columns={"value": "t"})[["commodity", "iso3", "t", "since"]]
