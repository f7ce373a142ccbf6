"""World Bank Worldwide Governance Indicators (WGI): reader, six-indicator mean, rescalings.

The carried copy of the 2024 release (``wgi/wgidataset_2024release_1996-2023.xlsx``, CC BY 4.0,
Kaufmann & Kraay) is long (countryname, year, indicator, estimate, stddev, nsource, …) and has
no ISO3 column, so economies are joined on World Bank names: :data:`WB_NAMES` pins the World
Bank spellings, the rest go through :func:`critmin.data.country_names.to_iso3`. Missing cells are
the string ``..`` and stay as NaN rows (rows in = rows out).

Estimates lie on roughly −2.5…+2.5 (higher = better governance). The risk methods rescale
linearly and clip (shared/reference/methods.md §4.1, §4.2, §4.5): the EU CRM method to 0–10
with 10 = worst, the USGS method to 0–1 with 1 = weakest. Raw estimates are stored; each method
applies its own rescaling function from here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final, TypeVar

import numpy as np
import pandas as pd

from critmin.data import schema
from critmin.data.country_names import UnmappedCountry, to_iso3
from critmin.errors import DataBuildError, UnknownNameError

WGI_FILE: Final = "wgi/wgidataset_2024release_1996-2023.xlsx"

#: The six WGI dimensions: voice & accountability, political stability, government
#: effectiveness, regulatory quality, rule of law, control of corruption.
INDICATORS: Final = ("va", "pv", "ge", "rq", "rl", "cc")

#: The WGI estimate scale (methods.md §4.5: "WGI comes in [−2.5, 2.5]").
WGI_LOW: Final = -2.5
WGI_HIGH: Final = 2.5

#: World Bank spellings → ISO3, checked before the generic mapping. Pinned here rather than
#: left to country_converter's regexes so the join does not depend on its version.
WB_NAMES: Final = {
    "Bahamas, The": "BHS",
    "Congo, Dem. Rep.": "COD",
    "Congo, Rep.": "COG",
    "Egypt, Arab Rep.": "EGY",
    "Gambia, The": "GMB",
    "Hong Kong SAR, China": "HKG",
    "Iran, Islamic Rep.": "IRN",
    "Jersey, Channel Islands": "JEY",
    "Korea, Dem. Rep.": "PRK",
    "Korea, Rep.": "KOR",
    "Kosovo": "XKX",
    "Kyrgyz Republic": "KGZ",
    "Lao PDR": "LAO",
    "Macao SAR, China": "MAC",
    "Micronesia, Fed. Sts.": "FSM",
    "Netherlands Antilles (former)": "ANT",
    "Slovak Republic": "SVK",
    "St. Kitts and Nevis": "KNA",
    "St. Lucia": "LCA",
    "St. Vincent and the Grenadines": "VCT",
    "Syrian Arab Republic": "SYR",
    "Taiwan, China": "TWN",
    "Venezuela, RB": "VEN",
    "Virgin Islands (U.S.)": "VIR",
    "West Bank and Gaza": "PSE",
    "Yemen, Rep.": "YEM",
}

_REQUIRED: Final = ("countryname", "year", "indicator", "estimate", "stddev", "nsource")
_MISSING: Final = ".."

Est = TypeVar("Est", float, np.ndarray, pd.Series)


def read_wgi(raw_root: Path) -> tuple[pd.DataFrame, list[dict[str, Any]]]:
    """The WGI table (``schema.WGI_COLUMNS``, one row per raw row) and a report of gaps.

    Raises :class:`DataBuildError` (file and line) for a missing column, an unknown indicator,
    a name that maps to no ISO3, or two rows for the same economy, year and indicator.
    """
    import openpyxl

    path = Path(raw_root) / WGI_FILE
    if not path.is_file():
        raise DataBuildError(str(path), None, "WGI workbook not found")
    wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    try:
        rows = list(wb.worksheets[0].iter_rows(values_only=True))
    finally:
        wb.close()
    if not rows:
        raise DataBuildError(str(path), 1, "empty sheet")
    header = [str(h).strip().lower() if h is not None else "" for h in rows[0]]
    missing = [c for c in _REQUIRED if c not in header]
    if missing:
        raise DataBuildError(str(path), 1, f"missing columns {missing}; found {header}")
    raw = pd.DataFrame(rows[1:], columns=header)[list(_REQUIRED)]
    raw["line"] = np.arange(2, len(raw) + 2)  # 1-based sheet row; the header is row 1
    raw = raw[raw.countryname.notna()]  # trailing blank rows, if any

    bad = raw[~raw.indicator.isin(INDICATORS)]
    if len(bad):
        r = bad.iloc[0]
        raise DataBuildError(str(path), int(r.line),
                             f"indicator {r.indicator!r} not one of {', '.join(INDICATORS)}")
    raw["countryname"] = raw.countryname.astype(str).str.strip()
    iso3 = raw.countryname.map(_name_map(raw, path))
    df = pd.DataFrame({
        "iso3": iso3,
        "wb_name": raw.countryname,
        "year": pd.to_numeric(raw.year, errors="raise").astype("int64"),
        "indicator": raw.indicator.astype(str),
        "estimate": _numbers(raw, "estimate", path),
        "stddev": _numbers(raw, "stddev", path),
        "nsource": _numbers(raw, "nsource", path).astype("Int64"),
    })
    dup = df.duplicated(["iso3", "year", "indicator"], keep="first")
    if dup.any():
        r = raw[dup.to_numpy()].iloc[0]
        raise DataBuildError(str(path), int(r.line),
                             f"{r.countryname!r} {r.year} {r.indicator}: a second row for the same "
                             f"ISO3 ({df.iso3[dup].iloc[0]}); two World Bank names map to one code")
    return df[list(schema.WGI_COLUMNS)].reset_index(drop=True), _gaps(df, raw, WGI_FILE)


def _name_map(raw: pd.DataFrame, path: Path) -> dict[str, str]:
    """World Bank name → ISO3 for every name in the file; the first unmapped name is an error."""
    out: dict[str, str] = {}
    for name in raw.countryname.unique():
        try:
            out[name] = WB_NAMES.get(name) or to_iso3(name)
        except UnmappedCountry:
            line = int(raw.line[raw.countryname == name].iloc[0])
            raise DataBuildError(str(path), line, f"World Bank name {name!r} maps to no ISO3 "
                                 "code; add it to critmin.data.governance.WB_NAMES") from None
    return out


def _numbers(raw: pd.DataFrame, column: str, path: Path) -> pd.Series:
    """Floats with the ``..`` marker (and blank cells) as NaN; any other text is an error."""
    col = raw[column]
    marker = col.isna() | col.isin([_MISSING, ""])
    values = pd.to_numeric(col.mask(marker), errors="coerce").astype(float)
    bad = values.isna() & ~marker
    if bad.any():
        r = raw[bad].iloc[0]
        raise DataBuildError(str(path), int(r.line),
                             f"{column} {r[column]!r} is neither a number nor {_MISSING!r}")
    return values


def _gaps(df: pd.DataFrame, raw: pd.DataFrame, file: str) -> list[dict[str, Any]]:
    """One report entry per economy with missing estimates: which years, first line."""
    miss = df.estimate.isna().to_numpy()
    if not miss.any():
        return []
    sub = df[miss].assign(line=raw.line.to_numpy()[miss])
    all_years = sorted(df.year.unique())
    report = []
    for (iso3, name), g in sub.groupby(["iso3", "wb_name"], sort=True):
        span = _year_runs(sorted(set(g.year)), all_years)
        report.append({
            "kind": "wgi_missing", "file": file, "line": int(g.line.min()),
            "message": f"{name} ({iso3}): {len(g)} estimates are '..' ({span}); kept as NaN",
        })
    return report


def _year_runs(years: list[int], all_years: list[int]) -> str:
    """'1996–2003, 2014–2023': runs of consecutive release years (1996–2002 were biennial)."""
    index = {y: i for i, y in enumerate(all_years)}
    runs: list[tuple[int, int]] = []
    for y in years:
        if runs and index[y] == index[runs[-1][1]] + 1:
            runs[-1] = (runs[-1][0], y)
        else:
            runs.append((y, y))
    return ", ".join(f"{a}–{b}" if a != b else str(a) for a, b in runs)


def wgi_mean(wgi_df: pd.DataFrame, year: int, min_indicators: int = 6) -> pd.Series:
    """Mean of the six WGI estimates per ISO3 for ``year`` (index iso3, name ``wgi_mean``).

    Requires all six by default: the EU method averages the six dimensions, and a mean over
    fewer mixes different things. In the 2024 release only small territories miss one or two
    (2023: American Samoa, Anguilla, Bermuda, Guam, Martinique, Niue, Réunion, U.S. Virgin
    Islands) and the former Netherlands Antilles all six, so the NaN reaches the caller, which
    must choose a fallback explicitly. Lower ``min_indicators`` to average what is there.
    """
    if not 1 <= min_indicators <= len(INDICATORS):
        raise ValueError(f"min_indicators must be 1..{len(INDICATORS)}, got {min_indicators}")
    years = wgi_df.year.unique()
    if year not in years:
        raise UnknownNameError("WGI year", str(year), [str(y) for y in sorted(years)])
    sub = wgi_df[(wgi_df.year == year) & wgi_df.indicator.isin(INDICATORS)]
    grouped = sub.groupby("iso3").estimate
    mean = grouped.mean().where(grouped.count() >= min_indicators)
    return mean.rename("wgi_mean")


def rescale_eu(est: Est) -> Est:
    """EU CRM scale: WGI estimate → 0–10 with 10 = worst governance (linear, clipped)."""
    return np.clip((WGI_HIGH - est) / (WGI_HIGH - WGI_LOW) * 10.0, 0.0, 10.0)  # type: ignore[return-value]


def rescale_usgs(est: Est) -> Est:
    """USGS scale: WGI estimate → 0–1 with 1 = weakest governance (linear, clipped)."""
    return np.clip((WGI_HIGH - est) / (WGI_HIGH - WGI_LOW), 0.0, 1.0)  # type: ignore[return-value]
