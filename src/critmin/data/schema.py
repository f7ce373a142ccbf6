"""The curated tables: names, columns and controlled vocabularies (the data contract).

Every ingest module returns pandas DataFrames with exactly these columns; ``build`` checks them,
validates vocabularies and writes one Parquet file per table into ``critmin/data/curated/``.
Tidy long tables, one row per fact (DESIGN.md §2).
"""

from __future__ import annotations

from typing import Final

#: Flags on a value. ``value`` is NaN unless the flag is reported/estimated/zero.
FLAGS: Final = ("reported", "estimated", "withheld", "not_available", "zero")

#: Aggregate pseudo-ISO3 codes for rows that are not a country (kept, never dropped).
AGGREGATES: Final = {
    "WLD": "World total",
    "OTH": "Other countries",
    "MUL": "Several named countries combined (USGS label kept in `country`)",
    "XEU": "Europe (region, as published)",
}

#: production / capacity / reserves by commodity, stage, country, year and edition.
#: ``source`` e.g. "USGS MCS"; ``edition`` the MCS year (int, 2022..2026); ``commodity`` a
#: catalog slug; ``stage`` e.g. mine|refinery|smelter|primary (catalog lists each commodity's);
#: ``iso3`` ISO 3166 alpha-3 or an AGGREGATES code; ``country`` the USGS name as printed (cleaned
#: of footnote marks); ``year`` int; ``statistic`` production|capacity|reserves; ``value`` float in
#: ``unit`` (the catalog unit, after conversion); ``basis`` e.g. "REO", "Co content";
#: ``flag`` one of FLAGS; ``note`` USGS notes; ``raw_unit`` the unit as published;
#: ``detail`` USGS sub-label (e.g. "Mine production: rounded"); ``raw_file``, ``raw_line``
#: trace each fact to its source row (1-based line in the raw file).
FACTS_COLUMNS: Final = (
    "source",
    "edition",
    "commodity",
    "stage",
    "iso3",
    "country",
    "year",
    "statistic",
    "value",
    "unit",
    "basis",
    "flag",
    "note",
    "raw_unit",
    "detail",
    "raw_file",
    "raw_line",
)

#: US salient statistics: one row per (edition, commodity, year, statistic, detail).
#: statistic in production|imports|exports|consumption|price|net_import_reliance|stocks|
#: employment|other. ``nir_bound`` carries '>'/'<' when USGS printed a bound (e.g. ">95").
SALIENT_COLUMNS: Final = (
    "source",
    "edition",
    "commodity",
    "year",
    "statistic",
    "detail",
    "value",
    "unit",
    "flag",
    "nir_bound",
    "note",
    "raw_file",
    "raw_line",
)

#: US import sources (percent of imports by country over a period, e.g. "2021–24").
IMPORT_SOURCES_COLUMNS: Final = (
    "source",
    "edition",
    "commodity",
    "detail",
    "period",
    "iso3",
    "country",
    "share_pct",
    "note",
    "raw_file",
    "raw_line",
)

#: World Governance Indicators, long: indicator in va|pv|ge|rq|rl|cc; estimate on −2.5…2.5.
WGI_COLUMNS: Final = ("iso3", "wb_name", "year", "indicator", "estimate", "stddev", "nsource")

#: Countries: ISO3 with names and UN M49 regions (aggregate codes included, region "Aggregate").
COUNTRIES_COLUMNS: Final = (
    "iso3",
    "iso2",
    "m49",
    "name",
    "region",
    "subregion",
    "continent",
)

#: Country groups with dates: membership valid on [since, until) (until empty = still a member).
GROUPS_COLUMNS: Final = ("group", "iso3", "since", "until", "source", "status")

#: Commodity catalog.
COMMODITIES_COLUMNS: Final = (
    "commodity",
    "name",
    "usgs_label",
    "stages",
    "unit",
    "basis",
    "critical_2025",
)

#: Provenance of each curated table.
SOURCES_COLUMNS: Final = ("table", "source", "editions", "licence", "citation", "files")

TABLES: Final = {
    "facts": FACTS_COLUMNS,
    "us_salient": SALIENT_COLUMNS,
    "us_import_sources": IMPORT_SOURCES_COLUMNS,
    "wgi": WGI_COLUMNS,
    "countries": COUNTRIES_COLUMNS,
    "groups": GROUPS_COLUMNS,
    "commodities": COMMODITIES_COLUMNS,
    "sources": SOURCES_COLUMNS,
}
