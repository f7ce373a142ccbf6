"""The countries table: ISO 3166 codes, names and UN M49 regions, plus the codes ISO lacks.

Built from DataHub ``country_codes/country-codes.csv`` (ODC-PDDL-1.0). Every ISO3 code that the
name mapping (:mod:`critmin.data.country_names`, :mod:`critmin.data.governance`) can produce
must be a row here, so that the build's "known ISO3" check holds: hence the aggregates and the
non-ISO codes the sources use (XKX Kosovo, ANT the former Netherlands Antilles).
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

import pandas as pd

from critmin.data import schema
from critmin.errors import DataBuildError

COUNTRY_CODES_FILE: Final = "country_codes/country-codes.csv"

#: Raw column → curated column.
_COLUMNS: Final = {
    "ISO3166-1-Alpha-3": "iso3",
    "ISO3166-1-Alpha-2": "iso2",
    "M49": "m49",
    "CLDR display name": "cldr_name",
    "official_name_en": "official_name",
    "Region Name": "region",
    "Sub-region Name": "subregion",
    "Continent": "continent",
    "Global Code": "global_code",
}

#: Codes outside ISO 3166-1 that the sources use: code → (iso2, name, ISO3 whose UN M49 region
#: and continent it takes). Kosovo is inside Serbia in UN M49; the Netherlands Antilles were
#: dissolved in 2010 and Curaçao is their largest successor. ``XK`` is the user-assigned code the
#: EU and World Bank use; ``AN`` the withdrawn ISO 3166-1 code (now in ISO 3166-3).
EXTRA_CODES: Final = {
    "XKX": ("XK", "Kosovo", "SRB"),
    "ANT": ("AN", "Netherlands Antilles", "CUW"),
}

AGGREGATE_REGION: Final = "Aggregate"


def read_countries(raw_root: Path) -> pd.DataFrame:
    """The countries table (``schema.COUNTRIES_COLUMNS``): 249 ISO rows, extras and aggregates."""
    path = Path(raw_root) / COUNTRY_CODES_FILE
    if not path.is_file():
        raise DataBuildError(str(path), None, "country codes file not found")
    # keep_default_na=False: Namibia's alpha-2 and North America's continent are both "NA".
    raw = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
    missing = sorted(set(_COLUMNS) - set(raw.columns))
    if missing:
        raise DataBuildError(str(path), 1, f"missing columns {missing}")
    df = raw[list(_COLUMNS)].rename(columns=_COLUMNS)
    blank = df.index[df.iso3.str.len() != 3]
    if len(blank):
        raise DataBuildError(str(path), int(blank[0]) + 2,
                             "ISO3166-1-Alpha-3 is not a 3-letter code")
    dups = df.iso3[df.iso3.duplicated()]
    if len(dups):
        raise DataBuildError(str(path), int(dups.index[0]) + 2, f"duplicate ISO3 {dups.iloc[0]}")
    df["name"] = _display_name(df.cldr_name, df.official_name)
    df["m49"] = pd.to_numeric(df.m49, errors="raise").astype("Int64")
    world_m49 = int(df.global_code.iloc[0])  # UN M49 "World" (001), as given in the file
    iso = df[list(schema.COUNTRIES_COLUMNS)]
    extras = _extra_rows(iso, world_m49)
    out = pd.concat([iso, extras], ignore_index=True)
    out["m49"] = out.m49.astype("Int64")
    return out[list(schema.COUNTRIES_COLUMNS)].sort_values("iso3", ignore_index=True)


def _display_name(cldr: pd.Series, official: pd.Series) -> pd.Series:
    """CLDR short names read well ("South Korea", "Congo - Kinshasa") except the bare
    abbreviations "US" and "UK"; those and blanks take the official English name."""
    is_abbrev = cldr.str.fullmatch(r"[A-Z]{2,3}")
    return cldr.where(~is_abbrev & (cldr != ""), official)


def _extra_rows(iso: pd.DataFrame, world_m49: int) -> pd.DataFrame:
    """Aggregates and non-ISO codes; regions of non-ISO codes come from the file, not typed in."""
    by_iso = iso.set_index("iso3")
    rows = [
        {"iso3": "WLD", "iso2": "", "m49": world_m49, "name": schema.AGGREGATES["WLD"],
         "region": AGGREGATE_REGION, "subregion": "", "continent": ""},
        *(
            {"iso3": code, "iso2": "", "m49": pd.NA, "name": name,
             "region": AGGREGATE_REGION, "subregion": "", "continent": ""}
            for code, name in schema.AGGREGATES.items() if code != "WLD"
        ),
    ]
    for code, (iso2, name, like) in EXTRA_CODES.items():
        if code in by_iso.index:
            continue
        ref = by_iso.loc[like]
        rows.append({"iso3": code, "iso2": iso2, "m49": pd.NA, "name": name,
                     "region": ref.region, "subregion": ref.subregion, "continent": ref.continent})
    return pd.DataFrame(rows, columns=list(schema.COUNTRIES_COLUMNS))
